/**
 * Key-frame detection from the clear bytes of a VP8 RTP payload (RFC 7741). E2EE keeps the
 * first 10 (key) / 3 (delta) bytes of every VP8 frame in clear, so the frame tag is readable
 * although the rest of the payload is ciphertext.
 */

/** Length of the VP8 payload descriptor at the start of an RTP payload, or -1 if truncated. */
// Indexes below are checked against p.length first, so the `as number` casts are safe.
function vp8DescriptorLength(p: Uint8Array): number {
  if (p.length < 1) return -1;
  const b0 = p[0] as number;
  let len = 1;
  if (b0 & 0x80) {
    if (p.length < 2) return -1;
    const x = p[1] as number;
    len = 2;
    if (x & 0x80) {
      if (p.length < 3) return -1;
      len += (p[2] as number) & 0x80 ? 2 : 1;
    }
    if (x & 0x40) len += 1;
    if (x & 0x30) len += 1;
  }
  return len <= p.length ? len : -1;
}

/**
 * True when the payload is the first packet of a VP8 key frame: S bit set, partition index 0,
 * and bit 0 of the frame's first byte (the inverse key-frame flag) is 0.
 */
export function isVp8KeyFrameStart(p: Uint8Array): boolean {
  const b0 = p[0];
  if (b0 === undefined || (b0 & 0x10) === 0 || (b0 & 0x07) !== 0) return false;
  const len = vp8DescriptorLength(p);
  if (len < 0 || len >= p.length) return false;
  return ((p[len] as number) & 0x01) === 0;
}
