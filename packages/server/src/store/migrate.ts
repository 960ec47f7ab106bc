import { Migrator, SqliteAdapter, sql, type Kysely, type MigrationResult } from 'kysely';
import { CodedError } from '@conclave/protocol';
import { MIGRATIONS } from './migrations/index.js';

/** A migration failed, or the database is newer than this code: the server does not start. */
export class MigrationError extends CodedError {
  constructor(
    message: string,
    readonly results: MigrationResult[],
  ) {
    super('internal_error', message);
    this.name = 'MigrationError';
  }
}

function migrator(db: Kysely<unknown>): Migrator {
  return new Migrator({ db, provider: { getMigrations: () => Promise.resolve(MIGRATIONS) } });
}

/**
 * Brings the schema to the newest version. Each migration runs in its own transaction (Kysely
 * takes a lock so two processes do not migrate at once). Returns the names applied now.
 * Throws `MigrationError` when one fails, or when the database knows a migration this code
 * does not (a newer server wrote it: refuse to run against a schema we do not understand).
 */
export async function migrateToLatest<T>(db: Kysely<T>): Promise<string[]> {
  const { error, results = [] } = await migrator(db as Kysely<unknown>).migrateToLatest();
  if (error) {
    const failed = results.find((r) => r.status === 'Error');
    const reason = error instanceof Error ? error.message : String(error);
    throw new MigrationError(
      failed ? `migration ${failed.migrationName} failed: ${reason}` : `migrations failed: ${reason}`,
      results,
    );
  }
  const applied = results.filter((r) => r.status === 'Success').map((r) => r.migrationName);
  if (applied.some((name) => REWRITE_AFTER.has(name))) await rewriteFile(db as Kysely<unknown>);
  return applied;
}

/**
 * Migrations after which the SQLite file is rebuilt (`VACUUM`) and the WAL truncated: they
 * removed data whose old bytes earlier deletes (before `secure_delete` was on) may have left in
 * free space. 0009 dropped the pending SMS codes (number hashes and expiry times).
 */
const REWRITE_AFTER = new Set(['0009_pending_codes_in_memory']);

async function rewriteFile(db: Kysely<unknown>): Promise<void> {
  if (!(db.getExecutor().adapter instanceof SqliteAdapter)) return;
  await sql`vacuum`.execute(db);
  await sql`pragma wal_checkpoint(truncate)`.execute(db);
}

/** Names of the migrations applied to this database, oldest first. */
export async function appliedMigrations<T>(db: Kysely<T>): Promise<string[]> {
  const all = await migrator(db as Kysely<unknown>).getMigrations();
  return all.filter((m) => m.executedAt !== undefined).map((m) => m.name);
}
