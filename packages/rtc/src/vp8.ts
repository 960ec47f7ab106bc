/**
 * The VP8 RTP payload descriptor (RFC 7741, section 4.2): the one parser of the SFU (key-frame
 * detection, layer switching) and the Node media peer (packetizing and reassembling frames).
 *
 *   byte 0: |X|R|N|S|R|PID(3)|  X: extension byte follows, N: non-reference frame,
 *                               S: start of a partition, PID: partition index
 *   if X:   |I|L|T|K|RSV(4)|    I: PictureID, L: TL0PICIDX, T: TID (and Y), K: KEYIDX present
 *   if I:   |M|PictureID(7)|    M: a 15-bit PictureID (its low 8 bits in the next byte)
 *   if L:   |TL0PICIDX(8)|
 *   if T|K: |TID(2)|Y|KEYIDX(5)|
 *
 * The VP8 payload follows: on a frame's first packet its first byte is the frame tag, whose
 * bit 0 is the inverse key-frame flag. E2EE keeps that byte in clear (the SFrame clear prefix),
 * so the SFU reads it although the rest of the payload is ciphertext.
 *
 * Convention: a field the descriptor does not carry is `undefined`; a payload too short for its
 * descriptor parses to `undefined`.
 */

export interface Vp8Descriptor {
  /** Bytes of the descriptor: the VP8 payload starts at this offset. */
  length: number;
  /** S: the packet starts a VP8 partition. */
  partitionStart: boolean;
  /** PID: the partition index (0-7). */
  partitionIndex: number;
  /** S set and PID 0: the first packet of a frame. */
  frameStart: boolean;
  /** N: a frame no other frame refers to (droppable). */
  nonReference: boolean;
  /** PictureID (7 or 15 bits, as `pictureIdBits` says). */
  pictureId: number | undefined;
  pictureIdBits: 7 | 15 | undefined;
  /** TL0PICIDX: running index of the temporal base layer frames. */
  tl0PicIdx: number | undefined;
  /** TID: temporal layer index (present with T). */
  tid: number | undefined;
  /** Y: layer sync (present with T). */
  layerSync: boolean | undefined;
  /** KEYIDX: running index of key frames (present with K). */
  keyIdx: number | undefined;
}

/** The payload descriptor at the start of a VP8 RTP payload, or undefined when truncated. */
export function parseVp8Descriptor(payload: Uint8Array): Vp8Descriptor | undefined {
  const b0 = payload[0];
  if (b0 === undefined) return undefined;
  const d: Vp8Descriptor = {
    length: 1,
    partitionStart: (b0 & 0x10) !== 0,
    partitionIndex: b0 & 0x07,
    frameStart: (b0 & 0x17) === 0x10,
    nonReference: (b0 & 0x20) !== 0,
    pictureId: undefined,
    pictureIdBits: undefined,
    tl0PicIdx: undefined,
    tid: undefined,
    layerSync: undefined,
    keyIdx: undefined,
  };
  if ((b0 & 0x80) === 0) return d;
  const x = payload[1];
  if (x === undefined) return undefined;
  let at = 2;
  if (x & 0x80) {
    const hi = payload[at];
    if (hi === undefined) return undefined;
    if (hi & 0x80) {
      const lo = payload[at + 1];
      if (lo === undefined) return undefined;
      d.pictureId = ((hi & 0x7f) << 8) | lo;
      d.pictureIdBits = 15;
      at += 2;
    } else {
      d.pictureId = hi;
      d.pictureIdBits = 7;
      at += 1;
    }
  }
  if (x & 0x40) {
    const tl0 = payload[at];
    if (tl0 === undefined) return undefined;
    d.tl0PicIdx = tl0;
    at += 1;
  }
  if (x & 0x30) {
    const tk = payload[at];
    if (tk === undefined) return undefined;
    if (x & 0x20) {
      d.tid = tk >> 6;
      d.layerSync = (tk & 0x20) !== 0;
    }
    if (x & 0x10) d.keyIdx = tk & 0x1f;
    at += 1;
  }
  d.length = at;
  return d;
}

/**
 * Where the VP8 frame starts in the first packet of a frame (S set, PID 0): the descriptor's
 * length. -1 for any other packet and for a truncated descriptor. Allocates nothing (the SFU
 * calls it on every video packet).
 */
function frameStartOffset(payload: Uint8Array): number {
  const b0 = payload[0];
  if (b0 === undefined || (b0 & 0x17) !== 0x10) return -1;
  if ((b0 & 0x80) === 0) return 1;
  const x = payload[1];
  if (x === undefined) return -1;
  let at = 2;
  if (x & 0x80) {
    const hi = payload[at];
    if (hi === undefined) return -1;
    at += hi & 0x80 ? 2 : 1;
  }
  if (x & 0x40) at += 1;
  if (x & 0x30) at += 1;
  return at <= payload.length ? at : -1;
}

/**
 * True when the payload is the first packet of a VP8 key frame: the first packet of a frame
 * (S set, PID 0) whose frame tag, right after the descriptor, has bit 0 (inverse key-frame
 * flag) clear.
 */
export function isVp8KeyFrameStart(payload: Uint8Array): boolean {
  const at = frameStartOffset(payload);
  const tag = at < 0 ? undefined : payload[at];
  return tag !== undefined && (tag & 0x01) === 0;
}

/** A key frame's size in pixels (RFC 6386 §9.1). */
export interface Vp8FrameSize {
  width: number;
  height: number;
}

/** The start code of a key frame, after its 3-byte frame tag (RFC 6386 §9.1). */
const START_CODE = [0x9d, 0x01, 0x2a] as const;

/**
 * The frame size a VP8 key frame announces, read from the first packet of the frame: after the
 * 3-byte frame tag and the start code 9d 01 2a come the width and the height, 14 bits each in
 * a little-endian 16-bit field whose top 2 bits are the upscaling mode (RFC 6386 §9.1). Those
 * 10 bytes are the clear prefix E2EE leaves on a key frame, so the SFU reads them.
 * Undefined for a packet that does not start a key frame, a truncated one, a missing start
 * code, or a zero dimension.
 */
export function vp8KeyFrameSize(payload: Uint8Array): Vp8FrameSize | undefined {
  const at = frameStartOffset(payload);
  if (at < 0 || payload.length < at + 10) return undefined;
  if (((payload[at] ?? 1) & 0x01) !== 0) return undefined;
  for (let i = 0; i < 3; i++) if (payload[at + 3 + i] !== START_CODE[i]) return undefined;
  const field = (o: number): number => ((payload[o] ?? 0) | ((payload[o + 1] ?? 0) << 8)) & 0x3fff;
  const width = field(at + 6);
  const height = field(at + 8);
  return width > 0 && height > 0 ? { width, height } : undefined;
}

/** The 1-byte descriptor the Node media peer sends: S and PID 0 on a frame's first packet, no extension. */
export function vp8Descriptor(frameStart: boolean): number {
  return frameStart ? 0x10 : 0x00;
}
