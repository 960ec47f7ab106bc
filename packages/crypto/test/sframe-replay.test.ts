import { describe, expect, it } from 'vitest';
import {
  ReplayWindow,
  SFrameError,
  SFrameKeyRing,
  SFrameSender,
  type SFrameErrorCode,
} from '../src/sframe/index.js';

const BASE = new Uint8Array(16).fill(7);
const PT = new Uint8Array(100).fill(1);

async function code(p: Promise<unknown>): Promise<SFrameErrorCode | 'ok'> {
  try {
    await p;
    return 'ok';
  } catch (e) {
    if (e instanceof SFrameError) return e.code;
    throw e;
  }
}

describe('ReplayWindow', () => {
  it('accepts fresh and reordered counters once, rejects too-old ones', () => {
    const w = new ReplayWindow(128);
    expect(w.highestAccepted).toBeNull();
    expect(w.accept(1000n)).toBe(true);
    expect(w.accept(1000n)).toBe(false);
    expect(w.accept(999n)).toBe(true);
    expect(w.accept(873n)).toBe(true); // 1000 - 127: last counter inside the window
    expect(w.check(872n)).toBe(false); // 1000 - 128: too old
    expect(w.accept(872n)).toBe(false);
    expect(w.accept(1001n)).toBe(true);
    expect(w.check(999n)).toBe(false);
    expect(w.check(998n)).toBe(true);
    expect(w.highestAccepted).toBe(1001n);
  });

  it('clears slots as it slides (a counter W ahead reuses a slot)', () => {
    const w = new ReplayWindow(32);
    for (let c = 0n; c < 32n; c++) expect(w.accept(c)).toBe(true);
    expect(w.accept(40n)).toBe(true); // slides by 9: slots of 32..40 cleared, 0..8 gone
    for (let c = 32n; c < 40n; c++) expect(w.check(c)).toBe(true);
    for (let c = 9n; c < 32n; c++) expect(w.check(c)).toBe(false); // still remembered
    expect(w.check(8n)).toBe(false); // fell out of the window
    expect(w.accept(1000n)).toBe(true); // jump beyond the window clears everything
    for (let c = 969n; c < 1000n; c++) expect(w.check(c)).toBe(true);
    expect(w.check(968n)).toBe(false);
  });

  it('works with a non-multiple-of-32 size and at 2^64-1', () => {
    const w = new ReplayWindow(5);
    const max = 2n ** 64n - 1n;
    expect(w.accept(max - 10n)).toBe(true);
    expect(w.accept(max)).toBe(true);
    expect(w.check(max - 4n)).toBe(true);
    expect(w.check(max - 5n)).toBe(false);
    expect(w.accept(max - 1n)).toBe(true);
    expect(w.accept(max - 1n)).toBe(false);
  });

  it('matches a reference model on random traffic', () => {
    let seed = 12345;
    const rnd = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    for (const size of [1, 7, 32, 128]) {
      const w = new ReplayWindow(size);
      const seen = new Set<bigint>();
      let hi = -1n;
      for (let i = 0; i < 5000; i++) {
        const c = BigInt(Math.max(0, Number(hi) + rnd(size * 3) - size * 2 + 3));
        const expected = !seen.has(c) && (c > hi || hi - c < BigInt(size));
        expect(w.accept(c)).toBe(expected);
        if (expected) {
          seen.add(c);
          if (c > hi) hi = c;
        }
      }
    }
  });
});

describe('SFrameKeyRing anti-replay', () => {
  async function setup(replayWindow?: number) {
    const sender = await SFrameSender.create(4, 42n, BASE);
    const ring = new SFrameKeyRing(replayWindow === undefined ? {} : { replayWindow });
    await ring.addKey(42n, BASE);
    const frames: Uint8Array[] = [];
    for (let i = 0; i < 300; i++) frames.push(await sender.protect(PT));
    const f = (i: number): Uint8Array => frames[i] as Uint8Array;
    return { ring, f };
  }

  it('rejects a replayed frame, accepts reordering within the window, rejects too old', async () => {
    const { ring, f } = await setup();
    expect(await code(ring.unprotect(f(200)))).toBe('ok');
    expect(await code(ring.unprotect(f(200)))).toBe('replay');
    expect(await code(ring.unprotect(f(199)))).toBe('ok');
    expect(await code(ring.unprotect(f(150)))).toBe('ok');
    expect(await code(ring.unprotect(f(73)))).toBe('ok'); // 200 - 127
    expect(await code(ring.unprotect(f(72)))).toBe('replay'); // 200 - 128: too old
    expect(await code(ring.unprotect(f(150)))).toBe('replay');
    expect(await code(ring.unprotect(f(201)))).toBe('ok');
    expect(ring.stats(42n)).toEqual({ accepted: 5, authFailed: 0, replayed: 3 });
    expect(ring.failureCount(42n)).toBe(3);
  });

  it('does not advance the window for a forged frame', async () => {
    const { ring, f } = await setup();
    expect(await code(ring.unprotect(f(10)))).toBe('ok');
    // Forge a frame claiming CTR 299 (far ahead): valid header, garbage body.
    const forged = f(299).slice();
    forged[forged.length - 1] = (forged[forged.length - 1] as number) ^ 0xff;
    expect(await code(ring.unprotect(forged))).toBe('auth_failed');
    // Had the window moved to 299, CTR 11 would now be too old.
    expect(await code(ring.unprotect(f(11)))).toBe('ok');
    expect(await code(ring.unprotect(f(299)))).toBe('ok');
  });

  it('accepts only one of two identical frames decrypted concurrently', async () => {
    const { ring, f } = await setup();
    const results = await Promise.all([code(ring.unprotect(f(5))), code(ring.unprotect(f(5)))]);
    expect(results.sort()).toEqual(['ok', 'replay']);
  });

  it('honours a configured window, and 0 disables anti-replay', async () => {
    const small = await setup(4);
    expect(await code(small.ring.unprotect(small.f(10)))).toBe('ok');
    expect(await code(small.ring.unprotect(small.f(7)))).toBe('ok');
    expect(await code(small.ring.unprotect(small.f(6)))).toBe('replay');
    const off = await setup(0);
    expect(await code(off.ring.unprotect(off.f(10)))).toBe('ok');
    expect(await code(off.ring.unprotect(off.f(10)))).toBe('ok');
  });

  it('resets the window when a KID is re-added', async () => {
    const { ring, f } = await setup();
    expect(await code(ring.unprotect(f(3)))).toBe('ok');
    await ring.addKey(42n, BASE);
    expect(await code(ring.unprotect(f(3)))).toBe('ok');
  });
});
