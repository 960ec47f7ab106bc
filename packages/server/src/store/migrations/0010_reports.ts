import { sql, type Kysely } from 'kysely';

/**
 * Report a User (issue 13) and moderation:
 * - `reports` is dropped and made again (0006's table held only what the risk engine counted and
 *   nothing but tests wrote it): who reported whom in which meeting, the verdicts of the
 *   evidence in clear (`verification`, JSON of the protocol's ReportVerification) and the
 *   evidence itself sealed (HPKE) to a moderation key (`sealed_key_id`), deleted at
 *   `evidence_expires_at`. The reporter is an account or a guest's network (ip prefix as the
 *   risk engine writes it); the reported an account and/or a guest's MLS signature key.
 * - `moderation_log`: the audit log of moderators' actions and evidence expiry.
 * - `moderation_keys`: the moderators' HPKE public keys (the private keys are never here); the
 *   current key is the newest without `retired_at`.
 * - `users.status` / `suspended_until`: what moderation did to an account.
 * - `banned_keys`: SHA-256 (hex) of banned MLS signature keys.
 * - `meetings.attestation`: whether the meeting's members sign frame attestations (default on).
 * - `device_keys_by_key`: the key directory searched by key (whose key a report's evidence names).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('reports_by_user').ifExists().execute();
  await db.schema.dropTable('reports').execute();
  await db.schema
    .createTable('reports')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('meeting_id', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) =>
      c
        .notNull()
        .defaultTo('open')
        .check(sql`status in ('open', 'dismissed', 'actioned')`),
    )
    .addColumn('reason', 'text', (c) => c.notNull())
    .addColumn('text', 'text', (c) => c.notNull())
    .addColumn('reporter_user_id', 'text', (c) => c.references('users.id').onDelete('set null'))
    .addColumn('reporter_network', 'text', (c) => c.notNull())
    .addColumn('reported_user_id', 'text', (c) => c.references('users.id').onDelete('set null'))
    .addColumn('reported_guest_key', 'text')
    .addColumn('reported_name', 'text', (c) => c.notNull())
    .addColumn('verification', 'text', (c) => c.notNull())
    .addColumn('sealed_evidence', 'text')
    .addColumn('sealed_key_id', 'text')
    .addColumn('evidence_expires_at', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('decided_at', 'text')
    .addColumn('outcome', 'text')
    .execute();
  await db.schema
    .createIndex('reports_by_reported')
    .on('reports')
    .columns(['reported_user_id', 'status'])
    .execute();
  await db.schema
    .createIndex('reports_by_reporter')
    .on('reports')
    .columns(['reporter_user_id', 'created_at'])
    .execute();
  await db.schema
    .createIndex('reports_by_network')
    .on('reports')
    .columns(['reporter_network', 'created_at'])
    .execute();
  await db.schema.createIndex('reports_by_meeting').on('reports').column('meeting_id').execute();

  await db.schema
    .createTable('moderation_log')
    // `integer primary key` is SQLite's rowid alias; a PostgreSQL migration would use `serial`.
    .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
    .addColumn('at', 'text', (c) => c.notNull())
    .addColumn('actor', 'text', (c) => c.notNull())
    .addColumn('action', 'text', (c) => c.notNull())
    // No foreign keys: the audit log outlives the reports and accounts it names.
    .addColumn('report_id', 'text')
    .addColumn('account_id', 'text')
    .addColumn('detail', 'text', (c) => c.notNull().defaultTo(''))
    .execute();
  await db.schema
    .createIndex('moderation_log_by_account')
    .on('moderation_log')
    .columns(['account_id', 'at'])
    .execute();
  await db.schema.createIndex('moderation_log_by_report').on('moderation_log').column('report_id').execute();

  await db.schema
    .createTable('moderation_keys')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('public_key', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('retired_at', 'text')
    .execute();

  await db.schema
    .alterTable('users')
    .addColumn('status', 'text', (c) =>
      c
        .notNull()
        .defaultTo('active')
        .check(sql`status in ('active', 'suspended', 'banned')`),
    )
    .execute();
  await db.schema.alterTable('users').addColumn('suspended_until', 'text').execute();

  await db.schema
    .createTable('banned_keys')
    .addColumn('key_hash', 'text', (c) => c.primaryKey())
    .addColumn('account_id', 'text')
    .addColumn('report_id', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();

  // A report names the reported member by its MLS signature key: the key directory is searched by key.
  await db.schema.createIndex('device_keys_by_key').on('device_keys').column('public_key').execute();

  await db.schema
    .alterTable('meetings')
    .addColumn('attestation', 'integer', (c) => c.notNull().defaultTo(1))
    .execute();
}
