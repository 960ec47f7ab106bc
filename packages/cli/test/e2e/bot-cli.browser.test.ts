import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { BotRunResult as Report } from '../../src/bot.js';
import { AccountApi } from '@conclave/client';
import { HOST_PASSWORD, hostAccount, startTestServer, type TestServer } from './harness.js';

const run = promisify(execFile);
const bin = fileURLToPath(new URL('../../bin/conclave.mjs', import.meta.url));

let ts: TestServer;
let host: { email: string; password: string };
beforeAll(async () => {
  ts = await startTestServer();
  host = await hostAccount(ts);
});
afterAll(async () => {
  await ts?.close();
});

async function bots(extra: string[]): Promise<Report> {
  const { stdout } = await run(
    process.execPath,
    [
      bin,
      'bot',
      '--server',
      ts.url,
      '--meeting',
      'new',
      '--count',
      '3',
      '--seconds',
      '2',
      '--json',
      '--email',
      host.email,
      ...extra,
    ],
    {
      timeout: 60_000,
      env: { ...process.env, CONCLAVE_PASSWORD: host.password },
    },
  );
  const last = stdout.trim().split('\n').at(-1)!;
  return JSON.parse(last) as Report;
}

describe('conclave bot', () => {
  it('E2EE: every bot decrypts every other bot and all report one security code (--json last line)', async () => {
    const r = await bots([]);
    expect(r.meetingId).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(r.bots.map((b) => b.id)).toEqual(['bot-1', 'bot-2', 'bot-3']);
    for (const b of r.bots) {
      expect(b.framesSent).toBeGreaterThan(20);
      expect(b.decryptFailures).toBe(0);
      expect(b.epochs).toBeGreaterThanOrEqual(1);
      const others = r.bots.filter((o) => o.id !== b.id).map((o) => o.id);
      expect(Object.keys(b.decryptedFrames).sort()).toEqual(others);
      for (const o of others) expect(b.decryptedFrames[o]).toBeGreaterThan(10);
    }
    expect(new Set(r.bots.map((b) => b.securityCode)).size).toBe(1);
    expect(r.bots[0]!.securityCode).toMatch(/^\d{4}( \d{4}){4}$/);
  });

  it('standard mode: media flows without SFrame and there is no security code', async () => {
    const r = await bots(['--standard']);
    for (const b of r.bots) {
      expect(b.securityCode).toBe('');
      expect(b.epochs).toBe(0);
      for (const o of r.bots) if (o !== b) expect(b.decryptedFrames[o.id]).toBeGreaterThan(10);
    }
  });

  it('bad arguments give a usage error and exit status 2', async () => {
    await expect(run(process.execPath, [bin, 'bot', '--count', 'x'])).rejects.toMatchObject({ code: 2 });
  });

  it('creating a meeting needs an account that may host, and says why it cannot', async () => {
    const noAccount = run(process.execPath, [bin, 'bot', '--server', ts.url, '--meeting', 'new']);
    await expect(noAccount).rejects.toMatchObject({ code: 2, stderr: expect.stringMatching(/--email/) });
    const free = new AccountApi({ serverUrl: ts.url });
    await free.signUp({ email: 'free-bot@example.org', password: HOST_PASSWORD });
    const attempt = (email: string, password: string) =>
      run(process.execPath, [bin, 'bot', '--server', ts.url, '--meeting', 'new', '--email', email], {
        env: { ...process.env, CONCLAVE_PASSWORD: password },
      });
    await expect(attempt('free-bot@example.org', HOST_PASSWORD)).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringMatching(
        /cannot create a meeting: end-to-end encrypted meetings need a paid plan/,
      ),
    });
    await expect(attempt('free-bot@example.org', 'not the password')).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringMatching(/^conclave bot: .*(e-mail|password)/m),
    });
  });
});
