import type { Kysely } from 'kysely';

/**
 * The auth-event log: one row per risk decision (sign-in, sign-up, verification start, meeting
 * creation) with its score, decision and reasons, and one per failed sign-in step (the failure
 * counts are read from here). `reports`: the start of Report a User; for now only what the risk
 * engine counts (open reports against an account).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('auth_events')
    // `integer primary key` is SQLite's rowid alias; a PostgreSQL migration would use `serial`.
    .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
    .addColumn('user_id', 'text', (c) => c.references('users.id').onDelete('set null'))
    .addColumn('action', 'text', (c) => c.notNull())
    .addColumn('outcome', 'text', (c) => c.notNull())
    .addColumn('score', 'integer', (c) => c.notNull())
    .addColumn('decision', 'text', (c) => c.notNull())
    .addColumn('reasons', 'text', (c) => c.notNull())
    .addColumn('ip_prefix', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('auth_events_by_user')
    .on('auth_events')
    .columns(['user_id', 'created_at'])
    .execute();
  await db.schema
    .createIndex('auth_events_by_network')
    .on('auth_events')
    .columns(['ip_prefix', 'created_at'])
    .execute();

  await db.schema
    .createTable('reports')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('reported_user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('status', 'text', (c) => c.notNull().defaultTo('open'))
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('reports_by_user')
    .on('reports')
    .columns(['reported_user_id', 'status'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('reports').execute();
  await db.schema.dropTable('auth_events').execute();
}
