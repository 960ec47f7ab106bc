import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ExternalSender } from '@conclave/crypto';
import { Migrator, sql, type Kysely } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import {
  appliedMigrations,
  createDatabase,
  EXTERNAL_SENDER_KEY_NAME,
  loadOrCreateExternalSender,
  migrateToLatest,
  MigrationError,
  SQLITE_FILE_NAME,
  type Db,
} from '../src/index.js';
import { truncateWal } from '../src/store/database.js';
import { MIGRATIONS } from '../src/store/migrations/index.js';
import { tempDir } from './helpers.js';

const ALL = [
  '0001_meetings',
  '0002_server_keys',
  '0003_passcode_attempts',
  '0004_accounts',
  '0005_phone_verification',
  '0006_auth_events',
  '0007_meeting_host_user',
  '0008_admission',
  '0009_pending_codes_in_memory',
  '0010_reports',
];

/** Every file of a directory, with its bytes. */
function filesOf(dir: string): { path: string; bytes: Buffer }[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesOf(path) : [{ path, bytes: readFileSync(path) }];
  });
}

/** The files of `dir` that hold `marker` (ASCII). */
function holding(dir: string, marker: string): string[] {
  return filesOf(dir)
    .filter((f) => f.bytes.includes(Buffer.from(marker, 'latin1')))
    .map((f) => f.path.slice(dir.length + 1));
}

describe('database and migrations', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.reverse()) await c();
    cleanups.length = 0;
  });
  function open(dataDir: string): Db {
    const db = createDatabase({ dataDir });
    cleanups.push(() => db.destroy());
    return db;
  }

  it('creates the data dir and file, in WAL mode, and migrates a fresh database', async () => {
    const dir = tempDir();
    cleanups.push(dir.remove);
    const dataDir = join(dir.path, 'nested', 'data');
    const db = open(dataDir);
    expect(await migrateToLatest(db)).toEqual(ALL);
    expect(await appliedMigrations(db)).toEqual(ALL);
    expect(existsSync(join(dataDir, SQLITE_FILE_NAME))).toBe(true);
    expect(statSync(dataDir).mode & 0o777).toBe(0o700);
    expect(statSync(join(dataDir, SQLITE_FILE_NAME)).mode & 0o777).toBe(0o600);
    const mode = await sql<{ journal_mode: string }>`pragma journal_mode`.execute(db);
    expect(mode.rows[0]?.journal_mode).toBe('wal');
    const tables = await db.introspection.getTables();
    expect(tables.map((t) => t.name).sort()).toEqual([
      'auth_events',
      'banned_keys',
      'device_keys',
      'known_devices',
      'known_networks',
      'meeting_removals',
      'meetings',
      'moderation_keys',
      'moderation_log',
      'passcode_attempts',
      'phone_number_quota',
      'redeemed_tokens',
      'reports',
      'resume_tokens',
      'server_keys',
      'sessions',
      'step_up_tickets',
      'users',
    ]);
  });

  it('re-opens an existing database: nothing to apply, data kept', async () => {
    const dir = tempDir();
    cleanups.push(dir.remove);
    const first = createDatabase({ dataDir: dir.path });
    await migrateToLatest(first);
    await first
      .insertInto('meetings')
      .values({
        id: 'abcdefghij',
        title: 'kept',
        mode: 'e2ee',
        passcode_hash: null,
        host_secret_hash: 'x',
        waiting_room: 0,
        mute_on_entry: 0,
        max_participants: 10,
        locked: 0,
        allow_screen_share: 1,
        created_at: new Date().toISOString(),
        ended_at: null,
        attestation: 1,
      })
      .execute();
    await first.destroy();

    const second = open(dir.path);
    expect(await migrateToLatest(second)).toEqual([]);
    expect(await appliedMigrations(second)).toEqual(ALL);
    const row = await second
      .selectFrom('meetings')
      .select('title')
      .where('id', '=', 'abcdefghij')
      .executeTakeFirst();
    expect(row?.title).toBe('kept');
  });

  it('leaves no deleted row behind: secure_delete zeroes it in the file, truncateWal empties the WAL', async () => {
    const dir = tempDir();
    cleanups.push(dir.remove);
    const db = open(dir.path);
    await migrateToLatest(db);
    const pragma = async (name: string) =>
      Object.values((await sql.raw(`pragma ${name}`).execute(db)).rows[0] as object)[0] as unknown;
    expect(await pragma('secure_delete')).toBe(1);
    expect(await pragma('temp_store')).toBe(2); // memory
    expect(await pragma('journal_mode')).toBe('wal');
    // The database file needs a checkpoint to hold the row at all; then it is deleted.
    const marker = 'deleted-row-marker-7c1e5a';
    await db.insertInto('redeemed_tokens').values({ token_id: marker, key_id: 'k' }).execute();
    expect(holding(dir.path, marker)).toEqual(['conclave.sqlite-wal']);
    expect(await truncateWal(db)).toBe(true);
    expect(holding(dir.path, marker)).toEqual([SQLITE_FILE_NAME]);
    await db.deleteFrom('redeemed_tokens').where('token_id', '=', marker).execute();
    // Deleted, but the WAL still has the page as it was before (with the row) — until truncated.
    expect(statSync(join(dir.path, 'conclave.sqlite-wal')).size).toBeGreaterThan(0);
    expect(await truncateWal(db)).toBe(true);
    expect(statSync(join(dir.path, 'conclave.sqlite-wal')).size).toBe(0);
    expect(holding(dir.path, marker)).toEqual([]);
  });

  it('0009: an older database with pending codes keeps no trace of them (table dropped, file rewritten)', async () => {
    const dir = tempDir();
    cleanups.push(dir.remove);
    const db = open(dir.path);
    // A database of the previous release, with secure_delete off as it ran then.
    await sql`pragma secure_delete = off`.execute(db);
    const migrator = new Migrator({
      db: db as unknown as Kysely<unknown>,
      provider: { getMigrations: () => Promise.resolve(MIGRATIONS) },
    });
    expect((await migrator.migrateTo('0008_admission')).error).toBeUndefined();
    const raw = db as unknown as Kysely<Record<string, Record<string, unknown>>>;
    const row = (n: number) => ({
      id: `verification-id-marker-${n}`,
      number_hash: `number-hash-marker-${n}`,
      code_hash: `code-hash-marker-${n}`,
      attempts: 0,
      resend_after: '2030-01-01T00:01:00.000Z',
      expires_at: '2030-01-01T00:10:00.000Z',
    });
    await raw
      .insertInto('verification_codes')
      .values([row(1), row(2)])
      .execute();
    await sql`pragma wal_checkpoint(truncate)`.execute(db);
    // A used code, deleted without secure_delete: its bytes stay in the page's free space.
    await raw.deleteFrom('verification_codes').where('id', '=', row(1).id).execute();
    await sql`pragma wal_checkpoint(truncate)`.execute(db);
    expect(holding(dir.path, 'number-hash-marker-1')).toEqual([SQLITE_FILE_NAME]);
    await sql`pragma secure_delete = on`.execute(db);

    expect(await migrateToLatest(db)).toEqual(['0009_pending_codes_in_memory', '0010_reports']);
    expect((await db.introspection.getTables()).map((t) => t.name)).not.toContain('verification_codes');
    for (const marker of ['verification-id-marker', 'number-hash-marker', 'code-hash-marker']) {
      expect(holding(dir.path, marker), marker).toEqual([]);
    }
  });

  it('refuses a database migrated by a newer server', async () => {
    const dir = tempDir();
    cleanups.push(dir.remove);
    const db = open(dir.path);
    await migrateToLatest(db);
    await sql`insert into kysely_migration (name, timestamp) values ('9999_future', ${new Date().toISOString()})`.execute(
      db,
    );
    await expect(migrateToLatest(db)).rejects.toThrow(MigrationError);
  });

  it('keeps the external-sender key across restarts', async () => {
    const dir = tempDir();
    cleanups.push(dir.remove);
    const db1 = createDatabase({ dataDir: dir.path });
    await migrateToLatest(db1);
    const a = await loadOrCreateExternalSender(db1);
    expect(a).toBeInstanceOf(ExternalSender);
    expect(a.publicKey.length).toBe(32);
    await db1.destroy();

    const db2 = open(dir.path);
    await migrateToLatest(db2);
    const b = await loadOrCreateExternalSender(db2);
    expect(Buffer.from(b.publicKey)).toEqual(Buffer.from(a.publicKey));
    expect(Buffer.from(b.keys.signKey)).toEqual(Buffer.from(a.keys.signKey));
    const rows = await db2.selectFrom('server_keys').select('name').execute();
    expect(rows).toEqual([{ name: EXTERNAL_SENDER_KEY_NAME }]);
    // The loaded key still signs proposals the way the generated one did.
    const proposal = await b.proposeRemove(new Uint8Array(16).fill(7), 3n, 1);
    expect(proposal.length).toBeGreaterThan(64);
  });

  it('writes nothing outside the data dir', async () => {
    const dir = tempDir();
    cleanups.push(dir.remove);
    const db = open(join(dir.path, 'data'));
    await migrateToLatest(db);
    expect(readdirSync(dir.path)).toEqual(['data']);
    expect(
      readFileSync(join(dir.path, 'data', SQLITE_FILE_NAME))
        .subarray(0, 15)
        .toString(),
    ).toBe('SQLite format 3');
  });
});
