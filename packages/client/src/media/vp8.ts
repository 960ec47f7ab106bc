/**
 * VP8 RTP payload format (RFC 7741) — just what a bot needs to packetize and depacketize.
 *
 * Payload descriptor (first bytes of every RTP payload):
 *
 *   byte 0: |X|R|N|S|R|PID(3)|     X: extension present, S: start of a partition, PID: partition index
 *   if X:   |I|L|T|K|RSV(4)|       I: PictureID, L: TL0PICIDX, T: TID, K: KEYIDX present
 *   if I:   |M|PictureID(7)| [PictureID low 8 bits when M]
 *   if L:   TL0PICIDX (1 byte)
 *   if T|K: |TID|Y|KEYIDX| (1 byte)
 *
 * The VP8 frame (or an SFrame-protected frame whose clear prefix keeps the VP8 frame tag) follows.
 */

/** Length of the payload descriptor, or undefined when the payload is too short to hold it. */
export function vp8DescriptorLength(payload: Uint8Array): number | undefined {
  const b0 = payload[0];
  if (b0 === undefined) return undefined;
  let len = 1;
  if (b0 & 0x80) {
    const x = payload[1];
    if (x === undefined) return undefined;
    len = 2;
    if (x & 0x80) {
      const pid = payload[2];
      if (pid === undefined) return undefined;
      len += pid & 0x80 ? 2 : 1;
    }
    if (x & 0x40) len += 1;
    if (x & 0x30) len += 1;
  }
  return len <= payload.length ? len : undefined;
}

/** True when this RTP payload starts a VP8 frame (S bit set and partition index 0). */
export function isVp8FrameStart(payload: Uint8Array): boolean {
  const b0 = payload[0];
  return b0 !== undefined && (b0 & 0x10) !== 0 && (b0 & 0x07) === 0;
}

/** A 1-byte descriptor: S set on the frame's first packet, PID 0, no extensions. */
export function vp8Descriptor(first: boolean): number {
  return first ? 0x10 : 0x00;
}
