import { describe, expect, it } from 'vitest';
import { FrameBuffer, mediaKid } from '../src/index.js';

const key = (n: number) => ({ key: new Uint8Array(16).fill(n), salt: new Uint8Array(12).fill(n) });
/** A VP8-shaped frame: bit 0 of byte 0 clear = key frame. */
const vp8 = (tag: number, keyFrame: boolean, size = 100) => {
  const f = new Uint8Array(size).fill(tag & 0xff);
  f[0] = keyFrame ? 0x10 : 0x11;
  return f;
};
const opus = (tag: number) => Uint8Array.of(0x78, tag & 0xff, 1, 2, 3);

function buffer(opts: { maxBytes?: number; windowMs?: number } = {}) {
  const clock = { t: 0 };
  return { b: new FrameBuffer({ now: () => clock.t, ...opts }), clock };
}

describe('clip buffer', () => {
  it('keeps the last 60 s per sender with the key material of their KIDs, and drops both after', () => {
    const { b, clock } = buffer();
    const kidA = mediaKid('audio', 1, 1n);
    const kidB = mediaKid('audio', 2, 1n);
    expect(b.needsKey(kidA)).toBe(true);
    b.add(1, 'audio', 'opus', kidA, opus(1), key(1));
    b.add(2, 'audio', 'opus', kidB, opus(2), key(2));
    expect(b.needsKey(kidA)).toBe(false);
    // a frame of a KID whose key material was never given is not kept
    b.add(1, 'audio', 'opus', mediaKid('audio', 1, 2n), opus(3));
    clock.t = 30_000;
    b.add(1, 'audio', 'opus', kidA, opus(4));
    const c = b.clip(1, 60)!;
    expect(c.frames.map((f) => [f.at, f.data[1]])).toEqual([
      [0, 1],
      [30_000, 4],
    ]);
    expect(c.keys).toEqual([{ kid: kidA, ...key(1) }]);
    expect(b.clip(1, 10)!.frames).toHaveLength(1);
    clock.t = 60_001;
    expect(b.clip(2, 60)).toBeUndefined(); // its only frame left the window
    expect(b.needsKey(kidB)).toBe(true); // and its KID's key went with it
    expect(b.needsKey(kidA)).toBe(false); // still a frame of kidA (at 30 s)
    clock.t = 90_001;
    expect(b.clip(1, 60)).toBeUndefined();
    expect(b.needsKey(kidA)).toBe(true);
    expect(b.size).toBe(0);
  });

  it('is bounded in bytes, oldest first', () => {
    const { b, clock } = buffer({ maxBytes: 1_000 });
    const kid = mediaKid('camera', 1, 1n);
    for (let i = 0; i < 25; i++) {
      clock.t = i * 10;
      b.add(1, 'camera', 'vp8', kid, vp8(i, false), key(1));
    }
    expect(b.size).toBe(1_000);
    expect(b.clip(1, 60)!.frames.map((f) => f.data[1])).toEqual([15, 16, 17, 18, 19, 20, 21, 22, 23, 24]);
  });

  it('starts a video stream at its key frame: every frame from it when it is in the window', () => {
    const { b, clock } = buffer();
    const kid = mediaKid('camera', 1, 1n);
    for (let i = 0; i < 50; i++) {
      clock.t = i * 1_000;
      b.add(1, 'camera', 'vp8', kid, vp8(i, i === 5), key(1));
      b.add(1, 'audio', 'opus', mediaKid('audio', 1, 1n), opus(i), key(2));
    }
    const c = b.clip(1, 10)!; // from t = 39 s: camera from its key frame at 5 s on
    const cam = c.frames.filter((f) => f.codec === 'vp8').map((f) => f.data[1]);
    const aud = c.frames.filter((f) => f.codec === 'opus').map((f) => f.data[1]);
    expect(cam[0]).toBe(5);
    expect(cam).toHaveLength(45);
    expect(aud).toEqual([39, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49]);
  });

  it('keeps the latest key frame of a stream after it left the window, and leads a clip with it alone', () => {
    const { b, clock } = buffer();
    const old = mediaKid('camera', 1, 1n);
    const now = mediaKid('camera', 1, 2n);
    b.add(1, 'camera', 'vp8', old, vp8(1, true), key(1));
    b.add(1, 'camera', 'vp8', old, vp8(2, false), key(1));
    for (let i = 0; i < 20; i++) {
      clock.t = 60_000 + i * 5_000;
      b.add(1, 'camera', 'vp8', now, vp8(10 + i, false), key(2));
    }
    const c = b.clip(1, 10)!;
    expect(c.frames.map((f) => [f.at, f.data[1]])).toEqual([
      [0, 1],
      [145_000, 27],
      [150_000, 28],
      [155_000, 29],
    ]);
    // the key frame's KID key material stays with it; the delta frame's old KID had no other use
    expect(c.keys.map((k) => k.kid).sort()).toEqual([old, now].sort());
    expect(b.size).toBe(100 + 13 * 100); // the pinned key frame and 95 s..155 s
    // a newer key frame replaces it (and its key material goes)
    clock.t += 1_000;
    b.add(1, 'camera', 'vp8', now, vp8(50, true), key(2));
    expect(b.needsKey(old)).toBe(true);
    expect(b.clip(1, 0.5)!.frames.map((f) => f.data[1])).toEqual([50]);
  });

  it('gives at most maxClipFrames, the newest', () => {
    const clock = { t: 0 };
    const b = new FrameBuffer({ now: () => clock.t, maxClipFrames: 3 });
    for (let i = 0; i < 10; i++) b.add(1, 'audio', 'opus', 1n, opus(i), key(1));
    expect(b.clip(1, 60)!.frames.map((f) => f.data[1])).toEqual([7, 8, 9]);
    b.clear();
    expect(b.clip(1, 60)).toBeUndefined();
    expect(b.size).toBe(0);
  });
});
