import { sql, type Kysely } from 'kysely';

/** Meetings and their settings; secrets only as scrypt hashes. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('meetings')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('title', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('mode', 'text', (c) => c.notNull().check(sql`mode in ('e2ee', 'standard')`))
    .addColumn('passcode_hash', 'text')
    .addColumn('host_secret_hash', 'text', (c) => c.notNull())
    .addColumn('waiting_room', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('mute_on_entry', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('max_participants', 'integer', (c) => c.notNull())
    .addColumn('locked', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('allow_screen_share', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('ended_at', 'text')
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('meetings').execute();
}
