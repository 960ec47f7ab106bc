/**
 * An estimate of one subscriber's downlink from what it tells us (pure: the caller passes the
 * clock). Loss-based, like the loss controller of Google Congestion Control
 * (draft-ietf-rmcat-gcc-02 §6): on each RTCP receiver report,
 * - loss under 2 %: grow by 8 % per second (not while the round trip is well above its recent
 *   minimum: a queue is building);
 * - 2–10 %: hold;
 * - over 10 %: cut by (1 − 0.5 · loss), and to no more than what got through (the forwarded
 *   rate times 1 − loss: GCC's acknowledged-rate bound, so a narrow link is found in one
 *   report rather than a cut of 15 % a second), at most once per DECREASE_INTERVAL_MS + RTT.
 * - after a cut from a level it held, no loss: grow by 50 % per second back to 85 % of that
 *   level, then as above (fast recovery: libwebrtc probes there after a large drop; we send no
 *   probes, and a short burst of loss, a CPU stall on either side, must not cost half a minute
 *   of low video). A cut during that recovery means the drop was real: recovery is slow then.
 * It starts from the rate actually forwarded when the first report arrives (at least
 * START_BPS), stays within FLOOR_BPS..CEILING_BPS, and never grows beyond what is forwarded by
 * more than a factor and a headroom (the SFU does not probe: without traffic there is no
 * evidence, so an up-switch is one step of about a layer at a time).
 */

export const FLOOR_BPS = 100_000;
export const CEILING_BPS = 50_000_000;
/** The first estimate is at least this (a subscriber's first report may come before video flows). */
export const START_BPS = 1_000_000;
const GROW_PER_SECOND = 1.08;
const LOW_LOSS = 0.02;
const HIGH_LOSS = 0.1;
const DECREASE_INTERVAL_MS = 300;
/** Growth stops at this factor of the forwarded rate, plus HEADROOM_BPS. */
const SENT_FACTOR = 2;
const HEADROOM_BPS = 300_000;
/** A round trip this much above the recent minimum (factor, plus a constant) holds growth. */
const RTT_RISE_FACTOR = 1.5;
const RTT_RISE_MS = 30;
/** The minimum round trip is taken over the reports of this long. */
const RTT_WINDOW_MS = 30_000;
/** Round-trip samples kept (bounded; older ones go first). */
const RTT_SAMPLES = 32;
/** Fast recovery: growth per second, up to this share of the level held before the cut. */
const RECOVER_PER_SECOND = 1.5;
const RECOVER_SHARE = 0.85;
/** Time constant of the forwarded-rate smoothing. */
const SENT_TAU_MS = 1000;
/** A report more than this after the previous one counts as this long (no jump after a gap). */
const MAX_STEP_MS = 2000;

export class DownlinkEstimator {
  private estimate: number | null = null;
  private sentRate = 0;
  private lastBytes: number | undefined;
  private lastSampleAt: number | undefined;
  private lastReportAt: number | undefined;
  private lastDecreaseAt = -Infinity;
  private readonly rtts: Array<{ at: number; ms: number }> = [];
  private lastRtt: number | null = null;
  /** The level held before the last cut (0: none to recover to). */
  private recoverTo = 0;
  /** Fast recovery has grown the estimate since the last cut. */
  private recovering = false;

  /** The estimate in bits per second; null until the first receiver report. */
  get bps(): number | null {
    return this.estimate;
  }

  /** The smoothed rate of what was forwarded, bits per second. */
  get sentBps(): number {
    return this.sentRate;
  }

  /** Samples the bytes forwarded to the subscriber so far (cumulative, any counter start). */
  sample(totalBytes: number, now: number): void {
    if (this.lastBytes !== undefined && this.lastSampleAt !== undefined && now > this.lastSampleAt) {
      const dt = now - this.lastSampleAt;
      const rate = (Math.max(0, totalBytes - this.lastBytes) * 8 * 1000) / dt;
      this.sentRate += (1 - Math.exp(-dt / SENT_TAU_MS)) * (rate - this.sentRate);
    }
    this.lastBytes = totalBytes;
    this.lastSampleAt = now;
  }

  /** A receiver report: the loss fraction it gives (0..1) and the round trip (ms, null: unknown). */
  report(lossFraction: number, rttMs: number | null, now: number): void {
    const loss = Math.min(1, Math.max(0, Number.isFinite(lossFraction) ? lossFraction : 0));
    const rtt = rttMs !== null && Number.isFinite(rttMs) && rttMs >= 0 ? rttMs : null;
    if (rtt !== null) this.addRtt(rtt, now);
    const previousAt = this.lastReportAt;
    this.lastReportAt = now;
    if (this.estimate === null) {
      this.estimate = clamp(Math.max(this.sentRate, START_BPS), FLOOR_BPS, CEILING_BPS);
      return;
    }
    const dt = Math.min(MAX_STEP_MS, Math.max(0, now - (previousAt ?? now)));
    if (loss > HIGH_LOSS) {
      if (now - this.lastDecreaseAt >= DECREASE_INTERVAL_MS + (this.lastRtt ?? 0)) {
        const delivered = this.sentRate > 0 ? this.sentRate * (1 - loss) : Number.POSITIVE_INFINITY;
        const before = this.estimate;
        this.estimate = Math.max(FLOOR_BPS, Math.min(this.estimate * (1 - 0.5 * loss), delivered));
        this.lastDecreaseAt = now;
        // The first cut of a loss episode remembers the level; a cut while recovering to it
        // says the link really is narrower now.
        this.recoverTo = this.recovering ? 0 : Math.max(this.recoverTo, before);
        this.recovering = false;
      }
      return;
    }
    if (loss >= LOW_LOSS || this.rttRising()) return;
    const cap = Math.min(CEILING_BPS, this.sentRate * SENT_FACTOR + HEADROOM_BPS);
    const target = this.recoverTo * RECOVER_SHARE;
    let grown: number;
    if (this.estimate < target) {
      grown = Math.min(target, this.estimate * RECOVER_PER_SECOND ** (dt / 1000));
      this.recovering = true;
    } else {
      grown = this.estimate * GROW_PER_SECOND ** (dt / 1000);
      [this.recoverTo, this.recovering] = [0, false];
    }
    // Growth stops at the cap; an estimate already above it (the forwarded rate fell) stays.
    if (grown > this.estimate) this.estimate = Math.max(this.estimate, Math.min(grown, cap));
  }

  private addRtt(ms: number, now: number): void {
    this.lastRtt = ms;
    this.rtts.push({ at: now, ms });
    while (this.rtts.length > RTT_SAMPLES || (this.rtts[0] && now - this.rtts[0].at > RTT_WINDOW_MS))
      this.rtts.shift();
  }

  private rttRising(): boolean {
    if (this.lastRtt === null || this.rtts.length < 2) return false;
    let min = Infinity;
    for (const r of this.rtts) min = Math.min(min, r.ms);
    return this.lastRtt > min * RTT_RISE_FACTOR + RTT_RISE_MS;
  }
}

function clamp(x: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, x));
}
