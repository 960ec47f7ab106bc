import { describe, expect, it } from 'vitest';
import {
  AES_128_CTR_HMAC_SHA256_32,
  AES_128_GCM_SHA256_128,
  decodeHeader,
  deriveSFrameKey,
  encodeHeader,
  getSuite,
  SFrameError,
  SFrameKeyRing,
  SFrameSender,
  SUITES,
  type SFrameErrorCode,
} from '../src/sframe/index.js';

const MAX = 2n ** 64n - 1n;
const BASE = new Uint8Array(16).map((_, i) => i);
const OTHER = new Uint8Array(16).map((_, i) => 100 + i);
const PT = new TextEncoder().encode('a media frame of moderate length, 48 bytes ....');
const MD = new TextEncoder().encode('metadata');

async function code(p: Promise<unknown>): Promise<SFrameErrorCode | 'ok'> {
  try {
    await p;
    return 'ok';
  } catch (e) {
    if (e instanceof SFrameError) return e.code;
    throw e;
  }
}

async function pair(suite: number, kid: bigint, opts: { initialCounter?: bigint } = {}) {
  const sender = await SFrameSender.create(suite, kid, BASE, opts);
  const ring = new SFrameKeyRing({ suite });
  await ring.addKey(kid, BASE);
  return { sender, ring };
}

function flip(u: Uint8Array, i: number): Uint8Array {
  const c = u.slice();
  c[i] = (c[i] as number) ^ 0x01;
  return c;
}

describe.each([...SUITES.values()].map((s) => [s.name, s.id] as const))('suite %s', (_name, suite) => {
  it('round-trips with and without metadata, counter increments from 0', async () => {
    const { sender, ring } = await pair(suite, 9n);
    const f0 = await sender.protect(PT);
    const f1 = await sender.protect(PT, MD);
    expect(decodeHeader(f0)).toMatchObject({ kid: 9n, ctr: 0n });
    expect(decodeHeader(f1)).toMatchObject({ kid: 9n, ctr: 1n });
    expect(f0.length).toBe(encodeHeader(9n, 0n).length + PT.length + getSuite(suite).Nt);
    expect(await ring.unprotect(f0)).toEqual({ kid: 9n, ctr: 0n, plaintext: PT });
    expect(await ring.unprotect(f1, MD)).toEqual({ kid: 9n, ctr: 1n, plaintext: PT });
    expect(sender.nextCounter).toBe(2n);
  });

  it('round-trips an empty plaintext', async () => {
    const { sender, ring } = await pair(suite, 1n);
    const f = await sender.protect(new Uint8Array(0));
    expect((await ring.unprotect(f)).plaintext).toEqual(new Uint8Array(0));
  });

  it('rejects tampered ciphertext, tag, header and metadata', async () => {
    const { sender, ring } = await pair(suite, 0x1234n, { initialCounter: 5000n });
    const f = await sender.protect(PT, MD);
    const hl = decodeHeader(f).headerLength;
    expect(await code(ring.unprotect(flip(f, hl + 3), MD))).toBe('auth_failed'); // ciphertext
    expect(await code(ring.unprotect(flip(f, f.length - 1), MD))).toBe('auth_failed'); // tag
    expect(await code(ring.unprotect(f.subarray(0, f.length - 1), MD))).toBe('auth_failed'); // cut tag
    expect(await code(ring.unprotect(flip(f, hl - 1), MD))).toBe('auth_failed'); // CTR 5000 → 5001
    expect(await code(ring.unprotect(f, flip(MD, 0)))).toBe('auth_failed'); // metadata
    expect(await code(ring.unprotect(f))).toBe('auth_failed'); // metadata dropped
    expect(await code(ring.unprotect(f, MD))).toBe('ok'); // the original still works after forgeries
    expect(ring.stats(0x1234n)).toEqual({ accepted: 1, authFailed: 6, replayed: 0 });
    expect(ring.failureCount(0x1234n)).toBe(6);
  });

  it('rejects a changed KID: unknown_kid, or auth_failed when that KID is known', async () => {
    const { sender, ring } = await pair(suite, 0x1234n);
    const f = await sender.protect(PT);
    const kidChanged = flip(f, 2); // KID 0x1234 → 0x1235
    expect(await code(ring.unprotect(kidChanged))).toBe('unknown_kid');
    expect(ring.globalStats().unknownKid).toBe(1);
    await ring.addKey(0x1235n, BASE);
    expect(await code(ring.unprotect(kidChanged))).toBe('auth_failed');
  });

  it('rejects a frame from a different base key', async () => {
    const sender = await SFrameSender.create(suite, 3n, OTHER);
    const ring = new SFrameKeyRing({ suite });
    await ring.addKey(3n, BASE);
    expect(await code(ring.unprotect(await sender.protect(PT)))).toBe('auth_failed');
  });
});

describe('SFrameSender counter', () => {
  it('reaches 2^64-1 then fails with counter_exhausted, never wraps', async () => {
    const { sender, ring } = await pair(AES_128_GCM_SHA256_128, 1n, { initialCounter: MAX - 1n });
    const a = await sender.protect(PT);
    const b = await sender.protect(PT);
    expect(decodeHeader(a).ctr).toBe(MAX - 1n);
    expect(decodeHeader(b).ctr).toBe(MAX);
    expect(await code(sender.protect(PT))).toBe('counter_exhausted');
    expect(await code(sender.protect(PT))).toBe('counter_exhausted');
    expect((await ring.unprotect(b)).ctr).toBe(MAX);
  });

  it('honours a configured maxCounter', async () => {
    const sender = await SFrameSender.create(AES_128_GCM_SHA256_128, 1n, BASE, { maxCounter: 1n });
    await sender.protect(PT);
    await sender.protect(PT);
    expect(await code(sender.protect(PT))).toBe('counter_exhausted');
  });

  it('gives concurrent protect() calls distinct counters', async () => {
    const sender = await SFrameSender.create(AES_128_CTR_HMAC_SHA256_32, 1n, BASE);
    const frames = await Promise.all(Array.from({ length: 50 }, () => sender.protect(PT)));
    const ctrs = new Set(frames.map((f) => decodeHeader(f).ctr));
    expect(ctrs.size).toBe(50);
  });

  it('validates its options', async () => {
    const key = await deriveSFrameKey(AES_128_GCM_SHA256_128, 1n, BASE);
    expect(() => new SFrameSender({ suite: AES_128_GCM_SHA256_128, kid: 2n, key })).toThrow(SFrameError);
    expect(() => new SFrameSender({ suite: 5, kid: 1n, key })).toThrow(/derived for suite 4/);
    expect(() => new SFrameSender({ suite: 4, kid: 1n, key, initialCounter: -1n })).toThrow(SFrameError);
    expect(await code(SFrameSender.create(0x99, 1n, BASE))).toBe('unsupported_suite');
    expect(await code(SFrameSender.create(4, MAX + 1n, BASE))).toBe('bad_input');
    const s = new SFrameSender({ suite: 4, kid: 1n, key, initialCounter: 42n });
    expect(decodeHeader(await s.protect(PT)).ctr).toBe(42n);
    expect(await code(s.protect('text' as unknown as Uint8Array))).toBe('bad_input');
  });
});

describe('SFrameKeyRing', () => {
  it('reports unknown KIDs and malformed headers', async () => {
    const ring = new SFrameKeyRing();
    expect(await code(ring.unprotect(new Uint8Array([0x05, 1, 2])))).toBe('unknown_kid');
    expect(await code(ring.unprotect(new Uint8Array(0)))).toBe('truncated_header');
    expect(await code(ring.unprotect(new Uint8Array([0x99, 0x01])))).toBe('truncated_header');
    expect(await code(ring.unprotect(new Uint8Array([0x80, 0x01, 0, 0])))).toBe('malformed_header');
    expect(ring.globalStats()).toEqual({ unknownKid: 1, malformedHeader: 3 });
  });

  it('adds, removes and lists keys; removal wins over a slow addKey', async () => {
    const ring = new SFrameKeyRing();
    await ring.addKey(1n, BASE);
    expect(ring.hasKey(1n)).toBe(true);
    const pending = ring.addKey(2n, BASE);
    expect(ring.removeKey(2n)).toBe(false);
    await pending;
    expect(ring.hasKey(2n)).toBe(false);
    expect(ring.keyIds()).toEqual([1n]);
    expect(ring.removeKey(1n)).toBe(true);
    expect(ring.hasKey(1n)).toBe(false);
    expect(ring.stats(1n)).toBeUndefined();
    expect(ring.failureCount(1n)).toBe(0);
  });

  it('holds several KIDs with different suites', async () => {
    const ring = new SFrameKeyRing();
    const a = await SFrameSender.create(AES_128_GCM_SHA256_128, 10n, BASE);
    const b = await SFrameSender.create(AES_128_CTR_HMAC_SHA256_32, 11n, OTHER);
    await ring.addKey(10n, BASE);
    await ring.addKey(11n, OTHER, AES_128_CTR_HMAC_SHA256_32);
    expect((await ring.unprotect(await a.protect(PT))).kid).toBe(10n);
    expect((await ring.unprotect(await b.protect(PT))).kid).toBe(11n);
  });

  it('validates its options', () => {
    expect(() => new SFrameKeyRing({ replayWindow: -1 })).toThrow(SFrameError);
    expect(() => new SFrameKeyRing({ suite: 0 })).toThrow(/unsupported/);
  });
});
