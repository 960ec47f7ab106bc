import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { OfferScheduler, RETRY_FIRST_MS, RETRY_MAX_MS } from '../../src/sfu/worker/offer-scheduler.js';

/** A scheduler whose `make` answers with what the test queues (true: sent, false: nothing, Error: fails). */
function setup(results: (boolean | Error)[]) {
  const errors: number[] = [];
  let calls = 0;
  const scheduler = new OfferScheduler(
    async () => {
      calls++;
      const r = results.shift() ?? true;
      if (r instanceof Error) throw r;
      return r;
    },
    (_err, retryInMs) => errors.push(retryInMs),
  );
  return { scheduler, errors, calls: () => calls };
}

describe('OfferScheduler', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('makes one offer for the changes of one turn, and none while it waits for the answer', async () => {
    const { scheduler, calls } = setup([]);
    scheduler.request();
    scheduler.request();
    await vi.advanceTimersByTimeAsync(0);
    expect(calls()).toBe(1);
    expect(scheduler.pending).toBe(true);
    scheduler.request();
    await vi.advanceTimersByTimeAsync(1000);
    expect(calls()).toBe(1);
    scheduler.answered();
    await vi.advanceTimersByTimeAsync(0);
    expect(calls()).toBe(2);
    // No change since: the answer to the second offer starts nothing.
    scheduler.answered();
    await vi.advanceTimersByTimeAsync(1000);
    expect(calls()).toBe(2);
  });

  it('retries a failed offer with a doubling delay, and starts over after a success', async () => {
    const fail = new Error('no offer');
    const { scheduler, errors, calls } = setup([fail, fail, fail, true, fail]);
    scheduler.request();
    await vi.advanceTimersByTimeAsync(0);
    expect(calls()).toBe(1);
    expect(errors).toEqual([RETRY_FIRST_MS]);
    // A change while waiting to retry does not jump the delay.
    scheduler.request();
    await vi.advanceTimersByTimeAsync(RETRY_FIRST_MS - 1);
    expect(calls()).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(calls()).toBe(2);
    expect(errors).toEqual([RETRY_FIRST_MS, 2 * RETRY_FIRST_MS]);
    await vi.advanceTimersByTimeAsync(2 * RETRY_FIRST_MS);
    expect(calls()).toBe(3);
    await vi.advanceTimersByTimeAsync(4 * RETRY_FIRST_MS);
    expect(calls()).toBe(4);
    expect(scheduler.pending).toBe(true);
    scheduler.answered();
    scheduler.request();
    await vi.advanceTimersByTimeAsync(0);
    expect(calls()).toBe(5);
    expect(errors).toEqual([RETRY_FIRST_MS, 2 * RETRY_FIRST_MS, 4 * RETRY_FIRST_MS, RETRY_FIRST_MS]);
  });

  it('caps the retry delay', async () => {
    const fail = new Error('no offer');
    const { scheduler, errors } = setup(Array.from({ length: 12 }, () => fail));
    scheduler.request();
    await vi.advanceTimersByTimeAsync(12 * RETRY_MAX_MS);
    expect(errors.length).toBe(12);
    expect(Math.max(...errors)).toBe(RETRY_MAX_MS);
  });

  it('when there was nothing to offer, the next change offers at once', async () => {
    const { scheduler, calls } = setup([false, true]);
    scheduler.request();
    await vi.advanceTimersByTimeAsync(0);
    expect(scheduler.pending).toBe(false);
    scheduler.request();
    await vi.advanceTimersByTimeAsync(0);
    expect(calls()).toBe(2);
    expect(scheduler.pending).toBe(true);
  });

  it('a change while the offer is being made goes into the next offer', async () => {
    let release: (() => void) | undefined;
    let calls = 0;
    const scheduler = new OfferScheduler(
      () => {
        calls++;
        return new Promise<boolean>((r) => (release = () => r(true)));
      },
      () => undefined,
    );
    scheduler.request();
    await vi.advanceTimersByTimeAsync(0);
    scheduler.request();
    release?.();
    await vi.advanceTimersByTimeAsync(0);
    expect(calls).toBe(1);
    scheduler.answered();
    await vi.advanceTimersByTimeAsync(0);
    expect(calls).toBe(2);
  });

  it('close stops a pending retry', async () => {
    const { scheduler, calls } = setup([new Error('no offer')]);
    scheduler.request();
    await vi.advanceTimersByTimeAsync(0);
    scheduler.close();
    await vi.advanceTimersByTimeAsync(RETRY_MAX_MS);
    expect(calls()).toBe(1);
  });
});
