import type { Kysely } from 'kysely';

/**
 * Wrong passcode attempts, for the per-(meeting, client) limit. Kept in the database rather
 * than in memory so the limit survives restarts and, later, holds across several server nodes
 * sharing PostgreSQL. Rows older than the window are pruned as new ones are written.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('passcode_attempts')
    // `integer primary key` is SQLite's rowid alias; a PostgreSQL migration would use `serial`.
    .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
    .addColumn('meeting_id', 'text', (c) => c.notNull().references('meetings.id').onDelete('cascade'))
    .addColumn('client_key', 'text', (c) => c.notNull())
    .addColumn('attempted_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('passcode_attempts_by_client')
    .on('passcode_attempts')
    .columns(['meeting_id', 'client_key', 'attempted_at'])
    .execute();
  await db.schema
    .createIndex('passcode_attempts_by_time')
    .on('passcode_attempts')
    .column('attempted_at')
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('passcode_attempts').execute();
}
