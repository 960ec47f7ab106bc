import type { Db } from '../store/schema.js';

/**
 * Limits on wrong passcodes, in two layers (defaults from config.ts):
 * - per (meeting, network): `failuresPerNetwork` (5) wrong attempts in any `networkWindowMs`
 *   (5 minutes); the next attempt from that network is refused (`rate_limited`, without even
 *   checking the passcode) until the oldest of those failures leaves the window. The network is
 *   an IPv4 /24 or an IPv6 /64 (client-key.ts `networkKeyForIp`), so 20 addresses of one /24
 *   share one budget;
 * - per meeting, from every network together: `failuresPerMeeting` (30) wrong attempts in any
 *   `meetingWindowMs` (15 minutes) lock the meeting's passcode entry (`locked_out`, even the
 *   right passcode is refused unchecked) until the oldest counted failure leaves the window, or
 *   until the passcode is changed (`clear`). With 6+ character passcodes this caps an attacker
 *   with any number of networks at 30 guesses per 15 minutes per meeting.
 *
 * Decision: the attempts live in the database (`passcode_attempts`; `client_key` holds the
 * network key), not in memory, so the limits survive restarts and will hold across several
 * server nodes sharing PostgreSQL.
 *
 * Concurrency: an attempt is first recorded, then counted (`reserve`), and the row is deleted
 * again when the passcode was right or the attempt is refused (`refund`). Counting after
 * inserting means N concurrent requests see each other, so at most `failuresPerNetwork` checks
 * per network and `failuresPerMeeting` per meeting run per window on any dialect, with no lock
 * held during the (slow) scrypt verification. A provisional row counts while its check runs, so
 * a concurrent attempt may be refused a moment early, never allowed beyond a limit.
 */
export interface PasscodeLimit {
  /** Wrong passcodes per meeting and network within `networkWindowMs`. */
  failuresPerNetwork: number;
  networkWindowMs: number;
  /** Wrong passcodes per meeting (all networks) within `meetingWindowMs` before the lockout. */
  failuresPerMeeting: number;
  meetingWindowMs: number;
}

export const DEFAULT_PASSCODE_LIMIT: PasscodeLimit = {
  failuresPerNetwork: 5,
  networkWindowMs: 5 * 60_000,
  failuresPerMeeting: 30,
  meetingWindowMs: 15 * 60_000,
};

/** `reserved`: the attempt may be checked (`id` to refund); otherwise why it is refused. */
export type PasscodeReservation =
  { status: 'reserved'; id: number } | { status: 'rate_limited' | 'locked_out' };

/** A meeting whose passcode entry is locked: until when (ms since epoch), after how many failures. */
export interface PasscodeLockout {
  until: number;
  failures: number;
}

export class PasscodeLimiter {
  private readonly limit: PasscodeLimit;

  constructor(
    private readonly db: Db,
    limit: Partial<PasscodeLimit> = {},
    private readonly now: () => number = Date.now,
  ) {
    this.limit = { ...DEFAULT_PASSCODE_LIMIT, ...limit };
    for (const [name, value] of Object.entries(this.limit)) {
      if (!Number.isInteger(value) || value < 1) throw new RangeError(`passcode limit ${name}: ${value}`);
    }
  }

  /**
   * Records a provisional failed attempt from `networkKey` and returns its id, or why it is
   * refused (nothing is recorded then, so hammering does not extend a block). A locked-out
   * meeting answers `locked_out` even for a network that is also over its own limit.
   */
  async reserve(meetingId: string, networkKey: string): Promise<PasscodeReservation> {
    const now = this.now();
    const longest = this.cutoff(now, Math.max(this.limit.networkWindowMs, this.limit.meetingWindowMs));
    // Forget attempts that left both windows, for every meeting (index on attempted_at).
    await this.db.deleteFrom('passcode_attempts').where('attempted_at', '<=', longest).execute();
    const inserted = await this.db
      .insertInto('passcode_attempts')
      .values({ meeting_id: meetingId, client_key: networkKey, attempted_at: new Date(now).toISOString() })
      .returning('id')
      .executeTakeFirstOrThrow();
    const id = Number(inserted.id);
    const meetingCutoff = this.cutoff(now, this.limit.meetingWindowMs);
    const networkCutoff = this.cutoff(now, this.limit.networkWindowMs);
    // Both counts in one query, so they see the same rows.
    const counts = await this.db
      .selectFrom('passcode_attempts')
      .select((eb) => [
        eb.fn
          .sum<number | string | null>(
            eb.case().when('attempted_at', '>', meetingCutoff).then(1).else(0).end(),
          )
          .as('meeting'),
        eb.fn
          .sum<number | string | null>(
            eb
              .case()
              .when(eb.and([eb('client_key', '=', networkKey), eb('attempted_at', '>', networkCutoff)]))
              .then(1)
              .else(0)
              .end(),
          )
          .as('network'),
      ])
      .where('meeting_id', '=', meetingId)
      .where('attempted_at', '>', longest)
      .executeTakeFirstOrThrow();
    let refused: 'rate_limited' | 'locked_out' | undefined;
    if (Number(counts.meeting ?? 0) > this.limit.failuresPerMeeting) refused = 'locked_out';
    else if (Number(counts.network ?? 0) > this.limit.failuresPerNetwork) refused = 'rate_limited';
    if (refused) {
      await this.refund(id);
      return { status: refused };
    }
    return { status: 'reserved', id };
  }

  /** Removes a provisional attempt (the passcode was right, or the attempt was refused). */
  async refund(id: number): Promise<void> {
    await this.db.deleteFrom('passcode_attempts').where('id', '=', id).execute();
  }

  /**
   * The meeting's lockout, if it is locked out now: `failures` counted in the meeting window,
   * `until` when enough of them have left the window for the next attempt to be checked.
   */
  async lockout(meetingId: string): Promise<PasscodeLockout | undefined> {
    const now = this.now();
    const rows = await this.db
      .selectFrom('passcode_attempts')
      .select('attempted_at')
      .where('meeting_id', '=', meetingId)
      .where('attempted_at', '>', this.cutoff(now, this.limit.meetingWindowMs))
      .orderBy('attempted_at')
      .execute();
    const max = this.limit.failuresPerMeeting;
    if (rows.length < max) return undefined;
    // The next attempt is checked once at most max - 1 failures remain in the window.
    const leaving = rows[rows.length - max];
    if (!leaving) return undefined;
    return { until: Date.parse(leaving.attempted_at) + this.limit.meetingWindowMs, failures: rows.length };
  }

  /**
   * Forgets every attempt on the meeting (its passcode changed): ends its lockout and its
   * network limits. `db`: a transaction to run in (default: the limiter's database).
   */
  async clear(meetingId: string, db: Db = this.db): Promise<void> {
    await db.deleteFrom('passcode_attempts').where('meeting_id', '=', meetingId).execute();
  }

  private cutoff(now: number, windowMs: number): string {
    return new Date(now - windowMs).toISOString();
  }
}
