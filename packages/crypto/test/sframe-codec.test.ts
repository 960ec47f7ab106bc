import { describe, expect, it } from 'vitest';
import {
  AES_128_CTR_HMAC_SHA256_80,
  clearPrefixLength,
  decodeHeader,
  isVp8KeyFrame,
  protectEncodedFrame,
  SFrameError,
  SFrameKeyRing,
  SFrameSender,
  unprotectEncodedFrame,
  unprotectEncodedFrameDetailed,
  type SFrameCodec,
  type SFrameErrorCode,
} from '../src/sframe/index.js';

const BASE = new Uint8Array(32).fill(3);

async function code(p: Promise<unknown>): Promise<SFrameErrorCode | 'ok'> {
  try {
    await p;
    return 'ok';
  } catch (e) {
    if (e instanceof SFrameError) return e.code;
    throw e;
  }
}

function frame(first: number, len: number): Uint8Array {
  const f = new Uint8Array(len).map((_, i) => (i * 37 + 11) & 0xff);
  f[0] = first;
  return f;
}

// VP8 frame tag: bit 0 = 0 → key frame. 0x10 / 0x11 are realistic first bytes (show_frame set).
const VP8_KEY = frame(0x10, 500);
const VP8_DELTA = frame(0x11, 200);
const OPUS = frame(0x78, 60);

async function setup(suite = 4) {
  const sender = await SFrameSender.create(suite, 77n, BASE);
  const ring = new SFrameKeyRing({ suite });
  await ring.addKey(77n, BASE);
  return { sender, ring };
}

describe('clearPrefixLength / isVp8KeyFrame', () => {
  it('follows the codec layouts and clamps to the frame length', () => {
    expect(isVp8KeyFrame(VP8_KEY)).toBe(true);
    expect(isVp8KeyFrame(VP8_DELTA)).toBe(false);
    expect(isVp8KeyFrame(new Uint8Array(0))).toBe(false);
    expect(clearPrefixLength('vp8', VP8_KEY)).toBe(10);
    expect(clearPrefixLength('vp8', VP8_DELTA)).toBe(3);
    expect(clearPrefixLength('vp8', frame(0x10, 4))).toBe(4);
    expect(clearPrefixLength('vp8', new Uint8Array(0))).toBe(0);
    expect(clearPrefixLength('opus', OPUS)).toBe(1);
    expect(clearPrefixLength('opus', new Uint8Array(0))).toBe(0);
    expect(clearPrefixLength('other', OPUS)).toBe(0);
  });
});

describe.each([
  ['vp8 key frame', 'vp8', VP8_KEY, 10],
  ['vp8 delta frame', 'vp8', VP8_DELTA, 3],
  ['opus', 'opus', OPUS, 1],
  ['other', 'other', OPUS, 0],
] as const)('%s', (_name, codec: SFrameCodec, input: Uint8Array, prefix: number) => {
  it('keeps the prefix readable, then [header][ciphertext], and round-trips', async () => {
    const { sender, ring } = await setup();
    const out = await protectEncodedFrame(sender, codec, input);
    expect(out.subarray(0, prefix)).toEqual(input.subarray(0, prefix));
    expect(decodeHeader(out, prefix)).toEqual({ kid: 77n, ctr: 0n, headerLength: 2 });
    expect(out.length).toBe(prefix + 2 + (input.length - prefix) + 16);
    expect(out.subarray(prefix + 2, prefix + 2 + 16)).not.toEqual(input.subarray(prefix, prefix + 16));
    expect(await unprotectEncodedFrame(ring, codec, out)).toEqual(input);
  });

  it('binds every clear prefix byte and the body', async () => {
    const { sender, ring } = await setup();
    const out = await protectEncodedFrame(sender, codec, input);
    for (let i = 0; i < prefix; i++) {
      const t = out.slice();
      t[i] = (t[i] as number) ^ 0x40; // keeps the VP8 key-frame bit: same layout, altered prefix
      expect(await code(unprotectEncodedFrame(ring, codec, t))).toBe('auth_failed');
    }
    const body = out.slice();
    body[body.length - 20] = (body[body.length - 20] as number) ^ 1;
    expect(await code(unprotectEncodedFrame(ring, codec, body))).toBe('auth_failed');
    const d = await unprotectEncodedFrameDetailed(ring, codec, out);
    expect(d).toEqual({ kid: 77n, ctr: 0n, frame: input });
  });
});

describe('codec edge cases', () => {
  it('flipping the VP8 key-frame bit cannot be accepted', async () => {
    const { sender, ring } = await setup();
    for (const input of [VP8_KEY, VP8_DELTA]) {
      const out = await protectEncodedFrame(sender, 'vp8', input);
      const t = out.slice();
      t[0] = (t[0] as number) ^ 0x01;
      expect(['auth_failed', 'unknown_kid', 'malformed_header', 'truncated_header']).toContain(
        await code(unprotectEncodedFrame(ring, 'vp8', t)),
      );
    }
  });

  it('works with a short-tag suite', async () => {
    const { sender, ring } = await setup(AES_128_CTR_HMAC_SHA256_80);
    const out = await protectEncodedFrame(sender, 'vp8', VP8_KEY);
    expect(out.length).toBe(VP8_KEY.length + 2 + 10);
    expect(await unprotectEncodedFrame(ring, 'vp8', out)).toEqual(VP8_KEY);
  });

  it('rejects frames shorter than their clear prefix, and protected data with no header', async () => {
    const { sender, ring } = await setup();
    expect(await code(protectEncodedFrame(sender, 'vp8', frame(0x10, 9)))).toBe('bad_input');
    expect(await code(protectEncodedFrame(sender, 'opus', new Uint8Array(0)))).toBe('bad_input');
    expect(await code(protectEncodedFrame(sender, 'other', new Uint8Array(0)))).toBe('bad_input');
    expect(await code(unprotectEncodedFrame(ring, 'vp8', frame(0x11, 3)))).toBe('truncated_header');
    expect(await code(unprotectEncodedFrame(ring, 'opus', new Uint8Array([0x78])))).toBe('truncated_header');
  });
});
