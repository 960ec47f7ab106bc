/** The media-port accounting on its own (no worker processes, no WebRTC). */
import { describe, expect, it } from 'vitest';
import {
  MEDIA_PORTS_PER_PARTICIPANT,
  MediaCapacityError,
  PortPool,
  assertPortRangeFits,
  workerPortSlice,
} from '../../src/sfu/port-pool.js';
import { workerPortRange } from '../../src/sfu/worker/pc-config.js';

const per = MEDIA_PORTS_PER_PARTICIPANT;

function fill(pool: PortPool, worker: number, meetingId: string, n: number): string[] {
  const ids = Array.from({ length: n }, (_, i) => `${meetingId}-p${i}`);
  for (const id of ids) pool.reserve(worker, meetingId, id);
  return ids;
}

describe('workerPortSlice', () => {
  it('gives the workers disjoint equal slices inside the range, as the workers bind them', () => {
    const range: [number, number] = [40000, 40999];
    for (const workers of [1, 2, 3, 7]) {
      const slices = Array.from({ length: workers }, (_, w) => workerPortSlice(range, workers, w));
      const size = Math.floor(1000 / workers);
      for (const [w, [lo, hi]] of slices.entries()) {
        expect(hi - lo + 1).toBe(size);
        expect(lo).toBeGreaterThanOrEqual(range[0]);
        expect(hi).toBeLessThanOrEqual(range[1]);
        if (w > 0) expect(lo).toBe((slices[w - 1]?.[1] ?? 0) + 1);
        // The worker's own computation (pc-config.ts) is the same.
        const config = { worker: w, workers, announcedAddress: '127.0.0.1', portRange: range };
        expect(workerPortRange({ ...config, loopbackOnly: true, tap: false })).toEqual([lo, hi]);
      }
    }
  });

  it('refuses ranges that leave a worker fewer ports than one participant takes', () => {
    expect(() => assertPortRangeFits([40000, 40002], 2)).toThrow(/fewer than 2 ports/);
    expect(() => assertPortRangeFits([40000, 40001], 2)).toThrow(RangeError);
    expect(() => assertPortRangeFits([40000, 40003], 2)).not.toThrow();
    expect(() => assertPortRangeFits([40000, 40001], 1)).not.toThrow();
  });
});

describe('PortPool', () => {
  it('reserves 2 ports per participant and refuses the one that does not fit, reserving nothing', () => {
    const pool = new PortPool([7]);
    const ids = fill(pool, 0, 'm', Math.floor(7 / per));
    expect(pool.snapshot()).toEqual({
      total: 7,
      used: ids.length * per,
      free: 7 - ids.length * per,
      perParticipant: per,
    });
    expect(pool.hasRoom(0)).toBe(false);

    const before = pool.snapshot();
    let err: unknown;
    try {
      pool.reserve(0, 'm', 'late');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(MediaCapacityError);
    const capacity = err as MediaCapacityError;
    expect(capacity.code).toBe('media_capacity');
    expect(capacity.used).toBe(before.used);
    expect(capacity.total).toBe(7);
    expect(capacity.message).toBe(
      `the server has no free media ports (${before.used} in use of 7): try again later`,
    );
    expect(pool.snapshot()).toEqual(before);
    expect(pool.holds('m', 'late')).toBe(false);
    // A new meeting does not fit either.
    expect(() => pool.reserve(0, 'other', 'x')).toThrow(MediaCapacityError);
    expect(pool.workerOf('other')).toBeUndefined();
  });

  it('one reservation per participant: a second one throws and changes nothing', () => {
    const pool = new PortPool([10]);
    pool.reserve(0, 'm', 'alice');
    expect(() => pool.reserve(0, 'm', 'alice')).toThrow(/holds media ports already/);
    expect(pool.snapshot().used).toBe(per);
    // The same id in another meeting is another participant.
    pool.reserve(0, 'n', 'alice');
    expect(pool.snapshot().used).toBe(2 * per);
  });

  it("keeps a meeting's reservations on one worker", () => {
    const pool = new PortPool([10, 10]);
    pool.reserve(1, 'm', 'alice');
    expect(() => pool.reserve(0, 'm', 'bob')).toThrow(/on worker 1/);
    expect(pool.workerOf('m')).toBe(1);
    expect(pool.usedOf(0)).toBe(0);
  });

  it('release is idempotent and frees exactly that participant', () => {
    const pool = new PortPool([10]);
    fill(pool, 0, 'm', 3);
    expect(pool.release('m', 'm-p1')).toBe(true);
    expect(pool.release('m', 'm-p1')).toBe(false);
    expect(pool.release('m', 'nobody')).toBe(false);
    expect(pool.release('nowhere', 'm-p0')).toBe(false);
    expect(pool.snapshot().used).toBe(2 * per);
    expect(pool.holds('m', 'm-p0')).toBe(true);
    expect(pool.holds('m', 'm-p1')).toBe(false);
  });

  it('retire frees the name at once and the ports when the worker is done', () => {
    const pool = new PortPool([4]);
    fill(pool, 0, 'm', 2);
    const done = pool.retire('m', 'm-p0');
    expect(pool.holds('m', 'm-p0')).toBe(false);
    expect(pool.snapshot().used).toBe(4); // its sockets may still be bound
    expect(() => pool.reserve(0, 'm', 'new')).toThrow(MediaCapacityError);
    done();
    expect(pool.snapshot().used).toBe(per);
    done(); // idempotent
    expect(pool.snapshot().used).toBe(per);
    pool.reserve(0, 'm', 'new');
    expect(pool.snapshot().used).toBe(4);
    // Retiring somebody without a reservation changes nothing.
    pool.retire('m', 'ghost')();
    expect(pool.snapshot().used).toBe(4);
  });

  it('retireMeeting gives back every participant of the meeting, and only of it', () => {
    const pool = new PortPool([20]);
    fill(pool, 0, 'a', 3);
    fill(pool, 0, 'b', 2);
    const done = pool.retireMeeting('a');
    expect(pool.workerOf('a')).toBeUndefined();
    expect(pool.snapshot().used).toBe(5 * per);
    done();
    expect(pool.snapshot().used).toBe(2 * per);
    expect(pool.holds('b', 'b-p1')).toBe(true);
    pool.retireMeeting('a')();
    expect(pool.snapshot().used).toBe(2 * per);
    // The meeting may start again, on any worker.
    pool.reserve(0, 'a', 'again');
    expect(pool.snapshot().used).toBe(3 * per);
  });

  it("a worker's death frees its slice, pending retirements included, and nothing else", () => {
    const pool = new PortPool([10, 10]);
    fill(pool, 0, 'x', 2);
    fill(pool, 0, 'y', 1);
    fill(pool, 1, 'z', 3);
    const late = pool.retire('x', 'x-p0');
    expect(pool.releaseWorker(0).sort()).toEqual(['x', 'y']);
    expect(pool.usedOf(0)).toBe(0);
    expect(pool.usedOf(1)).toBe(3 * per);
    late(); // the leave's answer never came; nothing to give back twice
    expect(pool.snapshot().used).toBe(3 * per);
    expect(pool.release('y', 'y-p0')).toBe(false);
    fill(pool, 0, 'x', 5); // the replacement's slice is whole again
    expect(pool.hasRoom(0)).toBe(false);
  });

  it('sums over workers; a full worker says so when others still have room', () => {
    const pool = PortPool.forRange([20000, 20009], 2); // 5 ports each
    expect(pool.status()).toEqual({
      ports: { total: 10, used: 0, free: 10 },
      perParticipant: per,
      participantCapacity: 2 * Math.floor(5 / per),
    });
    fill(pool, 0, 'm', 2);
    expect(pool.freeOf(0)).toBe(1);
    expect(pool.hasRoom(0)).toBe(false);
    let err: unknown;
    try {
      pool.reserve(0, 'm', 'third');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(MediaCapacityError);
    expect((err as MediaCapacityError).workerOnly).toBe(true);
    expect((err as MediaCapacityError).message).toMatch(
      /for this meeting \(4 in use of 5 on its media worker\)/,
    );
    fill(pool, 1, 'n', 2);
    expect(pool.status().ports).toEqual({ total: 10, used: 8, free: 2 });
    expect(pool.capacityError().message).toBe(
      'the server has no free media ports (8 in use of 10): try again later',
    );
    pool.clear();
    expect(pool.snapshot()).toEqual({ total: 10, used: 0, free: 10, perParticipant: per });
  });
});
