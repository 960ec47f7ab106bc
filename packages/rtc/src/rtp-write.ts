/**
 * RTP packets as the SFU's native egress sends them (RFC 3550): a fixed header with the
 * subscriber leg's SSRC, sequence number and timestamp, at most one header extension (the audio
 * level, RFC 6464, one-byte form of RFC 8285) and the publisher's payload copied unchanged.
 */
export interface RtpFields {
  payloadType: number;
  marker: boolean;
  sequenceNumber: number;
  timestamp: number;
  ssrc: number;
  /** One-byte extension element to carry: id 1..14 and its 1-byte value. */
  audioLevel?: { id: number; value: number } | undefined;
}

/**
 * One RTP packet, written into `scratch` when it fits (the returned view is valid until the next
 * write into it: libdatachannel copies what it sends), else into a fresh buffer.
 */
export function writeRtp(fields: RtpFields, payload: Uint8Array, scratch?: Buffer): Buffer {
  const ext = fields.audioLevel;
  const headerBytes = ext ? 20 : 12;
  const size = headerBytes + payload.byteLength;
  const out = scratch && scratch.byteLength >= size ? scratch.subarray(0, size) : Buffer.allocUnsafe(size);
  out[0] = ext ? 0x90 : 0x80;
  out[1] = (fields.marker ? 0x80 : 0) | (fields.payloadType & 0x7f);
  out.writeUInt16BE(fields.sequenceNumber & 0xffff, 2);
  out.writeUInt32BE(fields.timestamp >>> 0, 4);
  out.writeUInt32BE(fields.ssrc >>> 0, 8);
  if (ext) {
    // 0xBEDE profile, length 1 word: [id | len-1=0] [value] + 2 bytes padding.
    out.writeUInt32BE(0xbede0001, 12);
    out[16] = (ext.id & 0x0f) << 4;
    out[17] = ext.value & 0xff;
    out[18] = 0;
    out[19] = 0;
  }
  out.set(payload, headerBytes);
  return out;
}
