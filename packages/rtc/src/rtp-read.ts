/**
 * Reading RTP packets (RFC 3550 §5.1) as libdatachannel hands them to a track after SRTP: the
 * fixed header, CSRCs, the header extension (RFC 8285, skipped) and padding. Nothing in the
 * packet is trusted: a length that runs past the buffer makes it no packet.
 */
export interface RtpView {
  payloadType: number;
  marker: boolean;
  sequenceNumber: number;
  timestamp: number;
  ssrc: number;
  /** The payload without padding: a view into the packet, valid as long as it is. */
  payload: Buffer;
}

/** RTCP packet types 192..223 share the first byte's layout with RTP (RFC 5761 §4). */
export function isRtcp(packet: Uint8Array): boolean {
  const type = packet[1];
  return type !== undefined && type >= 192 && type <= 223;
}

/** The RTP packet in `packet`, or undefined when it is not a well-formed RTP packet. */
export function readRtp(packet: Buffer): RtpView | undefined {
  if (packet.byteLength < 12 || packet[0] === undefined || packet[0] >> 6 !== 2 || isRtcp(packet))
    return undefined;
  const first = packet[0];
  const second = packet[1] ?? 0;
  let offset = 12 + (first & 0x0f) * 4;
  if (first & 0x10) {
    if (offset + 4 > packet.byteLength) return undefined;
    offset += 4 + packet.readUInt16BE(offset + 2) * 4;
  }
  let end = packet.byteLength;
  if (first & 0x20) {
    const padding = packet[end - 1] ?? 0;
    if (padding === 0) return undefined;
    end -= padding;
  }
  if (offset > end) return undefined;
  return {
    payloadType: second & 0x7f,
    marker: (second & 0x80) !== 0,
    sequenceNumber: packet.readUInt16BE(2),
    timestamp: packet.readUInt32BE(4),
    ssrc: packet.readUInt32BE(8),
    payload: packet.subarray(offset, end),
  };
}
