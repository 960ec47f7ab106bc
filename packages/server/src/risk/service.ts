import type { Db } from '../store/schema.js';
import type { AuthEventLog } from './auth-events.js';
import { DEFAULT_RISK_CONFIG, type RiskAction, type RiskConfig } from './config.js';
import { isDisposableEmail } from './disposable.js';
import { assessRisk, type RiskAssessment, type RiskFacts } from './engine.js';
import { countOpenReports } from './reports.js';
import { UnknownEmailFailures } from './unknown-emails.js';

/** An account id no account has (ids are 22 base64url characters). */
const NO_ACCOUNT = '-';

/** Who and where, for gathering the facts of one attempt. */
export interface RiskContext {
  /** The account, when known (sign-in of an existing e-mail, signed-in actions). */
  user?: { id: string; email: string; createdAt: string; totpEnabled: boolean };
  /** The e-mail typed, when it has no account (sign-up, sign-in of an unknown e-mail). */
  email?: string;
  /** SHA-256 of the device cookie. */
  deviceHash: string;
  /** IPv4 /24 or IPv6 /64 (risk/network.ts). */
  ipPrefix: string;
}

/**
 * Gathers the facts the action's signals need from the database (and nothing else: a signal
 * the configuration does not list for the action costs no query), then asks the pure engine.
 * A sign-in of an e-mail without an account gets the facts such an e-mail would have as an
 * account nobody signed in to: a new device, a new network, and the failures counted for the
 * e-mail in memory (`recordUnknownEmailFailure`).
 */
export class RiskService {
  private readonly unknownEmails: UnknownEmailFailures;

  constructor(
    private readonly db: Db,
    private readonly events: AuthEventLog,
    readonly config: RiskConfig = DEFAULT_RISK_CONFIG,
    private readonly now: () => number = Date.now,
  ) {
    this.unknownEmails = new UnknownEmailFailures(config.windows.failuresMs, now);
  }

  async assess(action: RiskAction, ctx: RiskContext): Promise<RiskAssessment> {
    return assessRisk(action, await this.facts(action, ctx), this.config);
  }

  /** A failed sign-in for an e-mail without an account (the counterpart of its auth event). */
  recordUnknownEmailFailure(email: string, ipPrefix: string): void {
    this.unknownEmails.record(email, ipPrefix);
  }

  async facts(action: RiskAction, ctx: RiskContext): Promise<RiskFacts> {
    const wanted = new Set(this.config.actions[action]);
    const { user } = ctx;
    const w = this.config.windows;
    const facts: RiskFacts = { secondFactor: user?.totpEnabled ?? false };
    // An e-mail without an account is asked the same queries under an id no account has, so
    // the answer takes as long as an account's would.
    const unknownEmail = !user && action === 'signin_attempt' ? ctx.email : undefined;
    const userId = user?.id ?? (unknownEmail !== undefined ? NO_ACCOUNT : undefined);
    if (userId !== undefined && wanted.has('newDevice')) {
      const row = await this.db
        .selectFrom('known_devices')
        .select('user_id')
        .where('user_id', '=', userId)
        .where('device_hash', '=', ctx.deviceHash)
        .executeTakeFirst();
      facts.knownDevice = row !== undefined;
    }
    if (userId !== undefined && wanted.has('newNetwork')) {
      const row = await this.db
        .selectFrom('known_networks')
        .select('user_id')
        .where('user_id', '=', userId)
        .where('ip_prefix', '=', ctx.ipPrefix)
        .executeTakeFirst();
      facts.knownNetwork = row !== undefined;
    }
    if (userId !== undefined && (wanted.has('accountFailures') || wanted.has('accountFailuresElsewhere'))) {
      const stored = await this.events.signinFailures(userId, ctx.ipPrefix, w.failuresMs);
      const failures =
        unknownEmail !== undefined ? this.unknownEmails.count(unknownEmail, ctx.ipPrefix) : stored;
      if (wanted.has('accountFailures')) facts.accountFailures = failures.here;
      if (wanted.has('accountFailuresElsewhere')) facts.accountFailuresElsewhere = failures.elsewhere;
    }
    if (wanted.has('networkFailures')) {
      facts.networkFailures = await this.events.networkFailures(ctx.ipPrefix, w.failuresMs);
    }
    if (wanted.has('networkSignups')) {
      facts.networkSignups = await this.events.networkSignups(ctx.ipPrefix, w.signupsMs);
    }
    if (user && wanted.has('newAccount')) {
      facts.accountAgeMs = Math.max(0, this.now() - Date.parse(user.createdAt));
    }
    if (user && wanted.has('openReports')) {
      facts.openReports = await countOpenReports(this.db, user.id);
    }
    const email = user?.email ?? ctx.email;
    if (email !== undefined && wanted.has('disposableEmail')) {
      facts.disposableEmail = isDisposableEmail(email);
    }
    return facts;
  }
}
