import { sql } from 'kysely';
import type { Db } from '../store/schema.js';

/**
 * The verification tables (migrations 0005, 0009). Every write is one statement, so no
 * transaction is held across awaits and concurrent requests stay correct on any dialect: the
 * quota grows by a conditional UPSERT, and a token is spent by the INSERT of its id. Pending
 * codes are not here: they live in memory only (pending-codes.ts).
 *
 * What is kept, and how precisely in time: per number, the calendar year and a count; per
 * token, its id. Nothing here holds a user id, an IP address or a day.
 */
export class VerificationStore {
  constructor(
    private readonly db: Db,
    private readonly now: () => number = Date.now,
  ) {}

  /** The calendar year (UTC) quotas count in. */
  private year(): number {
    return new Date(this.now()).getUTCFullYear();
  }

  /** Accounts this number unlocked this calendar year. */
  async unlocksThisYear(numberHash: string): Promise<number> {
    const row = await this.db
      .selectFrom('phone_number_quota')
      .select(['year', 'unlocks'])
      .where('number_hash', '=', numberHash)
      .executeTakeFirst();
    return row && row.year === this.year() ? row.unlocks : 0;
  }

  /**
   * Counts one more unlock for the number this calendar year, unless it has had `limit`
   * already (one conditional upsert: concurrent checks cannot both take the last one). True
   * when counted. A row is one per number and holds only the year: which day or hour a number
   * was used is never written down.
   */
  async addUnlock(numberHash: string, limit: number): Promise<boolean> {
    const year = this.year();
    const row = await this.db
      .insertInto('phone_number_quota')
      .values({ number_hash: numberHash, year, unlocks: 1 })
      .onConflict((oc) =>
        oc
          .column('number_hash')
          .doUpdateSet({
            unlocks: sql`case when phone_number_quota.year = ${year} then phone_number_quota.unlocks + 1 else 1 end`,
            year: sql`${year}`,
          })
          .where(sql<boolean>`phone_number_quota.year <> ${year} or phone_number_quota.unlocks < ${limit}`),
      )
      .returning('unlocks')
      .executeTakeFirst();
    return row !== undefined;
  }

  /** Records a token id; false when it was already there (double spending). */
  async spendToken(tokenId: string, keyId: string): Promise<boolean> {
    const res = await this.db
      .insertInto('redeemed_tokens')
      .values({ token_id: tokenId, key_id: keyId })
      .onConflict((oc) => oc.column('token_id').doNothing())
      .executeTakeFirst();
    return Number(res.numInsertedOrUpdatedRows ?? 0n) === 1;
  }
}
