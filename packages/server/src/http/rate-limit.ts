/**
 * In-memory token buckets keyed by client (IP address or IPv6 /64). Each key starts with
 * `capacity` tokens, one request takes one, and tokens come back at `refillPerSecond`. Memory is
 * bounded: a bucket that has refilled completely is the same as no bucket and is dropped when
 * buckets are swept, and at most `maxKeys` buckets are kept (the oldest go first).
 *
 * In memory by design: a restart forgets the buckets, which for a creation limit only means a
 * fresh burst; state shared between nodes is not worth a database write per request here.
 */
export interface TokenBucketOptions {
  capacity: number;
  refillPerSecond: number;
  maxKeys?: number;
  /** Clock in milliseconds (tests inject one). */
  now?: () => number;
}

export type TakeResult = { ok: true } | { ok: false; retryAfterSeconds: number };

interface Bucket {
  tokens: number;
  updatedAt: number;
}

export class TokenBucketLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly maxKeys: number;
  private readonly now: () => number;
  private lastSweep: number;

  constructor(private readonly options: TokenBucketOptions) {
    if (!(options.capacity >= 1) || !(options.refillPerSecond > 0)) {
      throw new RangeError('a token bucket needs capacity >= 1 and refillPerSecond > 0');
    }
    this.maxKeys = options.maxKeys ?? 100_000;
    this.now = options.now ?? Date.now;
    this.lastSweep = this.now();
  }

  take(key: string): TakeResult {
    const now = this.now();
    this.sweep(now);
    const bucket = this.buckets.get(key) ?? { tokens: this.options.capacity, updatedAt: now };
    const elapsed = Math.max(0, now - bucket.updatedAt) / 1000;
    bucket.tokens = Math.min(this.options.capacity, bucket.tokens + elapsed * this.options.refillPerSecond);
    bucket.updatedAt = now;
    // Re-insert so the map's order is least recently used first.
    this.buckets.delete(key);
    this.buckets.set(key, bucket);
    if (this.buckets.size > this.maxKeys) {
      const oldest = this.buckets.keys().next();
      if (!oldest.done) this.buckets.delete(oldest.value);
    }
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return { ok: true };
    }
    return { ok: false, retryAfterSeconds: Math.ceil((1 - bucket.tokens) / this.options.refillPerSecond) };
  }

  /** Number of keys currently tracked (tests). */
  get size(): number {
    return this.buckets.size;
  }

  /** At most once a minute, drops buckets that would be full by now. */
  private sweep(now: number): void {
    if (now - this.lastSweep < 60_000) return;
    this.lastSweep = now;
    const fullAfterMs = (this.options.capacity / this.options.refillPerSecond) * 1000;
    for (const [key, bucket] of this.buckets) {
      if (now - bucket.updatedAt >= fullAfterMs) this.buckets.delete(key);
    }
  }
}

/**
 * Meeting creation per client: a burst of 20, then one every 10 seconds (360 an hour). Enough
 * for a person or a small team behind one NAT; a script creating meetings in bulk is slowed to
 * a crawl. Load tests can pass their own limit to `startConclave`.
 */
export const DEFAULT_CREATE_MEETING_LIMIT: TokenBucketOptions = { capacity: 20, refillPerSecond: 0.1 };
