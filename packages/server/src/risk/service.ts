import type { Db } from '../store/schema.js';
import type { AuthEventLog } from './auth-events.js';
import { DEFAULT_RISK_CONFIG, type RiskAction, type RiskConfig } from './config.js';
import { isDisposableEmail } from './disposable.js';
import { assessRisk, type RiskAssessment, type RiskFacts } from './engine.js';
import { countOpenReports } from './reports.js';

/** Who and where, for gathering the facts of one attempt. */
export interface RiskContext {
  /** The account, when known (sign-in of an existing e-mail, signed-in actions). */
  user?: { id: string; email: string; createdAt: string; totpEnabled: boolean };
  /** The e-mail of a sign-up (no account yet). */
  email?: string;
  /** SHA-256 of the device cookie. */
  deviceHash: string;
  /** IPv4 /24 or IPv6 /64 (risk/network.ts). */
  ipPrefix: string;
}

/**
 * Gathers the facts the action's signals need from the database (and nothing else: a signal
 * the configuration does not list for the action costs no query), then asks the pure engine.
 */
export class RiskService {
  constructor(
    private readonly db: Db,
    private readonly events: AuthEventLog,
    readonly config: RiskConfig = DEFAULT_RISK_CONFIG,
    private readonly now: () => number = Date.now,
  ) {}

  async assess(action: RiskAction, ctx: RiskContext): Promise<RiskAssessment> {
    return assessRisk(action, await this.facts(action, ctx), this.config);
  }

  async facts(action: RiskAction, ctx: RiskContext): Promise<RiskFacts> {
    const wanted = new Set(this.config.actions[action]);
    const { user } = ctx;
    const w = this.config.windows;
    const facts: RiskFacts = { secondFactor: user?.totpEnabled ?? false };
    if (user && wanted.has('newDevice')) {
      const row = await this.db
        .selectFrom('known_devices')
        .select('user_id')
        .where('user_id', '=', user.id)
        .where('device_hash', '=', ctx.deviceHash)
        .executeTakeFirst();
      facts.knownDevice = row !== undefined;
    }
    if (user && wanted.has('newNetwork')) {
      const row = await this.db
        .selectFrom('known_networks')
        .select('user_id')
        .where('user_id', '=', user.id)
        .where('ip_prefix', '=', ctx.ipPrefix)
        .executeTakeFirst();
      facts.knownNetwork = row !== undefined;
    }
    if (user && wanted.has('accountFailures')) {
      facts.accountFailures = await this.events.accountFailures(user.id, w.failuresMs);
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
