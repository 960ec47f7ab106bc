/**
 * The Sfu facade's port accounting with real worker processes but no media: joins and leaves
 * create and close werift connections without gathering, so no port is bound here (the
 * WebRTC side is media-capacity.browser.test.ts).
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  MEDIA_PORTS_PER_PARTICIPANT,
  MediaCapacityError,
  Sfu,
  type SfuOptions,
} from '../../src/sfu/index.js';
import { sleep, until } from './harness.js';

const per = MEDIA_PORTS_PER_PARTICIPANT;
const quiet = {
  info: () => undefined,
  debug: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};
const opts = (ports: number, workers = 1): SfuOptions => ({
  workers,
  announcedAddress: '127.0.0.1',
  portRange: [20100, 20100 + ports - 1],
  loopbackOnly: true,
  logger: quiet,
});

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

describe('Sfu media-port accounting', () => {
  let sfu: Sfu | undefined;
  afterEach(async () => {
    await sfu?.close();
    sfu = undefined;
  });

  it('refuses a port range with fewer than 2 ports per worker', async () => {
    await expect(Sfu.start(opts(3, 2))).rejects.toThrow(/fewer than 2 ports/);
  });

  it('fills a worker, refuses the next join with media_capacity, and takes joins again after leaves', async () => {
    const s = (sfu = await Sfu.start(opts(7)));
    const capacity = Math.floor(7 / per);
    expect(s.portPool()).toEqual({ total: 7, used: 0, free: 7, perParticipant: per });
    for (let i = 0; i < capacity; i++) await s.join('m', `p${i}`);
    expect(s.portPool().used).toBe(capacity * per);

    const full = s.portPool();
    const err = await rejection(s.join('m', 'late'));
    expect(err).toBeInstanceOf(MediaCapacityError);
    expect((err as MediaCapacityError).code).toBe('media_capacity');
    expect((err as Error).message).toContain(`${full.used} in use of ${full.total}`);
    // Nothing reserved, nothing joined: the participant is unknown to the SFU.
    expect(s.portPool()).toEqual(full);
    await expect(
      s.call('setReceiving', { meetingId: 'm', participantId: 'late', allowed: true }),
    ).rejects.toThrow(/not in meeting/);
    // Another meeting has no room either, and leaves no trace.
    await expect(s.join('other', 'x')).rejects.toBeInstanceOf(MediaCapacityError);
    expect(s.workerOf('other')).toBeUndefined();

    await s.leave('m', 'p0');
    expect(s.portPool().used).toBe((capacity - 1) * per);
    await s.leave('m', 'p0'); // twice: nothing more
    expect(s.portPool().used).toBe((capacity - 1) * per);
    await s.join('m', 'late');
    expect(s.portPool().used).toBe(capacity * per);
    await s.call('setReceiving', { meetingId: 'm', participantId: 'late', allowed: true });

    await s.closeMeeting('m');
    expect(s.portPool()).toEqual({ total: 7, used: 0, free: 7, perParticipant: per });
    expect(s.mediaStatus()).toEqual({
      ports: { total: 7, used: 0, free: 7 },
      perParticipant: per,
      participantCapacity: capacity,
    });
  });

  it('counts a leaving participant until its worker has closed it; it may join again meanwhile if there is room', async () => {
    const s = (sfu = await Sfu.start(opts(6)));
    await s.join('m', 'a');
    await s.join('m', 'b');
    const leaving = s.leave('m', 'a');
    expect(s.portPool().used).toBe(2 * per); // the worker has not answered yet
    await s.join('m', 'a'); // the third slot
    await leaving;
    expect(s.portPool().used).toBe(2 * per);
  });

  it('concurrent joins never reserve more than the slice', async () => {
    const s = (sfu = await Sfu.start(opts(10)));
    const results = await Promise.allSettled(Array.from({ length: 9 }, (_, i) => s.join('m', `p${i}`)));
    const ok = results.filter((r) => r.status === 'fulfilled').length;
    const refused = results.filter((r) => r.status === 'rejected' && r.reason instanceof MediaCapacityError);
    expect(ok).toBe(Math.floor(10 / per));
    expect(refused).toHaveLength(9 - ok);
    expect(s.portPool().used).toBe(ok * per);
  });

  it('places a new meeting on the least-loaded worker that has room', async () => {
    const s = (sfu = await Sfu.start(opts(12, 2))); // 6 ports, 3 participants per worker
    await s.join('big', 'a');
    await s.join('big', 'b');
    await s.join('big', 'c');
    const bigWorker = s.workerOf('big')?.worker;
    await s.join('small', 'x');
    const smallWorker = s.workerOf('small')?.worker;
    expect(smallWorker).not.toBe(bigWorker);
    // 'big' is full on its worker: its next participant is refused although the other has room.
    const err = await rejection(s.join('big', 'd'));
    expect(err).toBeInstanceOf(MediaCapacityError);
    expect((err as Error).message).toMatch(/for this meeting \(6 in use of 6 on its media worker\)/);
    // New meetings go where the room is, even when it is not the emptier worker any more.
    await s.join('small', 'y');
    await s.join('third', 'z');
    expect(s.workerOf('third')?.worker).toBe(smallWorker);
    await expect(s.join('fourth', 'w')).rejects.toThrow(/no free media ports \(12 in use of 12\)/);
    expect(s.portPool()).toMatchObject({ total: 12, used: 12, free: 0 });
  });

  it("frees a dead worker's ports, and the replacement takes joins", async () => {
    const s = (sfu = await Sfu.start(opts(4)));
    await s.join('doomed', 'a');
    await s.join('doomed', 'b');
    await expect(s.join('doomed', 'c')).rejects.toBeInstanceOf(MediaCapacityError);
    const victim = s.workerOf('doomed');
    if (!victim) throw new Error('no worker');
    const exits: string[][] = [];
    s.on('workerExit', (ids) => exits.push(ids));
    process.kill(victim.pid, 'SIGKILL');
    await until(() => exits.length === 1, 'workerExit');
    expect(s.portPool().used).toBe(0);
    await until(() => s.portPool().used === 0, 'free ports');
    // The replacement comes up after a short backoff; joins go to it.
    let joined = false;
    for (let i = 0; i < 50 && !joined; i++) {
      joined = await s.join('after', 'a').then(
        () => true,
        async (err: unknown) => {
          if (err instanceof MediaCapacityError) throw err;
          await sleep(100);
          return false;
        },
      );
    }
    expect(joined).toBe(true);
    expect(s.portPool().used).toBe(per);
  });

  it('a join while every worker is dead waits for the replacement (a room joining its participants again)', async () => {
    const s = (sfu = await Sfu.start(opts(4)));
    await s.join('doomed', 'a');
    const victim = s.workerOf('doomed');
    if (!victim) throw new Error('no worker');
    const exits: string[][] = [];
    s.on('workerExit', (ids) => exits.push(ids));
    process.kill(victim.pid, 'SIGKILL');
    await until(() => exits.length === 1, 'workerExit');
    expect(s.workerOf('doomed')).toBeUndefined();
    // At once, before the replacement is spawned: the same participants join again.
    await Promise.all([s.join('doomed', 'a'), s.join('doomed', 'b')]);
    const now = s.workerOf('doomed');
    expect(now?.pid).toBeGreaterThan(0);
    expect(now?.pid).not.toBe(victim.pid);
    expect(s.portPool().used).toBe(2 * per);
    await s.call('setReceiving', { meetingId: 'doomed', participantId: 'b', allowed: true });
  });

  it('a join waiting for a replacement fails when the SFU closes', async () => {
    const s = (sfu = await Sfu.start(opts(4)));
    await s.join('doomed', 'a');
    const victim = s.workerOf('doomed');
    if (!victim) throw new Error('no worker');
    const exits: string[][] = [];
    s.on('workerExit', (ids) => exits.push(ids));
    process.kill(victim.pid, 'SIGKILL');
    await until(() => exits.length === 1, 'workerExit');
    const waiting = s.join('doomed', 'a');
    await s.close();
    await expect(waiting).rejects.toThrow(/closing/);
  });
});
