import { networkKeyForIp } from '../meeting-store/client-key.js';

/** Per-client limits of the signaling hub (settings in config.ts; defaults there). */
export interface ConnectionLimitSettings {
  maxSocketsPerAddress: number;
  maxSocketsPerNetwork: number;
  joinsPerMinutePerAddress: number;
  joinsPerMinutePerNetwork: number;
}

export const DEFAULT_CONNECTION_LIMITS: ConnectionLimitSettings = {
  maxSocketsPerAddress: 64,
  maxSocketsPerNetwork: 256,
  joinsPerMinutePerAddress: 60,
  joinsPerMinutePerNetwork: 240,
};

interface Bucket {
  tokens: number;
  at: number;
}

/**
 * Counts what each address and each network (IPv4 /24, IPv6 /64) holds of the hub: open
 * sockets, and join attempts in a token bucket refilled per minute (bursts up to one minute's
 * worth). Every map entry belongs to an open socket or a bucket that is not yet full again, so
 * memory follows the load and is swept once a minute.
 */
export class ConnectionLimits {
  private readonly sockets = new Map<string, number>();
  private readonly buckets = new Map<string, Bucket>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(
    private readonly settings: ConnectionLimitSettings,
    private readonly now: () => number = Date.now,
  ) {
    this.sweeper = setInterval(() => this.sweep(), 60_000);
    this.sweeper.unref();
  }

  /**
   * Takes a socket slot for `ip`; returns a release function, or a refusal naming the limit.
   * A socket refused here holds nothing.
   */
  openSocket(ip: string): { ok: true; release: () => void } | { ok: false; message: string } {
    const keys = [`a:${ip}`, `n:${networkKeyForIp(ip)}`] as const;
    if ((this.sockets.get(keys[0]) ?? 0) >= this.settings.maxSocketsPerAddress)
      return {
        ok: false,
        message: `too many open connections from your address (at most ${this.settings.maxSocketsPerAddress})`,
      };
    if ((this.sockets.get(keys[1]) ?? 0) >= this.settings.maxSocketsPerNetwork)
      return {
        ok: false,
        message: `too many open connections from your network (at most ${this.settings.maxSocketsPerNetwork})`,
      };
    for (const k of keys) this.sockets.set(k, (this.sockets.get(k) ?? 0) + 1);
    let released = false;
    return {
      ok: true,
      release: () => {
        if (released) return;
        released = true;
        for (const k of keys) {
          const n = (this.sockets.get(k) ?? 1) - 1;
          if (n <= 0) this.sockets.delete(k);
          else this.sockets.set(k, n);
        }
      },
    };
  }

  /** Spends one join attempt of `ip` and of its network; undefined when allowed, else why not. */
  takeJoin(ip: string): string | undefined {
    const a = this.bucket(`a:${ip}`, this.settings.joinsPerMinutePerAddress);
    const n = this.bucket(`n:${networkKeyForIp(ip)}`, this.settings.joinsPerMinutePerNetwork);
    if (a.tokens < 1) return 'too many join attempts from your address: wait a minute and try again';
    if (n.tokens < 1) return 'too many join attempts from your network: wait a minute and try again';
    a.tokens -= 1;
    n.tokens -= 1;
    return undefined;
  }

  close(): void {
    clearInterval(this.sweeper);
  }

  private bucket(key: string, perMinute: number): Bucket {
    const now = this.now();
    const b = this.buckets.get(key) ?? { tokens: perMinute, at: now };
    b.tokens = Math.min(perMinute, b.tokens + ((now - b.at) / 60_000) * perMinute);
    b.at = now;
    this.buckets.set(key, b);
    return b;
  }

  private sweep(): void {
    const now = this.now();
    for (const [key, b] of this.buckets) {
      const perMinute = key.startsWith('a:')
        ? this.settings.joinsPerMinutePerAddress
        : this.settings.joinsPerMinutePerNetwork;
      if (b.tokens + ((now - b.at) / 60_000) * perMinute >= perMinute) this.buckets.delete(key);
    }
  }
}
