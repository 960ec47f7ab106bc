import type { DeviceKey } from '@conclave/protocol';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ServerConfig } from '../config.js';
import type { Logger } from '../logger.js';
import type { ScryptParams } from '../meeting-store/secret-hash.js';
import { AuthEventLog } from '../risk/auth-events.js';
import { DEFAULT_RISK_CONFIG, type RiskAction, type RiskConfig } from '../risk/config.js';
import type { RiskAssessment } from '../risk/engine.js';
import { ipPrefix } from '../risk/network.js';
import { RiskService } from '../risk/service.js';
import type { Db } from '../store/schema.js';
import { BlindSigner } from '../verification/blind-rsa.js';
import { PhoneNumberKeys } from '../verification/phone-keys.js';
import { loadPhoneSecret, PhoneHasher } from '../verification/phone-secret.js';
import {
  DEFAULT_VERIFICATION_SETTINGS,
  VerificationService,
  type VerificationSettings,
} from '../verification/service.js';
import { createSmsProvider, type SmsProvider } from '../verification/sms.js';
import fastifyCookie from '@fastify/cookie';
import { replyError, type Refusal } from '../http/errors.js';
import { reachedOverHttps } from '../http/tls.js';
import { AccountStore, type AccountUser } from './account-store.js';
import { AuthCookies } from './cookies.js';
import { PasswordHasher } from './passwords.js';
import { checkTotp } from './totp.js';

/** Everything tests (and later operators) may replace. */
export interface AccountsOptions {
  /** The server's database. */
  db: Db;
  /** Clock in milliseconds for sessions, codes, limits and the risk windows. */
  now?: () => number;
  passwordScrypt?: ScryptParams;
  /** Default: from `config.smsProvider` (console or http). */
  sms?: SmsProvider;
  risk?: RiskConfig;
  verification?: Partial<VerificationSettings>;
  /** Default: `server_keys`, made on first use. */
  blindSigner?: BlindSigner;
}

export type GateResult =
  { ok: true; assessment: RiskAssessment } | ({ ok: false; assessment: RiskAssessment } & Refusal);

/**
 * Failed TOTP codes and current passwords of one account within the risk engine's failure
 * window after which password changes and TOTP checks of signed-in requests stop until the
 * window moves on: a stolen session must not become a way to guess the password or the code.
 */
const MAX_ACCOUNT_FAILURES = 10;

const SIGNED_IN_ACTION_MESSAGES: Record<'meeting_create', string> = {
  meeting_create: 'creating a meeting',
};

/**
 * Accounts, sessions, CSRF, device keys, TOTP, the risk engine and the phone verification, as
 * one object the HTTP routes (the accounts, verification and meeting APIs) and the signaling
 * endpoint (who is signed in on a WebSocket) use. Made by `openAccounts` (api.ts).
 */
export class Accounts {
  readonly db: Db;
  readonly store: AccountStore;
  readonly events: AuthEventLog;
  readonly risk: RiskService;
  readonly cookies: AuthCookies;
  readonly passwords: PasswordHasher;
  readonly verification: VerificationService;
  /** The yearly keys of phone-number hashes (loaded by openAccounts, refreshed by the sweep). */
  readonly phoneKeys: PhoneNumberKeys;
  readonly now: () => number;
  private signer: Promise<BlindSigner> | undefined;
  private sweep: NodeJS.Timeout | undefined;
  private readonly current = new WeakMap<FastifyRequest, Promise<AccountUser | undefined>>();

  constructor(
    config: ServerConfig,
    readonly logger: Logger,
    options: AccountsOptions,
  ) {
    const db = (this.db = options.db);
    this.now = options.now ?? Date.now;
    this.store = new AccountStore(db, this.now);
    this.events = new AuthEventLog(db, this.now);
    this.risk = new RiskService(db, this.events, options.risk ?? DEFAULT_RISK_CONFIG, this.now);
    this.cookies = new AuthCookies(reachedOverHttps(config));
    this.passwords = new PasswordHasher(options.passwordScrypt);
    const phoneSecret = loadPhoneSecret(config, logger);
    this.phoneKeys = new PhoneNumberKeys(db, phoneSecret.key, this.now, logger);
    const hasher = new PhoneHasher(phoneSecret.key, this.phoneKeys);
    const sms = options.sms ?? createSmsProvider(config, logger);
    this.verification = new VerificationService(
      db,
      hasher,
      sms,
      {
        ...DEFAULT_VERIFICATION_SETTINGS,
        ...(config.phoneUnlocksPerYear !== undefined ? { unlocksPerYear: config.phoneUnlocksPerYear } : {}),
        ...options.verification,
      },
      this.now,
    );
    if (options.blindSigner) this.signer = Promise.resolve(options.blindSigner);
  }

  /** Expired codes (in memory: number hash, expiry) go within a minute even if nobody asks. */
  startSweeping(): void {
    this.sweep ??= setInterval(() => this.verification.pending.purgeExpired(), 60_000);
    this.sweep.unref();
  }

  /** Stops the sweep. */
  close(): void {
    clearInterval(this.sweep);
    this.sweep = undefined;
    this.phoneKeys.stopRefreshing();
  }

  /** The verification-token key (made and stored on first use). */
  blindSigner(): Promise<BlindSigner> {
    this.signer ??= BlindSigner.loadOrCreate(this.db).catch((err: unknown) => {
      this.signer = undefined;
      throw err;
    });
    return this.signer;
  }

  /** The signed-in account of a request (session cookie), or undefined. Cached per request. */
  currentUser(req: FastifyRequest): Promise<AccountUser | undefined> {
    let user = this.current.get(req);
    if (!user) {
      const session = this.cookies.session(req);
      user = session ? this.store.userForSession(session) : Promise.resolve(undefined);
      this.current.set(req, user);
    }
    return user;
  }

  /** The signed-in account, or undefined after answering 401 `unauthenticated`. */
  async requireUser(req: FastifyRequest, reply: FastifyReply): Promise<AccountUser | undefined> {
    const user = await this.currentUser(req);
    if (!user) void replyError(reply, 'unauthenticated');
    return user;
  }

  /** The account signed in by a raw Cookie header (a signaling upgrade's), or undefined. */
  async userIdForCookieHeader(header: string | undefined): Promise<string | undefined> {
    const session = header ? this.cookies.sessionFrom(fastifyCookie.parse(header)) : undefined;
    return session ? (await this.store.userForSession(session))?.id : undefined;
  }

  /** The directory entry clients check MLS credentials against. */
  lookupDeviceKey(userId: string, deviceId: string): Promise<DeviceKey | undefined> {
    return this.store.deviceKey(userId, deviceId);
  }

  /** The risk-prefix of the request's client address (IPv4 /24, IPv6 /64). */
  ipPrefix(req: FastifyRequest): string {
    return ipPrefix(req.ip);
  }

  /**
   * The risk check of a signed-in action (`meeting_create`; the phone check has none: its start
   * knows no account, verification/routes.ts): scores it, asks for the TOTP code on step-up
   * (`totp` is the code the client sent, if any), and logs the decision in `auth_events`. The meeting API calls it before creating a meeting and answers
   * a refusal with `replyError(reply, result.code, result.message)` (status from the catalogue).
   */
  async gate(
    req: FastifyRequest,
    reply: FastifyReply,
    action: Extract<RiskAction, 'meeting_create'>,
    user: AccountUser,
    totp?: string,
  ): Promise<GateResult> {
    const prefix = this.ipPrefix(req);
    const assessment = await this.risk.assess(action, {
      user,
      deviceHash: this.cookies.deviceHash(req, reply),
      ipPrefix: prefix,
    });
    const log = (outcome: 'ok' | 'denied' | 'step_up' | 'wrong_totp' | 'rate_limited') =>
      this.events.record({ userId: user.id, action, outcome, ipPrefix: prefix, assessment });
    const what = SIGNED_IN_ACTION_MESSAGES[action];
    if (assessment.decision === 'deny') {
      await log('denied');
      return {
        ok: false,
        code: 'risk_denied',
        message: riskMessage(what, assessment),
        assessment,
      };
    }
    if (assessment.decision === 'step_up') {
      if (totp === undefined) {
        await log('step_up');
        return {
          ok: false,
          code: 'step_up_required',
          message: `${what} needs a code from your authenticator app: send it as "totp"`,
          assessment,
        };
      }
      if (await this.tooManyFailures(user.id)) {
        await log('rate_limited');
        return { ok: false, code: 'rate_limited', message: TOO_MANY_FAILURES, assessment };
      }
      if (!(await this.acceptTotp(user.id, totp))) {
        await log('wrong_totp');
        return {
          ok: false,
          code: 'invalid_totp',
          message: 'wrong authenticator code',
          assessment,
        };
      }
    }
    await log('ok');
    return { ok: true, assessment };
  }

  /**
   * Whether the account has had `MAX_ACCOUNT_FAILURES` failed TOTP codes and current passwords
   * in the failure window (wrong passwords of sign-ins do not count: anybody can cause those).
   */
  async tooManyFailures(userId: string): Promise<boolean> {
    const failures = await this.events.failuresBeyondPassword(userId, this.risk.config.windows.failuresMs);
    return failures >= MAX_ACCOUNT_FAILURES;
  }

  /** Checks a TOTP code of an enrolled account and burns its time step. */
  async acceptTotp(userId: string, code: string): Promise<boolean> {
    const row = await this.store.rowById(userId);
    if (!row?.totp_secret) return false;
    const step = await checkTotp(row.totp_secret, code, this.now(), row.totp_last_step);
    return step !== undefined && (await this.store.advanceTotpStep(userId, step));
  }
}

export const TOO_MANY_FAILURES =
  'too many wrong passwords or codes for this account; try again in 15 minutes';

/** A refusal message a person can act on, with the engine's reasons. */
export function riskMessage(what: string, a: RiskAssessment): string {
  const reasons = a.reasons.map((r) => r.detail).join('; ');
  return `${what} was refused as unusual (${reasons}); try again later, from a device you have used before, or enrol an authenticator app`;
}
