import type { VerificationToken } from '@conclave/client';
import { hasCode, humanError, type HumanError } from '../errors.js';
import { testSwitches } from '../test-hooks.js';
import { accountApi } from './api.js';
import { accountStore } from './store.js';

/**
 * The redeem of a phone-check token, later and on the account's connection.
 *
 * The check (sent without cookies) and the redeem (the account's request) must not follow each
 * other closely: the server would see a check and, a moment later, which account got unlocked.
 * So a right code only keeps the finalized token here, in localStorage with the account it is
 * for and the time to redeem it: a delay drawn uniformly from 1 to 15 minutes. The token is
 * redeemed when that time has come and the account is signed in on this browser — in this tab
 * if it stays open, else at the next visit or sign-in (whatever comes first after the time).
 *
 * Why 1 to 15 minutes: long enough that, on a server where others do the check too, the checks
 * of the last quarter of an hour are all candidates for a redeem (the server sees the delay's
 * distribution, not the draw); short enough that a person who waits sees the unlock on the
 * page. On a server with few checks a day the timing still narrows it down (see
 * docs/architecture.md, "What an operator can still infer").
 *
 * The token names no account and no number (a random message with the server's blind
 * signature); the account id stored next to it stays in this browser. The right code already
 * counted against the number's yearly quota, so the token is kept until the redeem succeeds or
 * can never succeed.
 */
const KEY = 'conclave.verificationTokens';
/** The earlier format (one token, no account, no time): redeemed at the next chance. */
const LEGACY_KEY = 'conclave.verificationToken';

export const REDEEM_DELAY_MINUTES = { min: 1, max: 15 } as const;
/** After a failed redeem (network, server), the next try. */
const RETRY_MS = 60_000;

interface Pending {
  token: VerificationToken;
  accountId: string;
  /** ms since the epoch */
  redeemAt: number;
}

/** What the unlock page shows about the token of the account `accountId`. */
export type RedeemState =
  | { kind: 'none' }
  /** Waiting for `redeemAt` (this tab redeems then, if it is still open). */
  | { kind: 'waiting'; accountId: string; redeemAt: number }
  | { kind: 'redeeming'; accountId: string }
  /** The redeem failed; `retryAt`: it is tried again then (undefined: it cannot work). */
  | { kind: 'failed'; accountId: string; error: HumanError; retryAt: number | undefined }
  | { kind: 'done'; accountId: string };

/** A delay in [1, 15] minutes, uniform (crypto randomness), or the test switch's. */
function redeemDelayMs(): number {
  const forced = testSwitches().unlockDelaySeconds;
  if (forced !== undefined) return forced * 1000;
  const u = crypto.getRandomValues(new Uint32Array(1))[0]! / 2 ** 32;
  const { min, max } = REDEEM_DELAY_MINUTES;
  return Math.round((min + u * (max - min)) * 60_000);
}

function isToken(t: unknown): t is VerificationToken {
  const o = t as Partial<VerificationToken> | null;
  return (
    typeof o === 'object' &&
    o !== null &&
    typeof o.message === 'string' &&
    typeof o.signature === 'string' &&
    typeof o.keyId === 'string'
  );
}

function load(): Pending[] {
  try {
    const raw = JSON.parse(localStorage.getItem(KEY) ?? '[]') as unknown;
    if (!Array.isArray(raw)) return [];
    return raw.flatMap((p: Partial<Pending>) =>
      isToken(p.token) && typeof p.accountId === 'string' && typeof p.redeemAt === 'number'
        ? [{ token: p.token, accountId: p.accountId, redeemAt: p.redeemAt }]
        : [],
    );
  } catch {
    return [];
  }
}

function save(all: Pending[]): void {
  try {
    if (all.length === 0) localStorage.removeItem(KEY);
    else localStorage.setItem(KEY, JSON.stringify(all));
  } catch {
    // Private browsing: the token lives in this page only (see `memory`).
  }
}

/** A token of the earlier format, if one is left: it belongs to whoever signs in next. */
function takeLegacy(): VerificationToken | undefined {
  try {
    const raw = localStorage.getItem(LEGACY_KEY);
    if (!raw) return undefined;
    localStorage.removeItem(LEGACY_KEY);
    const t = JSON.parse(raw) as unknown;
    return isToken(t) ? { message: t.message, signature: t.signature, keyId: t.keyId } : undefined;
  } catch {
    return undefined;
  }
}

class PendingRedeems {
  private state: RedeemState = { kind: 'none' };
  private readonly listeners = new Set<() => void>();
  private timer: ReturnType<typeof setTimeout> | undefined;
  private started = false;
  private busy = false;
  /** Where tokens live when localStorage cannot be written. */
  private memory: Pending[] = [];

  get = (): RedeemState => this.state;

  subscribe = (cb: () => void): (() => void) => {
    this.listeners.add(cb);
    return () => this.listeners.delete(cb);
  };

  /** Watches the signed-in account from now on (main.tsx calls it once at start-up). */
  start(): void {
    if (this.started) return;
    this.started = true;
    accountStore.subscribe(() => this.evaluate());
    window.addEventListener('storage', (e) => {
      if (e.key === KEY) this.evaluate();
    });
    if (this.all().length > 0 || localStorage.getItem(LEGACY_KEY) !== null) {
      void accountStore.ensureLoaded().then(() => this.evaluate());
    }
  }

  /** After a right code: keeps the token for `accountId` and redeems it after the delay. */
  keep(token: VerificationToken, accountId: string): void {
    this.put({ token, accountId, redeemAt: Date.now() + redeemDelayMs() });
    this.set({ kind: 'none' });
    this.evaluate();
  }

  /** The failed redeem again, now (the unlock page's "Try again"). */
  retry(): void {
    const p = this.mine();
    if (p) void this.redeem(p);
  }

  /** Forgets a failure that cannot be retried (the page starts the phone check again). */
  dismiss(): void {
    if (this.state.kind === 'failed' && this.state.retryAt === undefined) this.set({ kind: 'none' });
  }

  private all(): Pending[] {
    const stored = load();
    return stored.length > 0 ? stored : this.memory;
  }

  private put(p: Pending): void {
    const others = this.all().filter((x) => x.accountId !== p.accountId);
    this.memory = [...others, p];
    save(this.memory);
  }

  private drop(accountId: string): void {
    this.memory = this.all().filter((x) => x.accountId !== accountId);
    save(this.memory);
  }

  /** The pending token of the signed-in account, if any. */
  private mine(): Pending | undefined {
    const account = accountStore.get();
    if (account.status !== 'signed_in') return undefined;
    const id = account.me.account.id;
    const legacy = takeLegacy();
    if (legacy) this.put({ token: legacy, accountId: id, redeemAt: Date.now() });
    return this.all().find((p) => p.accountId === id);
  }

  private set(next: RedeemState): void {
    this.state = next;
    for (const cb of this.listeners) cb();
  }

  private evaluate(): void {
    if (this.busy) return;
    clearTimeout(this.timer);
    this.timer = undefined;
    const account = accountStore.get();
    const pending = this.mine();
    // What the page says stays for the account it is about: a done or final failure until it
    // is seen, anything else only while there is a token to wait for.
    const settled =
      this.state.kind === 'done' || (this.state.kind === 'failed' && this.state.retryAt === undefined);
    if (account.status !== 'signed_in' || !pending) {
      if (!settled) this.set({ kind: 'none' });
      return;
    }
    if (account.me.entitlement.e2ee) {
      // Unlocked some other way (another tab, a paid plan): the token is of no use here.
      this.drop(pending.accountId);
      if (!settled) this.set({ kind: 'none' });
      return;
    }
    const failed =
      this.state.kind === 'failed' && this.state.accountId === pending.accountId ? this.state : undefined;
    const at = failed?.retryAt !== undefined ? Math.max(pending.redeemAt, failed.retryAt) : pending.redeemAt;
    const wait = at - Date.now();
    if (wait <= 0) {
      void this.redeem(pending);
      return;
    }
    if (!failed) this.set({ kind: 'waiting', accountId: pending.accountId, redeemAt: pending.redeemAt });
    this.timer = setTimeout(() => this.evaluate(), Math.min(wait, 2 ** 31 - 1));
  }

  private async redeem(p: Pending): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    const accountId = p.accountId;
    this.set({ kind: 'redeeming', accountId });
    try {
      const me = await accountApi.redeemVerificationToken(p.token);
      this.drop(accountId);
      this.busy = false;
      this.set({ kind: 'done', accountId });
      accountStore.setMe(me);
    } catch (e) {
      this.busy = false;
      if (hasCode(e, 'invalid_token', 'token_spent', 'already_verified')) {
        // It can never work; the account may be unlocked anyway (another tab redeemed it).
        this.drop(accountId);
        this.set({ kind: 'failed', accountId, error: humanError(e), retryAt: undefined });
        void accountStore.refresh();
      } else if (hasCode(e, 'unauthenticated')) {
        // Signed out meanwhile: the token waits for the next sign-in.
        this.set({ kind: 'none' });
        void accountStore.refresh();
      } else {
        this.set({ kind: 'failed', accountId, error: humanError(e), retryAt: Date.now() + RETRY_MS });
        this.evaluate();
      }
    }
  }
}

/** The one instance of the app. */
export const pendingRedeems = new PendingRedeems();
