import type { Kysely } from 'kysely';

/**
 * Admission state that must outlive a connection and a restart (see meeting/admission-store.ts):
 * - `resume_tokens`: one row per participant holding a resume token — only the SHA-256 of the
 *   token, the admission state it resumes into, and the identity it is bound to; deleted on
 *   leave, deny, remove and meeting end; `expires_at` is set when the connection drops.
 * - `meeting_removals`: who was removed from (or banned from) a meeting, as SHA-256 hashes of
 *   the account id, device id, MLS signature key and network; deleted when the meeting ends.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('resume_tokens')
    .addColumn('token_hash', 'text', (c) => c.primaryKey())
    .addColumn('meeting_id', 'text', (c) => c.notNull())
    .addColumn('participant_id', 'text', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('role', 'text', (c) => c.notNull())
    .addColumn('device_id', 'text', (c) => c.notNull())
    .addColumn('user_id', 'text')
    .addColumn('signature_key', 'text')
    .addColumn('display_name', 'text', (c) => c.notNull())
    .addColumn('expires_at', 'text')
    .addUniqueConstraint('resume_tokens_participant', ['meeting_id', 'participant_id'])
    .execute();
  await db.schema.createIndex('resume_tokens_expiry').on('resume_tokens').column('expires_at').execute();
  await db.schema
    .createTable('meeting_removals')
    .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
    .addColumn('meeting_id', 'text', (c) => c.notNull())
    .addColumn('mark', 'text', (c) => c.notNull())
    .addColumn('banned', 'integer', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('meeting_removals_mark')
    .on('meeting_removals')
    .columns(['meeting_id', 'mark'])
    .execute();
}
