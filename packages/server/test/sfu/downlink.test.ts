import { describe, expect, it } from 'vitest';
import { CEILING_BPS, DownlinkEstimator, FLOOR_BPS, START_BPS } from '../../src/sfu/worker/downlink.js';

/**
 * A subscriber receiving `bps` for `seconds`, sampled every 200 ms, with a receiver report
 * every second carrying `loss` and `rtt`.
 */
function drive(
  e: DownlinkEstimator,
  clock: { now: number; bytes: number },
  seconds: number,
  bps: number,
  loss: number,
  rtt: number | null = 20,
): void {
  for (let i = 0; i < seconds * 5; i++) {
    clock.now += 200;
    clock.bytes += (bps / 8) * 0.2;
    e.sample(clock.bytes, clock.now);
    if (i % 5 === 4) e.report(loss, rtt, clock.now);
  }
}

describe('downlink estimate', () => {
  it('has none before the first receiver report, then starts from the forwarded rate', () => {
    const e = new DownlinkEstimator();
    const clock = { now: 0, bytes: 0 };
    for (let i = 0; i < 25; i++) {
      clock.now += 200;
      clock.bytes += (2_500_000 / 8) * 0.2;
      e.sample(clock.bytes, clock.now);
    }
    expect(e.bps).toBeNull();
    expect(e.sentBps).toBeGreaterThan(2_400_000);
    e.report(0, 20, clock.now);
    expect(e.bps).toBeCloseTo(e.sentBps, -3);
    // Little forwarded yet (audio only): at least START_BPS.
    const quiet = new DownlinkEstimator();
    quiet.sample(0, 0);
    quiet.sample(1000, 1000);
    quiet.report(0, 20, 1000);
    expect(quiet.bps).toBe(START_BPS);
  });

  it('grows about 8 % a second under 2 % loss, up to what is forwarded times 2 plus headroom', () => {
    const e = new DownlinkEstimator();
    const clock = { now: 0, bytes: 0 };
    drive(e, clock, 5, 1_500_000, 0);
    const start = e.bps!;
    drive(e, clock, 5, 1_500_000, 0.01);
    expect(e.bps! / start).toBeGreaterThan(1.08 ** 4.5);
    expect(e.bps! / start).toBeLessThan(1.08 ** 5.5);
    // Growth stops at the cap: 2 × 1.5 Mbit/s + 300 kbit/s.
    drive(e, clock, 60, 1_500_000, 0);
    expect(e.bps).toBeGreaterThan(3_200_000);
    expect(e.bps).toBeLessThanOrEqual(3_300_000);
  });

  it('holds between 2 % and 10 % loss', () => {
    const e = new DownlinkEstimator();
    const clock = { now: 0, bytes: 0 };
    drive(e, clock, 3, 1_500_000, 0);
    const held = e.bps;
    drive(e, clock, 10, 1_500_000, 0.05);
    expect(e.bps).toBe(held);
  });

  it('cuts by (1 − 0.5 · loss) above 10 %, down to the floor', () => {
    const e = new DownlinkEstimator();
    const clock = { now: 0, bytes: 0 };
    drive(e, clock, 3, 2_000_000, 0);
    const before = e.bps!;
    drive(e, clock, 1, 2_000_000, 0.3);
    expect(e.bps).toBeCloseTo(before * 0.85, 0);
    drive(e, clock, 60, 2_000_000, 0.5);
    expect(e.bps).toBe(FLOOR_BPS);
  });

  it('cuts to no more than what got through (the forwarded rate times 1 − loss)', () => {
    const e = new DownlinkEstimator();
    const clock = { now: 0, bytes: 0 };
    drive(e, clock, 20, 600_000, 0); // the estimate grew well above the 600 kbit/s forwarded
    expect(e.bps).toBeGreaterThan(1_000_000);
    drive(e, clock, 1, 600_000, 0.3); // a 420 kbit/s link
    expect(e.bps).toBeGreaterThan(400_000);
    expect(e.bps).toBeLessThanOrEqual(420_000);
  });

  it('cuts at most once per 300 ms plus the round trip', () => {
    const e = new DownlinkEstimator();
    e.sample(0, 0);
    e.report(0, 400, 0); // nothing forwarded yet: the start value
    expect(e.bps).toBe(START_BPS);
    // 5 Mbit/s flows from now on: what gets through stays above every cut below.
    let bytes = 0;
    for (let t = 100; t <= 1000; t += 100) e.sample((bytes += 62_500), t);
    e.report(0.2, 400, 1100);
    expect(e.bps).toBeCloseTo(START_BPS * 0.9, 0);
    // Reports 200 ms apart: the next cut only 700 ms (300 + RTT 400) after the last one.
    e.report(0.2, 400, 1300);
    e.report(0.2, 400, 1500);
    expect(e.bps).toBeCloseTo(START_BPS * 0.9, 0);
    e.report(0.2, 400, 1800);
    expect(e.bps).toBeCloseTo(START_BPS * 0.81, 0);
  });

  it('after a burst of loss grows back fast to 85 % of the level it held; a cut while doing so makes it slow', () => {
    /** Forwarded: what the estimate allows (the layer policy follows it), up to 2 Mbit/s. */
    const follow = (e: DownlinkEstimator, clock: { now: number; bytes: number }, seconds: number): void => {
      for (let i = 0; i < seconds; i++) drive(e, clock, 1, Math.min(2_000_000, e.bps ?? 2_000_000), 0);
    };
    const e = new DownlinkEstimator();
    const clock = { now: 0, bytes: 0 };
    drive(e, clock, 20, 2_000_000, 0);
    const held = e.bps!;
    expect(held).toBeGreaterThan(2_000_000);
    drive(e, clock, 4, 300_000, 0.5); // a CPU stall: half the packets lost for a few seconds
    expect(e.bps).toBeLessThan(300_000);
    follow(e, clock, 8);
    // Slow growth (8 %/s) would be at 1.08^8 ≈ 1.9× of under 300 kbit/s.
    expect(e.bps!).toBeGreaterThan(held * 0.85 * 0.99);
    expect(e.bps!).toBeLessThan(held);

    const narrow = new DownlinkEstimator();
    const c2 = { now: 0, bytes: 0 };
    drive(narrow, c2, 20, 2_000_000, 0);
    drive(narrow, c2, 4, 300_000, 0.5);
    follow(narrow, c2, 2); // recovering fast...
    const recovering = narrow.bps!;
    drive(narrow, c2, 1, Math.min(2_000_000, recovering), 0.3); // ...into loss again: the link is narrower
    const cut = narrow.bps!;
    expect(cut).toBeLessThan(recovering);
    follow(narrow, c2, 4);
    expect(narrow.bps!).toBeLessThan(cut * 1.08 ** 4.5);
  });

  it('does not grow while the round trip is well above its recent minimum', () => {
    const e = new DownlinkEstimator();
    const clock = { now: 0, bytes: 0 };
    drive(e, clock, 3, 1_000_000, 0, 40);
    const held = e.bps!;
    drive(e, clock, 5, 1_000_000, 0, 200); // a queue builds: no loss yet, but no growth either
    expect(e.bps).toBe(held);
    drive(e, clock, 5, 1_000_000, 0, 45); // the queue drained
    expect(e.bps!).toBeGreaterThan(held * 1.3);
  });

  it('ignores junk figures and stays within its bounds', () => {
    const e = new DownlinkEstimator();
    e.sample(0, 0);
    e.sample(10 ** 12, 1); // an absurd rate
    e.report(Number.NaN, -5, 1);
    expect(e.bps).toBe(CEILING_BPS);
    e.report(7, Number.POSITIVE_INFINITY, 2000); // loss clamped to 1: nothing got through
    expect(e.bps).toBe(FLOOR_BPS);
  });
});
