/** One pending SMS code. Lives in this process's memory only: never in the database or a log. */
export interface PendingCode {
  /** HMAC of the number (verification/phone-secret.ts), for one code per number. */
  numberHash: string;
  /** HMAC of the code, bound to the verification id. */
  codeHash: string;
  /** Wrong codes tried so far. */
  attempts: number;
  resendAfter: number;
  expiresAt: number;
  /** The network (IPv4 /24, IPv6 /64) that asked for it, for the per-network bound. */
  network: string;
}

export interface PendingCodeLimits {
  /** Codes pending at once on this server. */
  maxPending: number;
  /** Codes pending at once for one network. */
  maxPendingPerNetwork: number;
}

export type AddResult = { ok: true } | { ok: false; scope: 'server' | 'network'; retryAfterMs: number };

/**
 * The pending SMS codes, in memory: keyed by the random verification id, with one code per
 * number (a new one replaces the old). Bounded: at most `maxPending` codes overall and
 * `maxPendingPerNetwork` per network, each gone at its expiry (swept on every add and by the
 * accounts' minute timer). A restart forgets them all: the person asks for a new code.
 *
 * Every method is synchronous, so a code is consumed exactly once even when checks race: the
 * event loop runs one of them to the end before the next.
 */
export class PendingCodes {
  /** Insertion order = expiry order (every code gets the same lifetime), so purging stops early. */
  private readonly byId = new Map<string, PendingCode>();
  private readonly byNumber = new Map<string, string>();
  private readonly perNetwork = new Map<string, number>();

  constructor(
    private readonly limits: PendingCodeLimits,
    private readonly now: () => number,
  ) {}

  get size(): number {
    return this.byId.size;
  }

  /** Forgets every code whose expiry has passed (with its number hash). */
  purgeExpired(): void {
    const now = this.now();
    for (const [id, code] of this.byId) {
      if (code.expiresAt > now) break;
      this.remove(id);
    }
  }

  /** The unexpired code of a number, if any. */
  forNumber(numberHash: string): PendingCode | undefined {
    const id = this.byNumber.get(numberHash);
    const code = id === undefined ? undefined : this.byId.get(id);
    return code && code.expiresAt > this.now() ? code : undefined;
  }

  /** Whether a new code for this number and network fits the bounds (its old code would go). */
  room(numberHash: string, network: string): AddResult {
    this.purgeExpired();
    const replaced = this.byNumber.has(numberHash)
      ? this.byId.get(this.byNumber.get(numberHash)!)
      : undefined;
    const total = this.byId.size - (replaced ? 1 : 0);
    if (total >= this.limits.maxPending) {
      const oldest = this.byId.values().next();
      return {
        ok: false,
        scope: 'server',
        retryAfterMs: this.untilExpiry(oldest.done ? undefined : oldest.value),
      };
    }
    const fromNetwork = (this.perNetwork.get(network) ?? 0) - (replaced?.network === network ? 1 : 0);
    if (fromNetwork >= this.limits.maxPendingPerNetwork) {
      let oldest: PendingCode | undefined;
      for (const code of this.byId.values()) {
        if (code.network === network) {
          oldest = code;
          break;
        }
      }
      return { ok: false, scope: 'network', retryAfterMs: this.untilExpiry(oldest) };
    }
    return { ok: true };
  }

  /** Adds a code, replacing the number's earlier one. Call `room` first. */
  add(id: string, code: PendingCode): void {
    const old = this.byNumber.get(code.numberHash);
    if (old !== undefined) this.remove(old);
    this.byId.set(id, code);
    this.byNumber.set(code.numberHash, id);
    this.perNetwork.set(code.network, (this.perNetwork.get(code.network) ?? 0) + 1);
  }

  /** The code of this id, unexpired; an expired one is removed on the way. */
  get(id: string): PendingCode | undefined {
    const code = this.byId.get(id);
    if (code && code.expiresAt <= this.now()) {
      this.remove(id);
      return undefined;
    }
    return code;
  }

  /** Removes a code; true when this call removed it. */
  remove(id: string): boolean {
    const code = this.byId.get(id);
    if (!code) return false;
    this.byId.delete(id);
    if (this.byNumber.get(code.numberHash) === id) this.byNumber.delete(code.numberHash);
    const n = (this.perNetwork.get(code.network) ?? 1) - 1;
    if (n > 0) this.perNetwork.set(code.network, n);
    else this.perNetwork.delete(code.network);
    return true;
  }

  private untilExpiry(code: PendingCode | undefined): number {
    return code ? Math.max(1000, code.expiresAt - this.now()) : 1000;
  }
}
