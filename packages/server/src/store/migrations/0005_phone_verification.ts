import { SqliteAdapter, sql, type CreateTableBuilder, type Kysely } from 'kysely';

/**
 * One-time phone verification, designed so that no row links a phone number to an account:
 *
 * - `verification_codes`: a pending SMS code, keyed by a random verification id, with the
 *   number's HMAC, the code's HMAC, attempts and expiry. No user id, no IP. Deleted when the
 *   code is used, and when it has expired.
 * - `phone_number_quota`: per number HMAC, how many accounts it unlocked in a calendar year
 *   (UTC) and which year: no day, no time, so nothing to line up with an account's events.
 * - `redeemed_tokens`: ids (SHA-256) of redeemed blind-signed tokens, against double spending,
 *   with the key that signed them; no user id, no time (the account only gets a flag).
 *
 * On SQLite these are WITHOUT ROWID tables: rows are ordered by their random or hashed keys,
 * so not even an insertion order is left to compare with the order of account events.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  const sqlite = db.getExecutor().adapter instanceof SqliteAdapter;
  const noRowid = <T extends string, C extends string>(b: CreateTableBuilder<T, C>) =>
    sqlite ? b.modifyEnd(sql`without rowid`) : b;

  await noRowid(
    db.schema
      .createTable('verification_codes')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('number_hash', 'text', (c) => c.notNull())
      .addColumn('code_hash', 'text', (c) => c.notNull())
      .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('resend_after', 'text', (c) => c.notNull())
      .addColumn('expires_at', 'text', (c) => c.notNull()),
  ).execute();
  await db.schema
    .createIndex('verification_codes_by_number')
    .on('verification_codes')
    .column('number_hash')
    .execute();

  await noRowid(
    db.schema
      .createTable('phone_number_quota')
      .addColumn('number_hash', 'text', (c) => c.primaryKey())
      .addColumn('year', 'integer', (c) => c.notNull())
      .addColumn('unlocks', 'integer', (c) => c.notNull()),
  ).execute();

  await noRowid(
    db.schema
      .createTable('redeemed_tokens')
      .addColumn('token_id', 'text', (c) => c.primaryKey())
      .addColumn('key_id', 'text', (c) => c.notNull()),
  ).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const t of ['redeemed_tokens', 'phone_number_quota', 'verification_codes']) {
    await db.schema.dropTable(t).execute();
  }
}
