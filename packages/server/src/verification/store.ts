import { sql } from 'kysely';
import type { Db, VerificationCodesTable } from '../store/schema.js';

/**
 * The verification tables (migration 0005). Every write is one statement, so no transaction
 * is held across awaits and concurrent requests stay correct on any dialect: attempts are
 * counted by a conditional UPDATE, a code is consumed by the DELETE that removes it, the quota
 * grows by a conditional UPSERT, and a token is spent by the INSERT of its id.
 *
 * What is kept, and how precisely in time: a pending code (number HMAC, expiry) for at most its
 * 10 minutes; per number, the calendar year and a count; per token, its id. Nothing here holds
 * a user id, an IP address or a day.
 */
export class VerificationStore {
  constructor(
    private readonly db: Db,
    private readonly now: () => number = Date.now,
  ) {}

  private iso(offsetMs = 0): string {
    return new Date(this.now() + offsetMs).toISOString();
  }

  /** Forgets codes whose expiry has passed (with their number hashes). */
  async purgeExpired(): Promise<void> {
    await this.db.deleteFrom('verification_codes').where('expires_at', '<=', this.iso()).execute();
  }

  async pendingForNumber(numberHash: string): Promise<VerificationCodesTable | undefined> {
    return this.db
      .selectFrom('verification_codes')
      .selectAll()
      .where('number_hash', '=', numberHash)
      .where('expires_at', '>', this.iso())
      .executeTakeFirst();
  }

  async get(id: string): Promise<VerificationCodesTable | undefined> {
    return this.db.selectFrom('verification_codes').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async insert(row: VerificationCodesTable): Promise<void> {
    await this.db.insertInto('verification_codes').values(row).execute();
  }

  /** Removes a code; true when this call removed it (so exactly one caller consumes a code). */
  async delete(id: string): Promise<boolean> {
    const res = await this.db.deleteFrom('verification_codes').where('id', '=', id).executeTakeFirst();
    return Number(res.numDeletedRows) === 1;
  }

  async deleteForNumber(numberHash: string): Promise<void> {
    await this.db.deleteFrom('verification_codes').where('number_hash', '=', numberHash).execute();
  }

  /** Takes one attempt of an unexpired code; undefined when none is left (or no such code). */
  async takeAttempt(id: string, maxAttempts: number): Promise<VerificationCodesTable | undefined> {
    return this.db
      .updateTable('verification_codes')
      .set((eb) => ({ attempts: eb('attempts', '+', 1) }))
      .where('id', '=', id)
      .where('attempts', '<', maxAttempts)
      .where('expires_at', '>', this.iso())
      .returningAll()
      .executeTakeFirst();
  }

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
