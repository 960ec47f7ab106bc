import type { Kysely } from 'kysely';

/**
 * Meetings remember the account that created them: hosting needs an account now (see
 * accounts/entitlement.ts), and moderation (Report a User) must be able to find a meeting's
 * host. Nullable: meetings created before this migration have none.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('meetings')
    .addColumn('host_user_id', 'text', (c) => c.references('users.id').onDelete('set null'))
    .execute();
}
