import { randomBytes, randomInt, timingSafeEqual } from 'node:crypto';
import type { Refusal as HttpRefusal } from '../http/errors.js';
import { TokenBucketLimiter, type TokenBucketOptions } from '../http/rate-limit.js';
import { truncateWal } from '../store/database.js';
import type { Db } from '../store/schema.js';
import { PendingCodes, type PendingCodeLimits } from './pending-codes.js';
import type { PhoneHasher } from './phone-secret.js';
import { SmsDeliveryError, type SmsProvider } from './sms.js';
import { VerificationStore } from './store.js';

/**
 * Limits of the phone check; none of them knows an account (the requests carry none). Per
 * number: one pending code, a new one only after the cool-down, and `sendsPerNumber` SMS a day
 * (in memory, keyed by the number's HMAC: nothing about a number's sending times is written
 * down). Per network (IPv4 /24, IPv6 /64) and per check device (the random id of
 * `PHONE_CHECK_DEVICE_HEADER`): token buckets for starts and checks (in memory, routes.ts).
 * Pending codes: at most `maxPending` on the server and `maxPendingPerNetwork` per network.
 * Per code: `maxAttempts` wrong codes.
 */
export interface VerificationSettings extends PendingCodeLimits {
  codeTtlMs: number;
  maxAttempts: number;
  resendCooldownMs: number;
  /**
   * Accounts one number may unlock per calendar year (UTC). A calendar year rather than a
   * rolling 365 days so that the number's row needs no date at all (store.ts); the price is
   * that a number may unlock `unlocksPerYear` accounts late in one year and again early in the
   * next.
   */
  unlocksPerYear: number;
  sendsPerNumber: TokenBucketOptions;
  startsPerNetwork: TokenBucketOptions;
  checksPerNetwork: TokenBucketOptions;
  /**
   * Per check device. The id is the client's own choice, so these only slow down one browser or
   * script that keeps the same id (a stuck retry loop, a casual abuser); the limits that hold
   * against a determined one are per number and per network.
   */
  startsPerDevice: TokenBucketOptions;
  checksPerDevice: TokenBucketOptions;
}

const DAY_S = 86_400;
export const DEFAULT_VERIFICATION_SETTINGS: VerificationSettings = {
  codeTtlMs: 10 * 60_000,
  maxAttempts: 5,
  resendCooldownMs: 60_000,
  unlocksPerYear: 3,
  sendsPerNumber: { capacity: 5, refillPerSecond: 5 / DAY_S },
  startsPerNetwork: { capacity: 20, refillPerSecond: 20 / 3600 },
  checksPerNetwork: { capacity: 60, refillPerSecond: 60 / 600 },
  startsPerDevice: { capacity: 10, refillPerSecond: 10 / DAY_S },
  checksPerDevice: { capacity: 30, refillPerSecond: 30 / 600 },
  maxPending: 10_000,
  maxPendingPerNetwork: 20,
};

const CODE_DIGITS = 6;

/** A refused start or check: the code (its HTTP status is the catalogue's) and a sentence. */
export type Refusal = { ok: false } & HttpRefusal;
export type StartResult =
  | {
      ok: true;
      verificationId: string;
      expiresInSeconds: number;
      resendAfterSeconds: number;
      attempts: number;
    }
  | Refusal;
export type CheckResult<T> = { ok: true; value: T } | Refusal;

function refuse(code: HttpRefusal['code'], message: string, retryAfterSeconds?: number): Refusal {
  return { ok: false, code, message, retryAfterSeconds };
}

/**
 * The phone check without HTTP: `start` takes an E.164 number, keeps only its HMAC (in memory),
 * sends the code and forgets the number; `check` spends an attempt, and on the right code runs
 * `issue` (the blind signature) before the code is consumed and the number's quota counted.
 * Nothing here knows the account. Pending codes live in memory only (pending-codes.ts); the
 * database gets only the yearly count per number (at the right code) and the spent token ids,
 * and the WAL is truncated right after each (store/database.ts), so no old page of them stays.
 */
export class VerificationService {
  readonly store: VerificationStore;
  readonly pending: PendingCodes;
  private readonly numberLimiter: TokenBucketLimiter;

  constructor(
    private readonly db: Db,
    private readonly hasher: PhoneHasher,
    private readonly sms: SmsProvider,
    readonly settings: VerificationSettings = DEFAULT_VERIFICATION_SETTINGS,
    private readonly now: () => number = Date.now,
  ) {
    this.store = new VerificationStore(db, now);
    this.pending = new PendingCodes(settings, now);
    this.numberLimiter = new TokenBucketLimiter({ ...settings.sendsPerNumber, now });
  }

  /** `network`: the requester's network key, for the per-network bound on pending codes. */
  async start(e164: string, network: string): Promise<StartResult> {
    const s = this.settings;
    const numberHash = this.hasher.numberHash(e164);
    const pending = this.pending.forNumber(numberHash);
    if (pending) {
      const waitMs = pending.resendAfter - this.now();
      if (waitMs > 0) {
        const wait = Math.ceil(waitMs / 1000);
        return refuse('rate_limited', `a code was just sent to this number; ask again in ${wait} s`, wait);
      }
    }
    if ((await this.store.unlocksThisYear(numberHash)) >= s.unlocksPerYear) {
      return refuse(
        'phone_quota_exceeded',
        `this number has already unlocked ${s.unlocksPerYear} accounts this year; use another number`,
      );
    }
    const room = this.pending.room(numberHash, network);
    if (!room.ok) {
      const wait = Math.ceil(room.retryAfterMs / 1000);
      return refuse(
        'rate_limited',
        room.scope === 'network'
          ? `too many phone checks from this network are waiting for their code; try again in ${wait} s`
          : `too many phone checks are waiting for their code; try again in ${wait} s`,
        wait,
      );
    }
    const take = this.numberLimiter.take(numberHash);
    if (!take.ok) {
      return refuse(
        'rate_limited',
        `too many codes were sent to this number; try again in ${take.retryAfterSeconds} s`,
        take.retryAfterSeconds,
      );
    }
    const id = randomBytes(18).toString('base64url');
    const code = randomInt(0, 10 ** CODE_DIGITS)
      .toString()
      .padStart(CODE_DIGITS, '0');
    // A new code replaces the old one (its remaining attempts go with it).
    this.pending.add(id, {
      numberHash,
      codeHash: this.hasher.codeHash(id, code),
      attempts: 0,
      resendAfter: this.now() + s.resendCooldownMs,
      expiresAt: this.now() + s.codeTtlMs,
      network,
    });
    const minutes = Math.round(s.codeTtlMs / 60_000);
    try {
      await this.sms.send({
        to: e164,
        code,
        text: `Your Conclave code is ${code}. It expires in ${minutes} minutes. Do not share it.`,
      });
    } catch (err) {
      this.pending.remove(id);
      if (err instanceof SmsDeliveryError) {
        return refuse('sms_failed', `the code could not be sent: ${err.message}; try again later`);
      }
      throw err;
    }
    return {
      ok: true,
      verificationId: id,
      expiresInSeconds: Math.round(s.codeTtlMs / 1000),
      resendAfterSeconds: Math.round(s.resendCooldownMs / 1000),
      attempts: s.maxAttempts,
    };
  }

  /**
   * Checks a code. On the right one, `issue()` runs first (it may throw: the code then stays
   * usable for its remaining attempts), then the code is consumed — exactly once even under
   * concurrent checks: everything up to here is synchronous — and the number's yearly quota
   * counted; only then is the value returned.
   */
  async check<T>(verificationId: string, code: string, issue: () => T): Promise<CheckResult<T>> {
    const s = this.settings;
    const pending = this.pending.get(verificationId);
    if (!pending) {
      return refuse('verification_expired', 'this code has expired or does not exist; ask for a new one');
    }
    if (pending.attempts >= s.maxAttempts) {
      return refuse('too_many_attempts', 'too many wrong codes; ask for a new code');
    }
    pending.attempts += 1;
    const expected = Buffer.from(pending.codeHash, 'base64url');
    const actual = Buffer.from(this.hasher.codeHash(verificationId, code), 'base64url');
    if (expected.length !== actual.length || !timingSafeEqual(expected, actual)) {
      const left = s.maxAttempts - pending.attempts;
      return refuse(
        'wrong_code',
        left > 0 ? `wrong code; ${left} attempts left` : 'wrong code; no attempts left, ask for a new code',
      );
    }
    const value = issue();
    this.pending.remove(verificationId);
    const counted = await this.store.addUnlock(pending.numberHash, s.unlocksPerYear);
    await truncateWal(this.db);
    if (!counted) {
      return refuse(
        'phone_quota_exceeded',
        `this number has already unlocked ${s.unlocksPerYear} accounts this year; use another number`,
      );
    }
    return { ok: true, value };
  }
}
