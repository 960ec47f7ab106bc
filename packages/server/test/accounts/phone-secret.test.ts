import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  ConfigError,
  createDatabase,
  defaultPhoneSecretFile,
  LEGACY_PHONE_SECRET_FILE_NAME,
  loadConfig,
  migrateToLatest,
  PhoneNumberKeys,
  readPhoneSecret,
  startConclave,
  type Db,
} from '../../src/index.js';
import { loadPhoneSecret } from '../../src/verification/phone-secret.js';
import { fakeClock, memoryLogger, tempDir, testConfig } from '../helpers.js';
import { startHarness } from './harness.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function dir(prefix: string): string {
  const d = tempDir(prefix);
  cleanups.push(d.remove);
  return d.path;
}

async function database(dataDir: string): Promise<Db> {
  const db = createDatabase({ dataDir });
  cleanups.push(() => db.destroy());
  await migrateToLatest(db);
  return db;
}

describe('the phone-number key is held outside the data dir', () => {
  it('quick start: made 0600 at $XDG_CONFIG_HOME/conclave (else ~/.config/conclave), announced once, the same on the next start', () => {
    const config = dir('conclave-xdg-');
    const dataDir = dir('conclave-data-');
    const env = { XDG_CONFIG_HOME: config };
    expect(defaultPhoneSecretFile(env)).toBe(join(config, 'conclave', 'phone-secret.key'));
    expect(defaultPhoneSecretFile({ HOME: '/home/olga' })).toBe(
      '/home/olga/.config/conclave/phone-secret.key',
    );
    // A relative XDG_CONFIG_HOME is ignored (the XDG spec).
    expect(defaultPhoneSecretFile({ XDG_CONFIG_HOME: 'rel', HOME: '/home/olga' })).toBe(
      '/home/olga/.config/conclave/phone-secret.key',
    );

    const log = memoryLogger();
    const first = loadPhoneSecret({ dataDir }, log.logger, env);
    const path = join(config, 'conclave', 'phone-secret.key');
    expect(first).toMatchObject({ created: true, location: { kind: 'file', path, configured: false } });
    expect(first.key).toHaveLength(32);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(join(config, 'conclave')).mode & 0o777).toBe(0o700);
    const announced = log.lines.filter((l) => l.includes('made the phone-number key'));
    expect(announced).toHaveLength(1);
    expect(announced[0]).toContain(path);
    expect(announced[0]).toContain('yearly per-number quota');

    const second = loadPhoneSecret({ dataDir }, log.logger, env);
    expect(second.created).toBe(false);
    expect(second.key.equals(first.key)).toBe(true);
    expect(log.lines.filter((l) => l.includes('made the phone-number key'))).toHaveLength(1);
    // Nothing in the data dir.
    expect(existsSync(join(dataDir, LEGACY_PHONE_SECRET_FILE_NAME))).toBe(false);
  });

  it('refuses a key file inside the data dir, links resolved, naming the setting', async () => {
    const dataDir = dir('conclave-data-');
    const outside = dir('conclave-outside-');
    const inside = (file: string) => () =>
      readPhoneSecret({ dataDir, phoneSecretFile: file }, { create: true });
    expect(inside(join(dataDir, 'phone.key'))).toThrow(ConfigError);
    expect(inside(join(dataDir, 'keys', 'phone.key'))).toThrow(
      /^Invalid setting phoneSecretFile \(.*\): the phone-number key must be kept outside the data dir/,
    );
    // Through a symbolic link to the data dir.
    symlinkSync(dataDir, join(outside, 'link'));
    expect(inside(join(outside, 'link', 'phone.key'))).toThrow(/phoneSecretFile/);
    // The default place inside the data dir (here XDG_CONFIG_HOME is the data dir).
    expect(() => readPhoneSecret({ dataDir }, { env: { XDG_CONFIG_HOME: dataDir }, create: true })).toThrow(
      /^Invalid setting phoneSecretFile \(default .*\): the default place of the phone-number key is inside the data dir .*set phoneSecretFile .*or phoneSecret \(CONCLAVE_PHONE_SECRET\)/,
    );
    expect(existsSync(join(dataDir, 'phone.key'))).toBe(false);
    expect(existsSync(join(dataDir, 'conclave'))).toBe(false);

    // The server does not start; nothing is left open.
    const log = memoryLogger();
    await expect(
      startConclave(testConfig(dataDir, { phoneSecretFile: join(dataDir, 'phone.key') }), {
        media: false,
        logger: log.logger,
        webRoot: null,
      }),
    ).rejects.toThrow(/Invalid setting phoneSecretFile/);
    // A file next to the data dir is fine.
    expect(
      readPhoneSecret({ dataDir, phoneSecretFile: join(outside, 'phone.key') }, { create: true }).created,
    ).toBe(true);
  });

  it('takes the key itself from CONCLAVE_PHONE_SECRET (no file), not with a file as well, and refuses short or garbled keys', () => {
    const dataDir = dir('conclave-data-');
    const xdg = dir('conclave-xdg-');
    const key = randomBytes(32);
    const config = loadConfig(['--data-dir', dataDir], { CONCLAVE_PHONE_SECRET: key.toString('base64') });
    const secret = readPhoneSecret(config, { env: { XDG_CONFIG_HOME: xdg }, create: true });
    expect(secret).toMatchObject({ created: false, location: { kind: 'setting' } });
    expect(secret.key.equals(key)).toBe(true);
    expect(existsSync(join(xdg, 'conclave'))).toBe(false);

    expect(() =>
      loadConfig([], { CONCLAVE_PHONE_SECRET: key.toString('base64'), CONCLAVE_PHONE_SECRET_FILE: '/etc/k' }),
    ).toThrow(/phoneSecret\/phoneSecretFile: .*not both/);
    expect(() => loadConfig([], { CONCLAVE_PHONE_SECRET: randomBytes(16).toString('base64') })).toThrow(
      /Invalid setting phoneSecret \(CONCLAVE_PHONE_SECRET=.*\): must be at least 32 bytes of base64/,
    );
    expect(() => loadConfig([], { CONCLAVE_PHONE_SECRET: 'not base64 at all, is it? '.repeat(3) })).toThrow(
      /phoneSecret/,
    );
    const file = join(xdg, 'short.key');
    writeFileSync(file, randomBytes(8).toString('base64'));
    expect(() => readPhoneSecret({ dataDir, phoneSecretFile: file })).toThrow(/at least 32 bytes of base64/);
  });

  it("destroys an older version's key file in the data dir at start, and the quota rows keyed by it", async () => {
    const dataDir = dir('conclave-data-');
    const legacy = join(dataDir, LEGACY_PHONE_SECRET_FILE_NAME);
    writeFileSync(legacy, `${randomBytes(32).toString('base64')}\n`, { mode: 0o600 });
    const db = await database(dataDir);
    await db
      .insertInto('phone_number_quota')
      .values({ number_hash: 'legacyHmacOfANumber', year: 2030, unlocks: 2 })
      .execute();
    await db.destroy();

    const h = await startHarness({ dataDir });
    cleanups.push(() => h.close());
    expect(existsSync(legacy)).toBe(false);
    expect(h.log.lines.some((l) => l.includes('destroyed the phone-number key older versions kept'))).toBe(
      true,
    );
    expect(await h.db.selectFrom('phone_number_quota').selectAll().execute()).toEqual([]);
  });
});

describe('the yearly keys (PhoneNumberKeys)', () => {
  it("makes this year's and next year's key; hashes carry the key id; New Year destroys last year's key and rows", async () => {
    const dataDir = dir('conclave-data-');
    const db = await database(dataDir);
    const clock = fakeClock(Date.UTC(2030, 11, 31, 23, 59));
    const admin = randomBytes(32);
    const log = memoryLogger();
    const keys = new PhoneNumberKeys(db, admin, clock.now, log.logger);
    expect(() => keys.current()).toThrow(/no phone-number key for 2030/);
    await keys.refresh();
    const y2030 = keys.current();
    const hash = y2030.numberHash('+447400123456');
    expect(hash).toMatch(new RegExp(`^${y2030.id}:[A-Za-z0-9_-]{43}$`));
    expect(y2030.numberHash('+447400123456')).toBe(hash);
    expect(y2030.numberHash('+447400123457')).not.toBe(hash);
    const names = async () =>
      (await db.selectFrom('server_keys').select('name').orderBy('name').execute()).map((r) => r.name);
    expect(await names()).toEqual(['phone-number-key/2030', 'phone-number-key/2031']);
    await db.insertInto('phone_number_quota').values({ number_hash: hash, year: 2030, unlocks: 1 }).execute();

    // Another process (a second server) loads the same keys.
    const other = new PhoneNumberKeys(db, admin, clock.now);
    await other.refresh();
    expect(other.current().numberHash('+447400123456')).toBe(hash);

    // Midnight: next year's key is already there, before any refresh.
    clock.advance(60_000);
    const y2031 = keys.current();
    expect(y2031.year).toBe(2031);
    expect(y2031.numberHash('+447400123456')).not.toBe(hash);
    await keys.refresh();
    expect(await names()).toEqual(['phone-number-key/2031', 'phone-number-key/2032']);
    expect(await db.selectFrom('phone_number_quota').selectAll().execute()).toEqual([]);
    expect(log.lines.some((l) => l.includes('destroyed the phone-number key of a past year'))).toBe(true);
  });

  it('destroys keys made with another admin key (lost or replaced), and picks up a rotation made elsewhere', async () => {
    const dataDir = dir('conclave-data-');
    const db = await database(dataDir);
    const clock = fakeClock();
    const first = new PhoneNumberKeys(db, randomBytes(32), clock.now);
    await first.refresh();
    const oldHash = first.current().numberHash('+447400123456');
    await db
      .insertInto('phone_number_quota')
      .values({ number_hash: oldHash, year: 2030, unlocks: 3 })
      .execute();

    const log = memoryLogger();
    const replaced = new PhoneNumberKeys(db, randomBytes(32), clock.now, log.logger);
    await replaced.refresh();
    expect(log.lines.filter((l) => l.includes('made with another admin key'))).toHaveLength(2);
    expect(await db.selectFrom('phone_number_quota').selectAll().execute()).toEqual([]);
    expect(replaced.current().id).not.toBe(first.current().id);

    // `conclave admin phone-key rotate` in another process while this one runs: the server keeps
    // its old key until its next refresh, and the rows it wrote with it meanwhile go then.
    const admin = randomBytes(32);
    const server = new PhoneNumberKeys(db, admin, clock.now);
    await server.refresh();
    const cli = new PhoneNumberKeys(db, admin, clock.now);
    const rotation = await cli.rotate();
    expect(rotation.destroyed.map((k) => k.year)).toEqual([2030, 2031]);
    expect(rotation.made.map((k) => k.year)).toEqual([2030, 2031]);
    const stale = server.current().numberHash('+447400123456');
    await db
      .insertInto('phone_number_quota')
      .values({ number_hash: stale, year: 2030, unlocks: 1 })
      .execute();
    await server.refresh();
    expect(server.current().id).toBe(cli.current().id);
    expect(await db.selectFrom('phone_number_quota').selectAll().execute()).toEqual([]);
  });

  it('keeps nothing of a destroyed key in the database files', async () => {
    const dataDir = dir('conclave-data-');
    const db = await database(dataDir);
    const keys = new PhoneNumberKeys(db, randomBytes(32), fakeClock().now);
    await keys.refresh();
    const salts = (await db.selectFrom('server_keys').select('private_key').execute()).map(
      (r) => r.private_key,
    );
    const hash = keys.current().numberHash('+447400123456');
    await db.insertInto('phone_number_quota').values({ number_hash: hash, year: 2030, unlocks: 1 }).execute();
    const bytes = () =>
      ['conclave.sqlite', 'conclave.sqlite-wal']
        .map((f) => join(dataDir, f))
        .filter(existsSync)
        .map((f) => readFileSync(f));
    for (const s of salts) expect(bytes().some((b) => b.includes(s))).toBe(true);
    await keys.rotate();
    for (const b of bytes()) {
      for (const s of salts) expect(b.includes(s)).toBe(false);
      expect(b.includes(hash)).toBe(false);
    }
  });
});
