import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { verificationCheckResponse, verificationStartResponse } from '@conclave/protocol';
import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { createTokenRequest } from '@conclave/client';
import { startHarness, type Harness, type TestClient } from './harness.js';

/** Each number with the ways it could show up written down. */
const NUMBERS = {
  gb: {
    typed: '+44 7400 123456',
    forms: ['+447400123456', '447400123456', '07400123456', '7400123456', '7400 123456'],
  },
  fr: {
    typed: '+33 6 87 65 43 21',
    forms: ['+33687654321', '33687654321', '0687654321', '687654321', '6 87 65 43 21'],
  },
  de: {
    typed: '+49 1523 9876543',
    forms: ['+4915239876543', '4915239876543', '015239876543', '15239876543'],
  },
  voip: { typed: '+44 56 1234 5678', forms: ['+445612345678', '445612345678', '05612345678'] },
};

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : [path];
  });
}

describe('unlinkability of phone numbers and accounts', () => {
  let h: Harness;
  afterEach(async () => {
    await h?.close();
  });

  /** The code the console provider wrote to the log for the latest start. */
  function lastLoggedCode(): string {
    const line = h.log.lines.filter((l) => l.includes('console SMS provider')).at(-1);
    if (!line) throw new Error('no code in the log');
    return (JSON.parse(line) as { smsCode: string }).smsCode;
  }

  async function verifyAndRedeem(c: TestClient, typed: string): Promise<void> {
    const p = h.phoneCheck(c.ip);
    const started = await p.start(typed);
    expect(started.statusCode, started.body).toBe(201);
    const { verificationId } = verificationStartResponse.parse(started.json());
    const key = (await p.key()).json() as { publicKey: string };
    const request = await createTokenRequest(key.publicKey);
    const checked = await p.check({
      verificationId,
      code: lastLoggedCode(),
      blindedMessage: request.blindedMessage,
    });
    expect(checked.statusCode, checked.body).toBe(200);
    const token = await request.finalize(verificationCheckResponse.parse(checked.json()).blindSignature);
    h.clock.advance(90_000);
    expect((await c.post('/api/verification/redeem', token)).statusCode).toBe(200);
  }

  it('no row joins a number hash to an account, and no number is in the database files or the logs', async () => {
    // The console SMS provider (the default) and a logger that keeps every line at every level.
    h = await startHarness({ realSms: true });
    const clients = ['amy', 'ben', 'cal', 'dan'].map((n, i) => ({
      name: n,
      c: h.client(`198.51.100.${10 + i}`),
    }));
    const ids: string[] = [];
    for (const { name, c } of clients) ids.push((await c.signup(`${name}@example.org`)).id);
    const [amy, ben, cal, dan] = clients.map((x) => x.c) as [TestClient, TestClient, TestClient, TestClient];

    // Two accounts unlocked with one number, one with another; a fourth account tries a
    // number, gets a code wrong and gives up; a VoIP number is refused. Device keys and a TOTP
    // enrolment put rows in every account table.
    await verifyAndRedeem(amy, NUMBERS.gb.typed);
    h.clock.advance(61_000);
    await verifyAndRedeem(ben, NUMBERS.gb.typed);
    await verifyAndRedeem(cal, NUMBERS.fr.typed);
    const danCheck = h.phoneCheck(dan.ip);
    const abandoned = await danCheck.start(NUMBERS.de.typed);
    const { verificationId } = verificationStartResponse.parse(abandoned.json());
    const key = (await danCheck.key()).json() as { publicKey: string };
    const { blindedMessage } = await createTokenRequest(key.publicKey);
    const wrong = lastLoggedCode() === '000000' ? '000001' : '000000';
    expect((await danCheck.check({ verificationId, code: wrong, blindedMessage })).statusCode).toBe(400);
    expect((await danCheck.start(NUMBERS.voip.typed)).statusCode).toBe(400);
    for (const { c } of clients) {
      await c.post('/api/devices', {
        deviceId: 'device-1',
        publicKey: Buffer.alloc(32, 1).toString('base64'),
      });
    }
    await amy.post('/api/auth/totp/enroll');
    // The abandoned code expires; expired codes are swept (here by the purge the sweep timer runs).
    h.clock.advance(11 * 60_000);
    h.app.accounts.verification.pending.purgeExpired();
    expect(h.app.accounts.verification.pending.size).toBe(0);

    const yearKey = h.app.accounts.phoneKeys.current();
    const numberHashes = Object.values(NUMBERS).map((n) => yearKey.numberHash(n.forms[0]!));

    // Everything that identifies an account or its client.
    const users = await h.db.selectFrom('users').selectAll().execute();
    expect(users.map((u) => u.phone_verified).sort()).toEqual([0, 1, 1, 1]);
    const accountValues = new Set<string>([
      ...users.flatMap((u) => [u.id, u.email, u.display_name, u.password_hash]),
      ...(await h.db.selectFrom('sessions').select('id_hash').execute()).map((r) => r.id_hash),
      ...(await h.db.selectFrom('known_devices').select('device_hash').execute()).map((r) => r.device_hash),
      ...(await h.db.selectFrom('auth_events').select('ip_prefix').execute()).map((r) => r.ip_prefix),
    ]);
    for (const id of ids) expect(accountValues.has(id)).toBe(true);

    const tables = (
      await sql<{
        name: string;
      }>`select name from sqlite_master where type = 'table' and name not like 'sqlite_%'`.execute(h.db)
    ).rows.map((r) => r.name);
    expect(tables).toEqual(
      expect.arrayContaining(['users', 'sessions', 'auth_events', 'phone_number_quota', 'redeemed_tokens']),
    );

    const tablesWithNumbers = new Set<string>();
    for (const table of tables) {
      const rows = (await sql<Record<string, unknown>>`select * from ${sql.table(table)}`.execute(h.db)).rows;
      const columns = (
        await sql<{ name: string }>`select name from pragma_table_info(${table})`.execute(h.db)
      ).rows.map((c) => c.name);
      const foreignKeys = (
        await sql<{ table: string }>`select "table" from pragma_foreign_key_list(${table})`.execute(h.db)
      ).rows;
      for (const row of rows) {
        const values = Object.values(row).map((v) => String(v));
        const withNumber = values.some((v) => numberHashes.some((nh) => v.includes(nh)));
        if (!withNumber) continue;
        tablesWithNumbers.add(table);
        // A row that holds a number hash holds nothing of an account: no id, e-mail, session,
        // device or network, no reference to users, and no time finer than a year.
        for (const v of values) {
          // Short values (a display name such as "cal") by equality: as substrings they turn up
          // by chance inside a random hash.
          for (const a of accountValues)
            expect(a.length >= 8 ? v.includes(a) : v === a, `${table} row holds ${a}`).toBe(false);
          expect(v, `${table} row holds a date`).not.toMatch(/\d{4}-\d{2}-\d{2}|T\d{2}:\d{2}/);
        }
        expect(foreignKeys, `${table} references another table`).toEqual([]);
        for (const c of columns) expect(c).not.toMatch(/user|email|session|device|ip|_at$|time|day/);
      }
    }
    // Only the yearly counter keeps number hashes: one row per number that unlocked something.
    expect([...tablesWithNumbers]).toEqual(['phone_number_quota']);
    const quota = await h.db.selectFrom('phone_number_quota').selectAll().orderBy('unlocks').execute();
    expect(quota.map((q) => q.unlocks)).toEqual([1, 2]);
    expect(quota.map((q) => q.number_hash).sort()).toEqual([numberHashes[0], numberHashes[1]].sort());
    // Not even an insertion order to line up with the order of account events.
    await expect(sql`select rowid from phone_number_quota`.execute(h.db)).rejects.toThrow(/rowid/);
    expect(tables).not.toContain('verification_codes');
    // The redeemed tokens name no account and no time.
    const tokenColumns = (
      await sql<{ name: string }>`select name from pragma_table_info('redeemed_tokens')`.execute(h.db)
    ).rows;
    expect(tokenColumns.map((c) => c.name).sort()).toEqual(['key_id', 'token_id']);
    expect(await h.db.selectFrom('redeemed_tokens').selectAll().execute()).toHaveLength(3);

    // No plaintext number in any file of the data dir (database, WAL, shared memory, keys),
    // in any usual written form, as ASCII or UTF-16.
    const all = files(h.dataDir);
    expect(all.some((f) => f.endsWith('conclave.sqlite'))).toBe(true);
    for (const file of all) {
      const bytes = readFileSync(file);
      for (const n of Object.values(NUMBERS)) {
        for (const form of n.forms) {
          expect(bytes.indexOf(Buffer.from(form, 'latin1')), `${form} in ${file}`).toBe(-1);
          expect(bytes.indexOf(Buffer.from(form, 'utf16le')), `${form} (UTF-16) in ${file}`).toBe(-1);
        }
      }
    }

    // …and none in the logs (every level, Fastify's request lines included), nor a number hash.
    const logs = h.log.lines.join('\n');
    expect(logs).toContain('console SMS provider');
    expect(logs).toContain('/api/verification/redeem');
    for (const n of Object.values(NUMBERS)) for (const form of n.forms) expect(logs).not.toContain(form);
    for (const nh of numberHashes) expect(logs).not.toContain(nh);
  });
});
