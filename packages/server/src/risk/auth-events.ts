import type { SelectQueryBuilder } from 'kysely';
import type { DatabaseSchema, Db } from '../store/schema.js';
import type { RiskAction } from './config.js';
import type { RiskAssessment, RiskDecision, RiskReason } from './engine.js';

/** Actions logged besides the risk actions: the TOTP step of a sign-in and a password change. */
export type AuthEventAction = RiskAction | 'signin_totp' | 'password_change';

/**
 * What became of the attempt. Failures (`FAILURE_OUTCOMES`) are what the failure signals count.
 * - `ok`: done; `denied`: refused by the risk engine; `step_up`: waiting for a TOTP code;
 * - `wrong_password`, `unknown_account`, `wrong_totp`: a failed sign-in step;
 * - `rate_limited`: refused by a rate limit before anything else;
 * - `exists`: a sign-up for an e-mail that has an account — answered as a new one would be,
 *   nothing of the account changed (counted with `ok` in the sign-ups of a network);
 * - `blocked`: the right password of an account a moderator suspended or banned.
 */
export type AuthOutcome =
  | 'ok'
  | 'denied'
  | 'step_up'
  | 'wrong_password'
  | 'unknown_account'
  | 'wrong_totp'
  | 'rate_limited'
  | 'exists'
  | 'blocked';

// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- Kysely's "nothing selected yet"
type EventQuery = SelectQueryBuilder<DatabaseSchema, 'auth_events', {}>;

export const FAILURE_OUTCOMES: readonly AuthOutcome[] = ['wrong_password', 'unknown_account', 'wrong_totp'];

export interface AuthEvent {
  id: number;
  userId: string | null;
  action: string;
  outcome: string;
  score: number;
  decision: RiskDecision;
  reasons: RiskReason[];
  ipPrefix: string;
  createdAt: string;
}

/**
 * The auth-event log (`auth_events`): every risk decision with its score and reasons, and every
 * failed sign-in step. Admins read it with `conclave admin auth-events EMAIL`. It never holds a
 * phone number or its hash, and nothing about a verification but that the account started one.
 */
export class AuthEventLog {
  constructor(
    private readonly db: Db,
    private readonly now: () => number = Date.now,
  ) {}

  async record(e: {
    userId: string | null;
    action: AuthEventAction;
    outcome: AuthOutcome;
    ipPrefix: string;
    /** The risk decision; without one the event is stored as score 0, `allow`. */
    assessment?: Pick<RiskAssessment, 'score' | 'decision' | 'reasons'>;
  }): Promise<void> {
    await this.db
      .insertInto('auth_events')
      .values({
        id: undefined,
        user_id: e.userId,
        action: e.action,
        outcome: e.outcome,
        score: e.assessment?.score ?? 0,
        decision: e.assessment?.decision ?? 'allow',
        reasons: JSON.stringify(e.assessment?.reasons ?? []),
        ip_prefix: e.ipPrefix,
        created_at: new Date(this.now()).toISOString(),
      })
      .execute();
  }

  private since(windowMs: number): string {
    return new Date(this.now() - windowMs).toISOString();
  }

  /**
   * Failed sign-in steps of an account (wrong passwords and TOTP codes of sign-ins) in the last
   * `windowMs`, from `ipPrefix` and from every other network.
   */
  async signinFailures(
    userId: string,
    ipPrefix: string,
    windowMs: number,
  ): Promise<{ here: number; elsewhere: number }> {
    const rows = await this.db
      .selectFrom('auth_events')
      .where('user_id', '=', userId)
      .where('action', 'in', ['signin', 'signin_totp'])
      .where('outcome', 'in', [...FAILURE_OUTCOMES])
      .where('created_at', '>', this.since(windowMs))
      .select((eb) => [
        eb.fn.countAll<number | string>().as('all'),
        eb.fn
          .sum<number | string | null>(eb.case().when('ip_prefix', '=', ipPrefix).then(1).else(0).end())
          .as('here'),
      ])
      .executeTakeFirstOrThrow();
    const here = Number(rows.here ?? 0);
    return { here, elsewhere: Number(rows.all) - here };
  }

  /**
   * Failed steps of an account that a guessed password alone cannot cause — TOTP codes (asked
   * after the right password, or of a signed-in session) and current passwords of password
   * changes (signed in) — in the last `windowMs`. Somebody guessing the password from outside
   * adds nothing here, so they cannot stop the owner's signed-in checks.
   */
  async failuresBeyondPassword(userId: string, windowMs: number): Promise<number> {
    return this.count(
      (q) => q.where('user_id', '=', userId).where('action', '!=', 'signin'),
      FAILURE_OUTCOMES,
      windowMs,
    );
  }

  /** Failed sign-in steps from a network in the last `windowMs`. */
  async networkFailures(ipPrefix: string, windowMs: number): Promise<number> {
    return this.count((q) => q.where('ip_prefix', '=', ipPrefix), FAILURE_OUTCOMES, windowMs);
  }

  /**
   * Sign-ups from a network in the last `windowMs` that were answered as accepted: new accounts
   * and e-mails that had one (so both cost the same, and the limit says nothing about which).
   */
  async networkSignups(ipPrefix: string, windowMs: number): Promise<number> {
    return this.count(
      (q) => q.where('ip_prefix', '=', ipPrefix).where('action', '=', 'signup'),
      ['ok', 'exists'],
      windowMs,
    );
  }

  /** Events of one account, action and outcome in the last `windowMs` (per-account limits). */
  async countForUser(
    userId: string,
    action: AuthEventAction,
    outcome: AuthOutcome,
    windowMs: number,
  ): Promise<number> {
    return this.count(
      (q) => q.where('user_id', '=', userId).where('action', '=', action),
      [outcome],
      windowMs,
    );
  }

  private async count(
    filter: (q: EventQuery) => EventQuery,
    outcomes: readonly AuthOutcome[],
    windowMs: number,
  ): Promise<number> {
    const { count } = await filter(this.db.selectFrom('auth_events'))
      .where('outcome', 'in', [...outcomes])
      .where('created_at', '>', this.since(windowMs))
      .select((eb) => eb.fn.countAll<number | string>().as('count'))
      .executeTakeFirstOrThrow();
    return Number(count);
  }

  /** An account's events, newest first. */
  async listForUser(userId: string, limit = 100): Promise<AuthEvent[]> {
    const rows = await this.db
      .selectFrom('auth_events')
      .selectAll()
      .where('user_id', '=', userId)
      .orderBy('id', 'desc')
      .limit(limit)
      .execute();
    return rows.map((r) => ({
      id: Number(r.id),
      userId: r.user_id,
      action: r.action,
      outcome: r.outcome,
      score: r.score,
      decision: r.decision as RiskDecision,
      reasons: JSON.parse(r.reasons) as RiskReason[],
      ipPrefix: r.ip_prefix,
      createdAt: r.created_at,
    }));
  }
}
