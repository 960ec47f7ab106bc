import { RtcpRrPacket, type RTCDtlsTransport } from 'werift';

const patched = new WeakSet<RTCDtlsTransport>();

/**
 * Drops the receiver reports werift would send with no report block. Each werift receiver runs
 * its own RTCP loop and sends an RR about once a second, even when it never received a packet:
 * a subscriber of a big meeting holds an m-line per stream offered (98 at 50 members) but is
 * forwarded a dozen (last-N), so its peer encrypted and sent ~90 empty RRs a second that the
 * SFU decrypted and read for nothing. Reports with blocks, and every other RTCP packet, go out
 * unchanged. Idempotent per transport.
 */
export function dropEmptyReceiverReports(transport: RTCDtlsTransport): void {
  if (patched.has(transport)) return;
  patched.add(transport);
  const send = transport.sendRtcp.bind(transport);
  transport.sendRtcp = async (packets) => {
    const kept = packets.filter((p) => !(p instanceof RtcpRrPacket && p.reports.length === 0));
    return kept.length === 0 ? undefined : send(kept);
  };
}
