import { chmodSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, SqliteAdapter, SqliteDialect, sql } from 'kysely';
import type { ServerConfig } from '../config.js';
import type { Db } from './schema.js';

export const SQLITE_FILE_NAME = 'conclave.sqlite';

/**
 * Opens the server's database and picks the dialect.
 *
 * Only SQLite (better-sqlite3, file `<dataDir>/conclave.sqlite`) is implemented now. Every
 * query goes through Kysely's query builder and the schema avoids SQLite-only types (see
 * schema.ts), so a PostgreSQL dialect (`kysely`'s PostgresDialect over `pg`, chosen by a future
 * `CONCLAVE_DATABASE_URL`) can be added here without touching callers.
 *
 * The data dir is created with mode 0700 and the file chmod-ed to 0600: it holds the server's
 * private signing key and the secret hashes. Migrations are not run here (see migrate.ts).
 *
 * Deleted rows leave nothing behind in the files (docs/architecture.md, "Accounts, phone
 * verification, risk"): `secure_delete = ON` overwrites a deleted row's bytes (and freed pages)
 * with zeros in the database file, temporary tables and sorts stay in memory, and the WAL —
 * which keeps every page as it was written, deleted rows included, until it is reset — is
 * truncated to nothing by `truncateWal` right after the phone check's writes and once a minute
 * otherwise (storage.ts). Measured on a development VM (virtual disk), single-row insert+delete
 * transactions: WAL 30 µs a statement, WAL with secure_delete 35–45 µs, a TRUNCATE checkpoint
 * after every write 0.7–1 ms, a rollback journal (`journal_mode = DELETE` or `TRUNCATE`, which
 * keep no old pages after a commit) 1.0–1.2 ms: so WAL stays, with truncating checkpoints
 * where they matter instead of a journal mode 30 times slower for every write.
 */
export function createDatabase(config: Pick<ServerConfig, 'dataDir'>): Db {
  return openSqlite(config.dataDir);
}

function openSqlite(dataDir: string): Db {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const file = join(dataDir, SQLITE_FILE_NAME);
  const isNew = !existsSync(file);
  const sqlite = new BetterSqlite3(file);
  if (isNew) chmodSync(file, 0o600);
  // WAL: readers do not block the writer; NORMAL sync is durable across process crashes in WAL
  // mode (a power cut may lose the last transactions, never corrupt the file).
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('secure_delete = ON');
  sqlite.pragma('temp_store = MEMORY');
  // Another process (e.g. `conclave admin`) may hold the write lock briefly.
  sqlite.pragma('busy_timeout = 5000');
  return new Kysely({ dialect: new SqliteDialect({ database: sqlite }) });
}

/**
 * Copies the WAL into the database file and truncates it to zero bytes (`wal_checkpoint
 * (TRUNCATE)`), so no old version of a page — a deleted or updated row — stays in the WAL.
 * Runs through Kysely, so it waits for a transaction in flight on this connection. False when
 * it could not finish (another process, e.g. `conclave admin`, is reading: the next call
 * retries) or the database is not SQLite; never throws.
 */
export async function truncateWal(db: Db): Promise<boolean> {
  if (!(db.getExecutor().adapter instanceof SqliteAdapter)) return false;
  try {
    const { rows } = await sql<{ busy: number }>`pragma wal_checkpoint(truncate)`.execute(db);
    return rows[0]?.busy === 0;
  } catch {
    return false;
  }
}
