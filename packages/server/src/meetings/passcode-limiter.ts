import type { Db } from '../store/schema.js';

/**
 * Limit on wrong passcodes per (meeting, client). Defaults: 5 wrong attempts in any 5-minute
 * window; the next attempt is refused (`rate_limited`, without even checking the passcode) until
 * the oldest of those failures is 5 minutes old. A 4-digit passcode then takes an attacker on
 * one address about 2 weeks on average; the client key is the IP address (an IPv6 /64, see
 * client-key.ts), so the price is paid per address.
 *
 * Decision: the attempts live in the database (`passcode_attempts`), not in memory, so the limit
 * survives restarts and will hold across several server nodes sharing PostgreSQL.
 *
 * Concurrency: an attempt is first recorded, then counted (`reserve`), and the row is deleted
 * again when the passcode was right (`refund`). Counting after inserting means N concurrent
 * requests see each other, so at most `maxFailures` checks run per window on any dialect, with
 * no lock held during the (slow) scrypt verification.
 */
export interface PasscodeLimit {
  maxFailures: number;
  windowMs: number;
}

export const DEFAULT_PASSCODE_LIMIT: PasscodeLimit = { maxFailures: 5, windowMs: 5 * 60_000 };

export class PasscodeLimiter {
  constructor(
    private readonly db: Db,
    private readonly limit: PasscodeLimit = DEFAULT_PASSCODE_LIMIT,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Records a provisional failed attempt and returns its id, or `undefined` when the client is
   * over the limit (nothing is recorded then, so hammering does not extend the block).
   */
  async reserve(meetingId: string, clientKey: string): Promise<number | undefined> {
    const now = this.now();
    const cutoff = new Date(now - this.limit.windowMs).toISOString();
    // Forget attempts that left the window, for every meeting (index on attempted_at).
    await this.db.deleteFrom('passcode_attempts').where('attempted_at', '<=', cutoff).execute();
    const inserted = await this.db
      .insertInto('passcode_attempts')
      .values({ meeting_id: meetingId, client_key: clientKey, attempted_at: new Date(now).toISOString() })
      .returning('id')
      .executeTakeFirstOrThrow();
    const id = Number(inserted.id);
    const { count } = await this.db
      .selectFrom('passcode_attempts')
      .select((eb) => eb.fn.countAll<number | string>().as('count'))
      .where('meeting_id', '=', meetingId)
      .where('client_key', '=', clientKey)
      .where('attempted_at', '>', cutoff)
      .executeTakeFirstOrThrow();
    if (Number(count) > this.limit.maxFailures) {
      await this.refund(id);
      return undefined;
    }
    return id;
  }

  /** Removes a provisional attempt (the passcode was right, or the attempt was refused). */
  async refund(id: number): Promise<void> {
    await this.db.deleteFrom('passcode_attempts').where('id', '=', id).execute();
  }
}
