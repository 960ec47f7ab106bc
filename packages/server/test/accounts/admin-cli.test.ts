import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
// The command in-process for the cases that need no separate process (each spawn costs ~1 s).
import { admin } from '../../../cli/src/commands/admin.js';
import { createDatabase, type Db } from '../../src/index.js';
import { tempDir } from '../helpers.js';
import { expectError, startHarness } from './harness.js';

/** Runs `admin` in this process, capturing what it prints. */
async function adminInProcess(args: string[]) {
  let stdout = '';
  let stderr = '';
  const code = await admin(args, { out: (s) => (stdout += s), err: (s) => (stderr += s) });
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
});
