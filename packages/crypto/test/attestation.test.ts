import { describe, expect, it } from 'vitest';
import {
  AttestationChecker,
  AttestationRecorder,
  FRAME_HASH_BYTES,
  FrameHashBatcher,
  MAX_ATTESTATION_HASHES,
  attestationDigest,
  decodeAttestation,
  encodeAttestation,
  frameHash,
  hashCount,
  type AttestationBody,
  type FrameBatch,
} from '../src/index.js';

const hashes = (n: number, seed = 1) => {
  const out = new Uint8Array(n * FRAME_HASH_BYTES);
  for (let i = 0; i < n; i++) out.set(frameHash(Uint8Array.of(seed, i >> 8, i & 255)), i * FRAME_HASH_BYTES);
  return out;
};

const body = (over: Partial<AttestationBody> = {}): AttestationBody => ({
  groupId: new Uint8Array(16).fill(7),
  epoch: 5n,
  leafIndex: 3,
  context: 'camera',
  seq: 0,
  prev: new Uint8Array(32),
  startedAt: 1_700_000_000_000,
  endedAt: 1_700_000_000_990,
  hashes: hashes(30),
  ...over,
});

describe('attestation body', () => {
  it('round-trips every field and is bounded', () => {
    const b = body({
      seq: 9,
      prev: new Uint8Array(32).fill(1),
      context: 'screenAudio',
      epoch: (1n << 64n) - 1n,
    });
    const enc = encodeAttestation(b);
    expect(decodeAttestation(enc)).toEqual({ ...b, groupId: b.groupId, hashes: b.hashes });
    expect(hashCount(decodeAttestation(enc))).toBe(30);
    const max = encodeAttestation(
      body({ groupId: new Uint8Array(64), hashes: hashes(MAX_ATTESTATION_HASHES) }),
    );
    expect(max.length).toBe(6531);
    expect(() => encodeAttestation(body({ hashes: hashes(MAX_ATTESTATION_HASHES + 1) }))).toThrow(/hashes/);
    expect(() => encodeAttestation(body({ hashes: new Uint8Array(0) }))).toThrow(/hashes/);
    expect(() => encodeAttestation(body({ hashes: new Uint8Array(17) }))).toThrow(/hashes/);
  });

  it('refuses malformed encodings with EvidenceError bad_evidence', () => {
    const enc = encodeAttestation(body());
    const mutate = (f: (b: Uint8Array) => Uint8Array) => () => decodeAttestation(f(enc.slice()));
    const cases: [string, () => unknown][] = [
      ['empty', () => decodeAttestation(new Uint8Array(0))],
      ['truncated', mutate((b) => b.subarray(0, b.length - 1))],
      ['trailing byte', mutate((b) => Uint8Array.from([...b, 0]))],
      ['version 2', mutate((b) => ((b[0] = 2), b))],
      ['group id length 0', mutate((b) => ((b[1] = 0), b))],
      ['group id length 65', mutate((b) => ((b[1] = 65), b))],
      ['context 4', mutate((b) => ((b[1 + 1 + 16 + 8 + 2] = 4), b))],
      [
        'count 0',
        mutate(
          (b) => ((b[2 + 16 + 8 + 2 + 1 + 4 + 32 + 16] = 0), (b[2 + 16 + 8 + 2 + 1 + 4 + 32 + 17] = 0), b),
        ),
      ],
      ['prev at seq 0', mutate((b) => ((b[2 + 16 + 8 + 2 + 1 + 4] = 1), b))],
      ['time beyond 2^53', mutate((b) => ((b[2 + 16 + 8 + 2 + 1 + 4 + 32] = 0xff), b))],
      ['ends before it starts', mutate((b) => ((b[2 + 16 + 8 + 2 + 1 + 4 + 32 + 8 + 3] = 0), b))],
    ];
    for (const [name, run] of cases) {
      expect(run, name).toThrow(expect.objectContaining({ name: 'EvidenceError', code: 'bad_evidence' }));
    }
    expect(() => encodeAttestation(body({ endedAt: 1 }))).toThrow(/ends before/);
    expect(() => decodeAttestation('x' as unknown as Uint8Array)).toThrow(/not bytes/);
  });

  it('digest is SHA-256 of the encoding: one changed bit changes it', () => {
    const a = encodeAttestation(body());
    const b = a.slice();
    b[b.length - 1]! ^= 1;
    expect(attestationDigest(a)).toHaveLength(32);
    expect(attestationDigest(a)).not.toEqual(attestationDigest(b));
  });
});

describe('sender side: batcher and recorder', () => {
  function manual() {
    const clock = { t: 1000 };
    const timers: { at: number; fn: () => void; live: boolean }[] = [];
    const schedule = (ms: number, fn: () => void) => {
      const t = { at: clock.t + ms, fn, live: true };
      timers.push(t);
      return { cancel: () => (t.live = false) };
    };
    const advance = (ms: number) => {
      clock.t += ms;
      for (const t of timers) {
        if (!t.live || t.at > clock.t) continue;
        t.live = false;
        t.fn();
      }
    };
    return { clock, schedule, advance };
  }

  it('closes a batch per context after a second, at an epoch change, and at 400 frames', () => {
    const m = manual();
    const out: FrameBatch[] = [];
    const b = new FrameHashBatcher((x) => out.push(x), { now: () => m.clock.t, schedule: m.schedule });
    for (let i = 0; i < 30; i++) {
      b.record('camera', 1n, 2, Uint8Array.of(1, i));
      b.record('audio', 1n, 2, Uint8Array.of(2, i));
      m.advance(30);
    }
    expect(out).toEqual([]);
    m.advance(200);
    expect(out.map((x) => [x.context, hashCount(x)])).toEqual([
      ['camera', 30],
      ['audio', 30],
    ]);
    expect(out[0]!.hashes.subarray(0, 16)).toEqual(frameHash(Uint8Array.of(1, 0)));
    expect(out[0]).toMatchObject({ epoch: 1n, leafIndex: 2, startedAt: 1000, endedAt: 1000 + 29 * 30 });
    out.length = 0;
    b.record('camera', 1n, 2, Uint8Array.of(3));
    b.record('camera', 2n, 2, Uint8Array.of(4)); // new epoch: the old batch closes at once
    expect(out.map((x) => [x.epoch, hashCount(x)])).toEqual([[1n, 1]]);
    for (let i = 0; i < MAX_ATTESTATION_HASHES; i++)
      b.record('screen', 2n, 2, Uint8Array.of(5, i >> 8, i & 255));
    expect(out.at(-1)).toMatchObject({ context: 'screen' });
    expect(hashCount(out.at(-1)!)).toBe(MAX_ATTESTATION_HASHES);
    b.clear();
    m.advance(5_000);
    expect(out).toHaveLength(2); // cleared: the open camera batch of epoch 2 is dropped, not sent
  });

  it('chains bodies per context: seq from 0, prev = digest of the previous body', () => {
    const r = new AttestationRecorder();
    const g = new Uint8Array(16).fill(1);
    const batch = (context: FrameBatch['context'], seed: number): FrameBatch => ({
      context,
      epoch: 3n,
      leafIndex: 1,
      startedAt: 10,
      endedAt: 20,
      hashes: hashes(2, seed),
    });
    const a0 = r.next(g, batch('audio', 1));
    const c0 = r.next(g, batch('camera', 2));
    const a1 = r.next(g, batch('audio', 3));
    expect([a0.body.seq, c0.body.seq, a1.body.seq]).toEqual([0, 0, 1]);
    expect(a0.body.prev).toEqual(new Uint8Array(32));
    expect(a1.body.prev).toEqual(attestationDigest(a0.encoded));
    expect(a1.digest).toEqual(attestationDigest(a1.encoded));
    expect(decodeAttestation(a1.encoded)).toEqual(a1.body);
    r.reset();
    expect(r.next(g, batch('audio', 4)).body.seq).toBe(0);
  });
});

describe('receiver side: the live checker', () => {
  const h = (i: number) => frameHash(Uint8Array.of(9, i));
  const hs = (...is: number[]) => {
    const out = new Uint8Array(is.length * 16);
    is.forEach((i, k) => out.set(h(i), k * 16));
    return out;
  };

  function checker() {
    const clock = { t: 0 };
    const c = new AttestationChecker({ now: () => clock.t });
    clock.t = 5_000; // past the start-up quiet period
    return { c, clock };
  }

  it('a frame its KID owner attested is fine, before or after the frame arrives', () => {
    const { c, clock } = checker();
    c.accept({ leafIndex: 1, context: 'camera', epoch: 2n, hashes: hs(1) });
    c.observe(1, 'camera', 2n, h(1));
    c.observe(1, 'camera', 2n, h(2));
    clock.t += 800;
    c.accept({ leafIndex: 1, context: 'camera', epoch: 2n, hashes: hs(2) });
    clock.t += 20_000;
    expect(c.stats().get(1)).toEqual({ unattested: 0, lastUnattestedAt: undefined, attested: 2 });
  });

  it('counts frames no attestation of the KID owner covered, after the grace', () => {
    const { c, clock } = checker();
    c.observe(1, 'camera', 2n, h(1));
    // attested by another leaf, or for another context or epoch: not the KID owner's
    c.accept({ leafIndex: 2, context: 'camera', epoch: 2n, hashes: hs(1) });
    c.accept({ leafIndex: 1, context: 'audio', epoch: 2n, hashes: hs(1) });
    c.accept({ leafIndex: 1, context: 'camera', epoch: 3n, hashes: hs(1) });
    clock.t += 2_900;
    expect(c.stats().get(1)?.unattested ?? 0).toBe(0); // within the grace
    clock.t += 200;
    c.accept({ leafIndex: 2, context: 'audio', epoch: 2n, hashes: hs(50) }); // the channel flows
    const s = c.stats().get(1)!;
    expect(s.unattested).toBe(1);
    expect(s.lastUnattestedAt).toBe(clock.t);
    // a late attestation does not undo it
    c.accept({ leafIndex: 1, context: 'camera', epoch: 2n, hashes: hs(1) });
    expect(c.stats().get(1)!.unattested).toBe(1);
  });

  it('waits while no attestation of anyone arrives (a stuck MLS channel), up to 10 s', () => {
    const { c, clock } = checker();
    c.observe(4, 'audio', 1n, h(1));
    clock.t += 6_000;
    expect(c.stats().get(4)?.unattested ?? 0).toBe(0);
    clock.t += 4_000;
    expect(c.stats().get(4)!.unattested).toBe(1);
  });

  it('judges nothing that arrived in the grace after it was (re)started', () => {
    const clock = { t: 0 };
    const c = new AttestationChecker({ now: () => clock.t });
    c.observe(1, 'audio', 1n, h(1));
    clock.t = 60_000;
    expect(c.stats().get(1)?.unattested ?? 0).toBe(0);
    c.observe(1, 'audio', 1n, h(2));
    c.clear();
    clock.t += 60_000;
    expect(c.stats().size).toBe(0);
  });

  it('bounds what it holds: pending frames per leaf and attested hashes', () => {
    const clock = { t: 10_000 };
    const c = new AttestationChecker({
      now: () => clock.t,
      maxPendingPerLeaf: 10,
      maxAttested: 5,
      graceMs: 0,
    });
    for (let i = 0; i < 15; i++) c.observe(1, 'audio', 1n, h(i));
    expect(c.stats().get(1)!.unattested).toBe(5); // the oldest judged as the queue overflowed
    c.accept({
      leafIndex: 2,
      context: 'audio',
      epoch: 1n,
      hashes: hs(...Array.from({ length: 20 }, (_, i) => 100 + i)),
    });
    c.observe(2, 'audio', 1n, h(100)); // dropped from the attested set (only the last 5 kept)
    c.observe(2, 'audio', 1n, h(119));
    clock.t += 11_000;
    expect(c.stats().get(2)).toMatchObject({ attested: 1, unattested: 1 });
  });
});
