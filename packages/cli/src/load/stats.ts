import { cpus, loadavg } from 'node:os';

/** Latency figures of one kind of event (joins, rekeys): how many, and their spread. */
export interface Summary {
  count: number;
  p50Ms: number | null;
  p95Ms: number | null;
  maxMs: number | null;
}

/**
 * The `p`-th percentile (0 < p ≤ 100) by the nearest-rank method: the smallest value with at
 * least p % of the values at or below it, so every figure printed is one that was measured
 * (the p95 of 20 joins is the 19th fastest). Undefined for no values.
 */
export function percentile(values: readonly number[], p: number): number | undefined {
  if (!(p > 0 && p <= 100)) throw new RangeError(`percentile must be in (0, 100], not ${p}`);
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

export function summarize(values: readonly number[]): Summary {
  return {
    count: values.length,
    p50Ms: percentile(values, 50) ?? null,
    p95Ms: percentile(values, 95) ?? null,
    maxMs: values.length ? Math.max(...values) : null,
  };
}

/** A process's CPU time (µs, user + system) and memory at one instant. */
export interface CpuSample {
  /** Milliseconds on a clock shared by the processes of one machine (`wallClockMs`). */
  at: number;
  cpuMicros: number;
  rssBytes: number;
}

/**
 * CPU use between two samples of the same process, in percent of one core (200 % = two cores
 * busy). Null when no time passed or the counter went backwards (another process: a restarted
 * SFU worker).
 */
export function cpuPercent(from: CpuSample, to: CpuSample): number | null {
  const wallMs = to.at - from.at;
  const cpuMs = (to.cpuMicros - from.cpuMicros) / 1000;
  if (wallMs <= 0 || cpuMs < 0) return null;
  return (100 * cpuMs) / wallMs;
}

/**
 * Milliseconds since the Unix epoch with sub-millisecond resolution, comparable between the
 * processes of one machine (each process's `performance.timeOrigin` is on the wall clock): a
 * leave timed in one bot process and the rekeys seen in the others.
 */
export function wallClockMs(): number {
  return performance.timeOrigin + performance.now();
}

/** The whole machine's CPU time so far (every process, ours and others'), and its load average. */
export interface MachineSample {
  at: number;
  busyMs: number;
  load1: number;
}

export function machineSample(): MachineSample {
  let busy = 0;
  for (const c of cpus()) busy += c.times.user + c.times.nice + c.times.sys + c.times.irq;
  return { at: wallClockMs(), busyMs: busy, load1: loadavg()[0] ?? 0 };
}

/** The machine's CPU use between two samples, in % of one core (like `cpuPercent`). */
export function machinePercent(from: MachineSample, to: MachineSample): number | null {
  const wallMs = to.at - from.at;
  if (wallMs <= 0 || to.busyMs < from.busyMs) return null;
  return (100 * (to.busyMs - from.busyMs)) / wallMs;
}
