import { chmodSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
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
  // Another process (e.g. `conclave admin`) may hold the write lock briefly.
  sqlite.pragma('busy_timeout = 5000');
  return new Kysely({ dialect: new SqliteDialect({ database: sqlite }) });
}
