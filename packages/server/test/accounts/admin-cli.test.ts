import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
// The command in-process for the cases that need no separate process (each spawn costs ~1 s).
import { admin } from '../../../cli/src/commands/admin.js';
import { createDatabase, type Db, type PhoneKeyStatus } from '../../src/index.js';
import { tempDir } from '../helpers.js';
import { expectError, obtainPhoneToken, startHarness } from './harness.js';

/** Runs `admin` in this process, capturing what it prints. */
async function adminInProcess(args: string[], env: NodeJS.ProcessEnv = process.env) {
  let stdout = '';
  let stderr = '';
  const code = await admin(args, { out: (s) => (stdout += s), err: (s) => (stderr += s) }, env);
  return { code, stdout, stderr };
}

const CONCLAVE = fileURLToPath(new URL('../../../cli/bin/conclave.mjs', import.meta.url));

async function conclave(args: string[], env: Record<string, string> = {}) {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [CONCLAVE, ...args], {
      env: { ...process.env, ...env },
      timeout: 30_000,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

describe('conclave admin', () => {
  const cleanups: (() => unknown)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it('sets plan and role, and prints the auth-event log of an account', async () => {
    const dir = tempDir('conclave-admin-');
    cleanups.push(dir.remove);
    const h = await startHarness({ dataDir: dir.path });
    cleanups.push(() => h.close());
    const c = h.client('203.0.113.5');
    await c.signup('olga@example.org');
    expectError(
      await h.client('192.0.2.9').signin('olga@example.org', 'a wrong password'),
      401,
      'invalid_credentials',
    );

    const plan = await conclave(['admin', 'plan', 'OLGA@example.org', 'paid', '--data-dir', dir.path]);
    expect(plan, plan.stderr).toMatchObject({ code: 0, stdout: 'olga@example.org: plan paid\n' });
    // The running server sees it at once: paid accounts host E2EE meetings.
    expect((await c.get('/api/me')).json()).toMatchObject({ entitlement: { e2ee: true, reason: 'paid' } });

    const role = await conclave(['admin', 'role', 'olga@example.org', 'admin'], {
      CONCLAVE_DATA_DIR: dir.path,
    });
    expect(role, role.stderr).toMatchObject({ code: 0, stdout: 'olga@example.org: role admin\n' });
    expect((await c.get('/api/me')).json()).toMatchObject({ account: { role: 'admin', plan: 'paid' } });

    const log = await conclave(['admin', 'auth-events', 'olga@example.org', '--data-dir', dir.path]);
    expect(log.code, log.stderr).toBe(0);
    const lines = log.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^time\s+action\s+outcome\s+score\s+decision\s+network\s+reasons$/);
    // Newest first: the failed sign-in from a new device and network, then the sign-in and the
    // sign-up (which sets no session) of the harness.
    expect(lines[1]).toMatch(
      /^2030-01-01T\S+\s+signin\s+wrong_password\s+30\s+allow\s+192\.0\.2\.0\/24\s+newDevice \+15/,
    );
    expect(lines[1]).toContain('newNetwork +15 (first sign-in from this network)');
    expect(lines[2]).toMatch(/signin\s+ok\s+0\s+allow\s+203\.0\.113\.0\/24\s+-$/);
    expect(lines[3]).toMatch(/signup\s+ok\s+0\s+allow\s+203\.0\.113\.0\/24\s+-$/);

    const json = await adminInProcess([
      'auth-events',
      'olga@example.org',
      '--json',
      '--limit',
      '1',
      '--data-dir',
      dir.path,
    ]);
    const events = JSON.parse(json.stdout) as { action: string; reasons: { signal: string }[] }[];
    expect(events).toHaveLength(1);
    expect(events[0]?.reasons.map((r) => r.signal)).toEqual(['newDevice', 'newNetwork']);

    const db: Db = createDatabase({ dataDir: dir.path });
    const row = await db.selectFrom('users').select(['plan', 'role']).executeTakeFirstOrThrow();
    expect(row).toEqual({ plan: 'paid', role: 'admin' });
    await db.destroy();

    const missing = await adminInProcess(['plan', 'nobody@example.org', 'free', '--data-dir', dir.path]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('no account with the e-mail nobody@example.org');
    for (const bad of [
      ['plan', 'olga@example.org', 'gold'],
      ['role', 'olga@example.org', 'root'],
      ['plan', 'not-an-email', 'paid'],
      ['frobnicate', 'olga@example.org'],
      ['auth-events', 'olga@example.org', '--limit', 'x'],
      ['plan', 'olga@example.org', 'paid', '--bogus'],
    ]) {
      const res = await adminInProcess([...bad, '--data-dir', dir.path]);
      expect(res.code, bad.join(' ')).toBe(2);
      expect(res.stderr).toContain('usage: conclave admin');
    }
  });

  it('phone-key status shows where the key is, its age, the year keys and counts (never a number or hash); rotate replaces the keys and drops the quotas', async () => {
    const dir = tempDir('conclave-admin-');
    cleanups.push(dir.remove);
    const keyDir = tempDir('conclave-admin-key-');
    cleanups.push(keyDir.remove);
    const keyFile = join(keyDir.path, 'phone-secret.key');
    // The CLI reads the real clock: so does this server.
    const h = await startHarness({
      dataDir: dir.path,
      config: { phoneSecretFile: keyFile },
      accounts: { now: Date.now },
    });
    cleanups.push(() => h.close());
    const year = new Date().getUTCFullYear();
    const numbers = ['+447400123456', '+447400654321'];
    for (const n of numbers) await obtainPhoneToken(h, n);
    const hashes = (await h.db.selectFrom('phone_number_quota').select('number_hash').execute()).map(
      (r) => r.number_hash,
    );
    const salts = (
      await h.db
        .selectFrom('server_keys')
        .select('private_key')
        .where('name', 'like', 'phone-number-key/%')
        .execute()
    ).map((r) => r.private_key);
    expect(hashes).toHaveLength(2);
    const secrets = [
      ...numbers,
      ...numbers.map((n) => n.slice(3)),
      ...hashes,
      ...hashes.map((x) => x.split(':')[1] ?? x),
      ...salts,
      readFileSync(keyFile, 'utf8').trim(),
    ];

    const status = await adminInProcess([
      'phone-key',
      'status',
      '--data-dir',
      dir.path,
      '--phone-secret-file',
      keyFile,
    ]);
    expect(status, status.stderr).toMatchObject({ code: 0, stderr: '' });
    const lines = status.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe(`phone-number key: ${keyFile} (phoneSecretFile)`);
    expect(lines[1]).toMatch(/^ {2}written \d{4}-\d{2}-\d{2}, 0 days ago$/);
    expect(lines[2]).toMatch(/^year keys \(in the database; each destroyed with its year/);
    expect(lines[3]).toMatch(/^ {2}year\s+key\s+made\s+with this key\s+numbers counted$/);
    const id = h.app.accounts.phoneKeys.current().id;
    expect(lines[4]).toMatch(new RegExp(`^  ${year}\\s+${id}\\s+\\d{4}-\\d{2}-\\d{2}\\s+yes\\s+2$`));
    expect(lines[5]).toMatch(new RegExp(`^  ${year + 1}\\s+[0-9a-f]{8}\\s+\\S+\\s+yes\\s+0$`));
    expect(lines).toHaveLength(6);
    const json = await adminInProcess(['phone-key', 'status', '--json', '--data-dir', dir.path], {
      CONCLAVE_PHONE_SECRET_FILE: keyFile,
    });
    const parsed = JSON.parse(json.stdout) as PhoneKeyStatus;
    expect(parsed.adminKey).toMatchObject({
      state: 'ok',
      location: { kind: 'file', path: keyFile, configured: true },
    });
    expect(parsed.years.map((y) => [y.year, y.key?.madeWithAdminKey, y.quotaRows])).toEqual([
      [year, true, 2],
      [year + 1, true, 0],
    ]);
    expect(parsed.quotaRowsUnderNoKey).toBe(0);
    for (const out of [status.stdout, json.stdout])
      for (const secret of secrets) expect(out).not.toContain(secret);

    // Another key than the server's (here the default place, which has another key or none).
    const elsewhere = tempDir('conclave-admin-xdg-');
    cleanups.push(elsewhere.remove);
    const missing = await adminInProcess(['phone-key', 'status', '--data-dir', dir.path], {
      XDG_CONFIG_HOME: elsewhere.path,
    });
    expect(missing.code).toBe(0);
    expect(missing.stdout).toContain('not there yet: the server makes it on its first start');
    expect(missing.stdout).toMatch(new RegExp(`  ${year}\\s+${id}\\s+\\S+\\s+\\?\\s+2`));
    const noKey = await adminInProcess(['phone-key', 'rotate', '--data-dir', dir.path], {
      XDG_CONFIG_HOME: elsewhere.path,
    });
    expect(noKey.code).toBe(1);
    expect(noKey.stderr).toContain(
      `no phone-number key at ${join(elsewhere.path, 'conclave', 'phone-secret.key')}`,
    );
    expect(existsSync(join(elsewhere.path, 'conclave'))).toBe(false);
    // A key file inside the data dir is refused here too.
    const inside = await adminInProcess([
      'phone-key',
      'rotate',
      '--data-dir',
      dir.path,
      '--phone-secret-file',
      join(dir.path, 'k'),
    ]);
    expect(inside.code).toBe(1);
    expect(inside.stderr).toContain('Invalid setting phoneSecretFile');
    expect((await h.db.selectFrom('phone_number_quota').selectAll().execute()).length).toBe(2);

    // Rotation, by the real command, while the server runs.
    const rotated = await conclave(['admin', 'phone-key', 'rotate', '--data-dir', dir.path], {
      CONCLAVE_PHONE_SECRET_FILE: keyFile,
    });
    expect(rotated, rotated.stderr).toMatchObject({ code: 0 });
    expect(rotated.stdout).toContain(
      `destroyed 2 year keys and 2 quota rows; new keys for ${year} and ${year + 1}`,
    );
    expect(rotated.stdout).toContain('every number may unlock accounts again this year');
    for (const secret of secrets) expect(rotated.stdout).not.toContain(secret);
    expect(await h.db.selectFrom('phone_number_quota').selectAll().execute()).toEqual([]);
    // The server switches at its next refresh (the minute timer); the same number unlocks again.
    await h.app.accounts.phoneKeys.refresh();
    expect(h.app.accounts.phoneKeys.current().id).not.toBe(id);
    h.clock.advance(61_000);
    await obtainPhoneToken(h, numbers[0]);
    const after = JSON.parse(
      (
        await adminInProcess([
          'phone-key',
          'status',
          '--json',
          '--data-dir',
          dir.path,
          '--phone-secret-file',
          keyFile,
        ])
      ).stdout,
    ) as PhoneKeyStatus;
    expect(after.years.map((y) => [y.year, y.key?.id, y.quotaRows])).toEqual([
      [year, h.app.accounts.phoneKeys.current().id, 1],
      [year + 1, expect.stringMatching(/^[0-9a-f]{8}$/), 0],
    ]);

    for (const bad of [
      ['phone-key'],
      ['phone-key', 'frob'],
      ['phone-key', 'status', 'extra'],
      ['plan', 'olga@example.org', 'paid', '--phone-secret-file', keyFile],
    ]) {
      const res = await adminInProcess([...bad, '--data-dir', dir.path]);
      expect(res.code, bad.join(' ')).toBe(2);
      expect(res.stderr).toContain('usage: conclave admin');
    }
  });
});
