import { createHash, createHmac } from 'node:crypto';
import { cpSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { adminRotatePhoneKeys, readPhoneSecret, SQLITE_FILE_NAME, YearKey } from '../../src/index.js';
import { tempDir } from '../helpers.js';
import { obtainPhoneToken, startHarness, type Harness } from './harness.js';

/**
 * The enumeration attack on the phone quota: someone with a copy of the data dir hashes every
 * candidate number with every key material the copy holds and looks the hashes up in
 * `phone_number_quota`. The candidates here are the 10^4 numbers around the one used
 * (+44 7400 12xxxx); the real attack walks all UK mobiles the same way, in about 37 core-minutes.
 */

const NUMBER = '+447400123456';
const CANDIDATES = Array.from({ length: 10_000 }, (_, i) => `+44740012${String(i).padStart(4, '0')}`);

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : [path];
  });
}

/** A copy of the data dir as a backup would take it: every file, the database open and in use. */
function copy(dataDir: string): { path: string; remove(): void } {
  const dir = tempDir('conclave-stolen-');
  cpSync(dataDir, dir.path, { recursive: true });
  return dir;
}

interface Stolen {
  /** Every value that could be a key: file contents and every database cell, raw and decoded. */
  material: Buffer[];
  /** The salts of the year keys (`server_keys` rows `phone-number-key/<year>`). */
  salts: { year: number; salt: Buffer }[];
  /** The quota rows' number hashes. */
  hashes: string[];
}

function decodings(text: string): Buffer[] {
  const out: Buffer[] = [Buffer.from(text, 'utf8')];
  const t = text.trim();
  if (t !== text) out.push(Buffer.from(t, 'utf8'));
  if (/^[A-Za-z0-9+/=_-]{16,}$/.test(t)) out.push(Buffer.from(t, 'base64'), Buffer.from(t, 'base64url'));
  if (/^([0-9a-f]{2}){8,}$/i.test(t)) out.push(Buffer.from(t, 'hex'));
  // `<id>:<mac>` and the like: the parts too.
  if (/[:.]/.test(t) && t.length < 200)
    for (const part of t.split(/[:.]/)) if (part) out.push(...decodings(part));
  return out;
}

function readStolen(dir: string): Stolen {
  const material: Buffer[] = [];
  for (const file of files(dir)) {
    const bytes = readFileSync(file);
    material.push(bytes);
    if (bytes.length < 4096) material.push(...decodings(bytes.toString('utf8')));
  }
  const db = new BetterSqlite3(join(dir, SQLITE_FILE_NAME));
  try {
    const tables = db
      .prepare(`select name from sqlite_master where type = 'table' and name not like 'sqlite_%'`)
      .all() as { name: string }[];
    for (const { name } of tables) {
      for (const row of db.prepare(`select * from "${name}"`).all() as Record<string, unknown>[]) {
        for (const v of Object.values(row)) {
          if (Buffer.isBuffer(v)) material.push(v);
          else if (v !== null) material.push(...decodings(String(v)));
        }
      }
    }
    const salts = (
      db.prepare(`select name, private_key from server_keys where name like 'phone-number-key/%'`).all() as {
        name: string;
        private_key: string;
      }[]
    ).map((r) => ({ year: Number(r.name.split('/')[1]), salt: Buffer.from(r.private_key, 'base64') }));
    const hashes = (
      db.prepare('select number_hash from phone_number_quota').all() as { number_hash: string }[]
    ).map((r) => r.number_hash);
    const unique = new Map(material.filter((m) => m.length > 0).map((m) => [m.toString('hex'), m]));
    return { material: [...unique.values()], salts, hashes };
  } finally {
    db.close();
  }
}

/**
 * The attack: every key in `keys` as the number key itself (the old scheme's message and the
 * yearly one's), and as the admin key with every salt; the candidates whose hash is a row.
 */
function enumerate(keys: Buffer[], salts: Stolen['salts'], hashes: string[]): string[] {
  const rows = new Set(hashes);
  const macs = new Set(hashes.map((h) => h.slice(h.indexOf(':') + 1)));
  const found = new Set<string>();
  for (const long of keys) {
    // HMAC hashes a key longer than its block first (RFC 2104): the same MACs, hashed once.
    const key = long.length > 64 ? createHash('sha256').update(long).digest() : long;
    const yearKeys = salts.map((s) => YearKey.derive(key, s.year, s.salt));
    for (const n of CANDIDATES) {
      for (const message of [`conclave/phone-number/v1\n${n}`, `conclave/phone-number/v2\n${n}`]) {
        if (macs.has(createHmac('sha256', key).update(message).digest('base64url'))) found.add(n);
      }
      for (const yk of yearKeys) if (rows.has(yk.numberHash(n))) found.add(n);
    }
  }
  return [...found];
}

/** Whether any file of the directory holds the bytes (raw or as the base64 the database keeps). */
function holds(dir: string, value: Buffer | string): boolean {
  const needles =
    typeof value === 'string' ? [Buffer.from(value)] : [value, Buffer.from(value.toString('base64'))];
  return files(dir).some((f) => {
    const bytes = readFileSync(f);
    return needles.some((n) => bytes.includes(n));
  });
}

describe('enumerating phone numbers from a copy of the data dir', () => {
  const cleanups: (() => unknown)[] = [];
  let h: Harness;
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  async function start() {
    const keyDir = tempDir('conclave-phone-key-');
    cleanups.push(keyDir.remove);
    const config = { phoneSecretFile: join(keyDir.path, 'phone-secret.key') };
    h = await startHarness({ config });
    cleanups.push(() => h.close());
    const adminKey = readPhoneSecret({ dataDir: h.dataDir, ...config })?.key;
    if (!adminKey) throw new Error('the server made no phone key');
    return { config, adminKey };
  }

  async function verify(number: string) {
    await obtainPhoneToken(h, number);
  }

  function stolen(): { dir: string; loot: Stolen } {
    const dir = copy(h.dataDir);
    cleanups.push(dir.remove);
    return { dir: dir.path, loot: readStolen(dir.path) };
  }

  // About 2.4 million HMACs (61 key candidates in the copy, four ways each, 10^4 numbers): 6 s on
  // an idle core, several times that on a loaded test machine.
  it(
    'finds nothing with the data dir alone, the number with the admin key, and nothing once the key is rotated',
    { timeout: 180_000 },
    async () => {
      const { config, adminKey } = await start();
      await verify(NUMBER);
      await verify('+447400999888'); // another number, outside the candidates

      const before = stolen();
      expect(before.loot.hashes).toHaveLength(2);
      expect(before.loot.salts.map((s) => s.year)).toEqual([2030, 2031]);
      // The key is not in the copy, in any form.
      expect(holds(before.dir, adminKey)).toBe(false);
      expect(before.loot.material.length).toBeGreaterThan(20);

      // Every key material the copy holds: no quota row matches any candidate.
      expect(enumerate(before.loot.material, before.loot.salts, before.loot.hashes)).toEqual([]);
      // The admin key (outside the data dir) with the copy's salts finds the number: the attack works.
      expect(enumerate([adminKey], before.loot.salts, before.loot.hashes)).toEqual([NUMBER]);
      // So would its file, had it been in the data dir (read as every file of the copy is read).
      expect(
        enumerate(
          decodings(readFileSync(config.phoneSecretFile, 'utf8')),
          before.loot.salts,
          before.loot.hashes,
        ),
      ).toEqual([NUMBER]);
      // And the byte search sees the salts where they are.
      for (const { salt } of before.loot.salts) expect(holds(before.dir, salt)).toBe(true);

      // Rotation (what `conclave admin phone-key rotate` runs); the server picks it up at its next
      // refresh (its minute timer's work, run here). The number is used again under the new key.
      const rotation = await adminRotatePhoneKeys(
        h.db,
        { dataDir: h.dataDir, ...config },
        { now: h.clock.now },
      );
      expect(rotation.quotaRowsDropped).toBe(2);
      expect(rotation.walTruncated).toBe(true);
      await h.app.accounts.phoneKeys.refresh();
      h.clock.advance(61_000);
      await verify(NUMBER);

      const after = stolen();
      // The rows from before the rotation, even held from the old copy, cannot be tested any more,
      // not even with the admin key: the salts are gone, from the tables and from the files' bytes.
      expect(enumerate([adminKey], after.loot.salts, before.loot.hashes)).toEqual([]);
      for (const { salt } of before.loot.salts) expect(holds(after.dir, salt)).toBe(false);
      for (const hash of before.loot.hashes) expect(holds(after.dir, hash)).toBe(false);
      // The new row is found with the admin key (the attack still works)…
      expect(enumerate([adminKey], after.loot.salts, after.loot.hashes)).toEqual([NUMBER]);
      // …and the new copy holds the admin key no more than the old one did.
      expect(holds(after.dir, adminKey)).toBe(false);
    },
  );

  it('destroys the year key with its year: after New Year the admin key finds nothing of last year', async () => {
    const { adminKey } = await start();
    await verify(NUMBER);
    const before = stolen();
    expect(enumerate([adminKey], before.loot.salts, before.loot.hashes)).toEqual([NUMBER]);

    h.clock.advance(365 * 86_400_000); // 2031-01-01
    await h.app.accounts.phoneKeys.refresh(); // the minute timer's work
    const after = stolen();
    expect(after.loot.salts.map((s) => s.year)).toEqual([2031, 2032]);
    expect(after.loot.hashes).toEqual([]);
    expect(enumerate([adminKey], after.loot.salts, before.loot.hashes)).toEqual([]);
    const salt2030 = before.loot.salts.find((s) => s.year === 2030)?.salt;
    expect(salt2030 && holds(after.dir, salt2030)).toBe(false);
    for (const hash of before.loot.hashes) expect(holds(after.dir, hash)).toBe(false);
  });
});
