import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ExternalSender } from '@conclave/crypto';
import { sql } from 'kysely';
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
];

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
      'device_keys',
      'known_devices',
      'known_networks',
      'meeting_removals',
      'meetings',
      'passcode_attempts',
      'phone_number_quota',
      'redeemed_tokens',
      'reports',
      'resume_tokens',
      'server_keys',
      'sessions',
      'step_up_tickets',
      'users',
      'verification_codes',
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
