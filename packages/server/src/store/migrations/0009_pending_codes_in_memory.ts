import { SqliteAdapter, sql, type Kysely } from 'kysely';

/**
 * Pending SMS codes move out of the database into memory (verification/pending-codes.ts): the
 * `verification_codes` table of 0005 goes. The connection runs with `secure_delete = ON`
 * (store/database.ts), so the rows and pages dropped here are overwritten with zeros; what
 * earlier deletes without it left in free space is rewritten by the `VACUUM` migrate.ts runs
 * after this migration (it cannot run inside the migration's transaction).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`delete from verification_codes`.execute(db);
  await db.schema.dropIndex('verification_codes_by_number').execute();
  await db.schema.dropTable('verification_codes').execute();
}

/** Back to 0005's table (empty: the codes pending in memory are not written down). */
export async function down(db: Kysely<unknown>): Promise<void> {
  const sqlite = db.getExecutor().adapter instanceof SqliteAdapter;
  const table = db.schema
    .createTable('verification_codes')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('number_hash', 'text', (c) => c.notNull())
    .addColumn('code_hash', 'text', (c) => c.notNull())
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('resend_after', 'text', (c) => c.notNull())
    .addColumn('expires_at', 'text', (c) => c.notNull());
  await (sqlite ? table.modifyEnd(sql`without rowid`) : table).execute();
  await db.schema
    .createIndex('verification_codes_by_number')
    .on('verification_codes')
    .column('number_hash')
    .execute();
}
