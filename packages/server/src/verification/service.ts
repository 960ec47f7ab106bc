import { randomBytes, randomInt, timingSafeEqual } from 'node:crypto';
import type { Refusal as HttpRefusal } from '../http/errors.js';
import { TokenBucketLimiter, type TokenBucketOptions } from '../http/rate-limit.js';
import type { Db } from '../store/schema.js';
import type { PhoneHasher } from './phone-secret.js';
import { SmsDeliveryError, type SmsProvider } from './sms.js';
import { VerificationStore } from './store.js';

/**
 * Limits of the phone check. Per number: one pending code, a new one only after the cool-down,
 * and `sendsPerNumber` SMS a day (in memory, keyed by the number's HMAC: nothing about a
 * number's sending times is written down). Per account: `startsPerAccountPerDay` (counted in
 * the auth-event log, which never holds the number). Per network (IPv4 /24, IPv6 /64): token
 * buckets for starts and checks (in memory). Per code: `maxAttempts` wrong codes.
 */
export interface VerificationSettings {
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
  startsPerAccountPerDay: number;
  startsPerNetwork: TokenBucketOptions;
  checksPerNetwork: TokenBucketOptions;
}

const DAY_S = 86_400;
export const DEFAULT_VERIFICATION_SETTINGS: VerificationSettings = {
  codeTtlMs: 10 * 60_000,
  maxAttempts: 5,
  resendCooldownMs: 60_000,
  unlocksPerYear: 3,
  sendsPerNumber: { capacity: 5, refillPerSecond: 5 / DAY_S },
  startsPerAccountPerDay: 10,
  startsPerNetwork: { capacity: 20, refillPerSecond: 20 / 3600 },
  checksPerNetwork: { capacity: 60, refillPerSecond: 60 / 600 },
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
 * The phone check without HTTP: `start` takes an E.164 number, keeps only its HMAC, sends the
 * code and forgets the number; `check` spends an attempt, and on the right code runs `issue`
 * (the blind signature) before the code is consumed and the number's quota counted. Nothing
 * here knows the account: the caller does its per-account limits before `start`.
 */
export class VerificationService {
  readonly store: VerificationStore;
  private readonly numberLimiter: TokenBucketLimiter;

  constructor(
    db: Db,
    private readonly hasher: PhoneHasher,
    private readonly sms: SmsProvider,
    readonly settings: VerificationSettings = DEFAULT_VERIFICATION_SETTINGS,
    private readonly now: () => number = Date.now,
  ) {
    this.store = new VerificationStore(db, now);
    this.numberLimiter = new TokenBucketLimiter({ ...settings.sendsPerNumber, now });
  }

  async start(e164: string): Promise<StartResult> {
    const s = this.settings;
    const numberHash = this.hasher.numberHash(e164);
    await this.store.purgeExpired();
    const pending = await this.store.pendingForNumber(numberHash);
    if (pending) {
      const waitMs = Date.parse(pending.resend_after) - this.now();
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
    const take = this.numberLimiter.take(numberHash);
    if (!take.ok) {
      return refuse(
        'rate_limited',
        `too many codes were sent to this number; try again in ${take.retryAfterSeconds} s`,
        take.retryAfterSeconds,
      );
    }
    // A new code replaces the old one (its remaining attempts go with it).
    await this.store.deleteForNumber(numberHash);
    const id = randomBytes(18).toString('base64url');
    const code = randomInt(0, 10 ** CODE_DIGITS)
      .toString()
      .padStart(CODE_DIGITS, '0');
    await this.store.insert({
      id,
      number_hash: numberHash,
      code_hash: this.hasher.codeHash(id, code),
      attempts: 0,
      resend_after: new Date(this.now() + s.resendCooldownMs).toISOString(),
      expires_at: new Date(this.now() + s.codeTtlMs).toISOString(),
    });
    const minutes = Math.round(s.codeTtlMs / 60_000);
    try {
      await this.sms.send({
        to: e164,
        code,
        text: `Your Conclave code is ${code}. It expires in ${minutes} minutes. Do not share it.`,
      });
    } catch (err) {
      await this.store.delete(id);
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
   * concurrent checks — and the number's yearly quota counted; only then is the value returned.
   */
  async check<T>(verificationId: string, code: string, issue: () => T): Promise<CheckResult<T>> {
    const s = this.settings;
    const expired = refuse(
      'verification_expired',
      'this code has expired or does not exist; ask for a new one',
    );
    const row = await this.store.get(verificationId);
    if (!row) return expired;
    if (Date.parse(row.expires_at) <= this.now()) {
      await this.store.delete(verificationId);
      return expired;
    }
    const tooMany = refuse('too_many_attempts', 'too many wrong codes; ask for a new code');
    if (row.attempts >= s.maxAttempts) return tooMany;
    const taken = await this.store.takeAttempt(verificationId, s.maxAttempts);
    if (!taken) return tooMany;

    const expected = Buffer.from(taken.code_hash, 'base64url');
    const actual = Buffer.from(this.hasher.codeHash(verificationId, code), 'base64url');
    if (expected.length !== actual.length || !timingSafeEqual(expected, actual)) {
      const left = s.maxAttempts - taken.attempts;
      return refuse(
        'wrong_code',
        left > 0 ? `wrong code; ${left} attempts left` : 'wrong code; no attempts left, ask for a new code',
      );
    }
    const value = issue();
    if (!(await this.store.delete(verificationId))) return expired;
    if (!(await this.store.addUnlock(taken.number_hash, s.unlocksPerYear))) {
      return refuse(
        'phone_quota_exceeded',
        `this number has already unlocked ${s.unlocksPerYear} accounts this year; use another number`,
      );
    }
    return { ok: true, value };
  }
}
