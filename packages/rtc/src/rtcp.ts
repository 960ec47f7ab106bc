/**
 * The RTCP the SFU's native egress reads and writes itself (RFC 3550, RFC 4585, RFC 5104):
 * receiver report blocks (from SR and RR), PLI, FIR and generic NACK in; sender reports out.
 * libdatachannel hands a track every RTCP packet for its SSRCs as one compound buffer; nothing
 * here trusts its lengths.
 */

/** One report block of an SR or RR: how the peer receives our stream `ssrc`. */
export interface ReportBlock {
  ssrc: number;
  /** Fraction of packets lost since the previous report, 0..1. */
  fractionLost: number;
  cumulativeLost: number;
  highestSequence: number;
  /** Interarrival jitter in RTP timestamp units. */
  jitter: number;
  /** Middle 32 bits of the NTP time of our last SR it received (0: none yet). */
  lastSr: number;
  /** Delay since that SR, in 1/65536 s. */
  delaySinceLastSr: number;
}

export type RtcpItem =
  | { type: 'reports'; sender: number; blocks: ReportBlock[] }
  | { type: 'pli'; mediaSsrc: number }
  | { type: 'fir'; ssrcs: number[] }
  | { type: 'nack'; mediaSsrc: number; sequences: number[] };

const SR = 200;
const RR = 201;
const RTPFB = 205;
const PSFB = 206;
const FMT_NACK = 1;
const FMT_PLI = 1;
const FMT_FIR = 4;
/** A NACK can name up to 17 packets per FCI; a compound packet is at most an MTU. */
const MAX_NACKED = 1024;

function reportBlocks(view: DataView, offset: number, count: number, end: number): ReportBlock[] {
  const blocks: ReportBlock[] = [];
  for (let i = 0; i < count; i++) {
    const o = offset + i * 24;
    if (o + 24 > end) break;
    const lost = view.getUint32(o + 4);
    const cumulative = lost & 0xffffff;
    blocks.push({
      ssrc: view.getUint32(o),
      fractionLost: (lost >>> 24) / 256,
      // 24-bit signed (duplicates can make it negative)
      cumulativeLost: cumulative & 0x800000 ? cumulative - 0x1000000 : cumulative,
      highestSequence: view.getUint32(o + 8),
      jitter: view.getUint32(o + 12),
      lastSr: view.getUint32(o + 16),
      delaySinceLastSr: view.getUint32(o + 20),
    });
  }
  return blocks;
}

/** The items of a (compound) RTCP packet this module knows; the rest is skipped. */
export function parseRtcp(packet: Uint8Array): RtcpItem[] {
  const view = new DataView(packet.buffer, packet.byteOffset, packet.byteLength);
  const items: RtcpItem[] = [];
  let offset = 0;
  while (offset + 8 <= packet.byteLength) {
    const first = view.getUint8(offset);
    if (first >> 6 !== 2) break;
    const count = first & 0x1f;
    const type = view.getUint8(offset + 1);
    const end = offset + (view.getUint16(offset + 2) + 1) * 4;
    if (end > packet.byteLength) break;
    const sender = view.getUint32(offset + 4);
    if (type === SR && end >= offset + 28) {
      items.push({ type: 'reports', sender, blocks: reportBlocks(view, offset + 28, count, end) });
    } else if (type === RR) {
      items.push({ type: 'reports', sender, blocks: reportBlocks(view, offset + 8, count, end) });
    } else if (end >= offset + 12 && (type === RTPFB || type === PSFB)) {
      const mediaSsrc = view.getUint32(offset + 8);
      if (type === PSFB && count === FMT_PLI) items.push({ type: 'pli', mediaSsrc });
      else if (type === PSFB && count === FMT_FIR) {
        const ssrcs: number[] = [];
        for (let o = offset + 12; o + 8 <= end; o += 8) ssrcs.push(view.getUint32(o));
        items.push({ type: 'fir', ssrcs });
      } else if (type === RTPFB && count === FMT_NACK) {
        const sequences: number[] = [];
        for (let o = offset + 12; o + 4 <= end && sequences.length < MAX_NACKED; o += 4) {
          const pid = view.getUint16(o);
          const blp = view.getUint16(o + 2);
          sequences.push(pid);
          for (let b = 0; b < 16; b++) if (blp & (1 << b)) sequences.push((pid + b + 1) & 0xffff);
        }
        items.push({ type: 'nack', mediaSsrc, sequences });
      }
    }
    offset = end;
  }
  return items;
}

/** Seconds between the NTP epoch (1900) and the Unix epoch. */
const NTP_UNIX_OFFSET = 2_208_988_800;

/** An NTP timestamp as two 32-bit words, from Unix milliseconds. */
function ntpTime(unixMs: number): { seconds: number; fraction: number } {
  const whole = Math.floor(unixMs / 1000);
  return {
    seconds: (whole + NTP_UNIX_OFFSET) >>> 0,
    fraction: Math.floor(((unixMs - whole * 1000) / 1000) * 0x1_0000_0000) >>> 0,
  };
}

/** The middle 32 bits of an NTP timestamp (what LSR in a report block echoes). */
export function ntpMiddle32(unixMs: number): number {
  const t = ntpTime(unixMs);
  return (((t.seconds & 0xffff) << 16) | (t.fraction >>> 16)) >>> 0;
}

/**
 * Round-trip time from a report block (RFC 3550 §6.4.1): arrival − LSR − DLSR, in ms; undefined
 * while the peer has not received one of our SRs.
 */
export function roundTripMs(block: ReportBlock, arrivalUnixMs: number): number | undefined {
  if (block.lastSr === 0) return undefined;
  const units = (ntpMiddle32(arrivalUnixMs) - block.lastSr - block.delaySinceLastSr) >>> 0;
  // A wrapped (negative) difference means clock trouble on the peer: no figure.
  if (units > 0x8000_0000) return undefined;
  return (units / 65536) * 1000;
}

/** A sender report without report blocks (we receive nothing on a subscribe connection). */
export function senderReport(fields: {
  ssrc: number;
  unixMs: number;
  rtpTimestamp: number;
  packets: number;
  octets: number;
}): Buffer {
  const out = Buffer.alloc(28);
  out.writeUInt8(0x80, 0);
  out.writeUInt8(SR, 1);
  out.writeUInt16BE(6, 2);
  out.writeUInt32BE(fields.ssrc >>> 0, 4);
  const ntp = ntpTime(fields.unixMs);
  out.writeUInt32BE(ntp.seconds, 8);
  out.writeUInt32BE(ntp.fraction, 12);
  out.writeUInt32BE(fields.rtpTimestamp >>> 0, 16);
  out.writeUInt32BE(fields.packets >>> 0, 20);
  out.writeUInt32BE(fields.octets >>> 0, 24);
  return out;
}
