/**
 * Synthetic VP8-shaped frames for bots, tests and benchmarks: only the frame tag is meaningful
 * (bit 0 of byte 0 is 0 for a key frame; key frames carry the 9d 01 2a start code at bytes 3..5),
 * the rest is a counter pattern so a receiver can check content and order.
 */
export function syntheticVp8Frame(size: number, keyFrame: boolean, seed = 0): Uint8Array {
  const frame = new Uint8Array(Math.max(size, 10));
  for (let i = 0; i < frame.length; i++) frame[i] = (seed + i * 7) & 0xff;
  frame[0] = ((frame[0] ?? 0) & 0xfe) | (keyFrame ? 0 : 1);
  if (keyFrame) {
    frame[3] = 0x9d;
    frame[4] = 0x01;
    frame[5] = 0x2a;
  }
  return frame;
}

/** A synthetic Opus-shaped frame: a TOC byte (config 15, stereo off, 1 frame) then a pattern. */
export function syntheticOpusFrame(size: number, seed = 0): Uint8Array {
  const frame = new Uint8Array(Math.max(size, 2));
  for (let i = 0; i < frame.length; i++) frame[i] = (seed * 13 + i) & 0xff;
  frame[0] = 0x78;
  return frame;
}
