import type { IncomingMessage } from 'node:http';
import { AccountApi, ConclaveError } from '@conclave/client';
import { afterEach, describe, expect, it } from 'vitest';
import { STRONG_PASSWORD, startHarness, type Harness } from './harness.js';

/** What the server's HTTP listener saw of one request. */
interface Seen {
  method: string;
  path: string;
  cookie: string | undefined;
  csrf: string | undefined;
  device: string | undefined;
}

/**
 * The phone check through the SDK over real HTTP (the app listening on loopback): what the
 * server's listener receives for start, check and the key — no cookie, no CSRF header, no
 * account — and the redeem, later, with the account's session. Networks are told apart with
 * `X-Forwarded-For` (trusted from loopback here).
 */
describe('the phone check over HTTP, through the SDK', () => {
  let h: Harness;
  afterEach(async () => {
    await h?.close();
  });

  async function listening(opts: Parameters<typeof startHarness>[0] = {}) {
    h = await startHarness({ ...opts, config: { trustProxy: ['loopback'], ...opts.config } });
    const address = await h.app.listen({ port: 0, host: '127.0.0.1' });
    const seen: Seen[] = [];
    h.app.server.on('request', (req: IncomingMessage) => {
      seen.push({
        method: req.method ?? '',
        path: (req.url ?? '').split('?')[0] ?? '',
        cookie: req.headers.cookie,
        csrf: req.headers['x-csrf-token'] as string | undefined,
        device: req.headers['x-conclave-check-device'] as string | undefined,
      });
    });
    return { url: address, seen };
  }

  /** An SDK client whose requests come from `ip` (as a proxy would say). */
  function api(url: string, ip: string, extra: { phoneCheckDevice?: () => string } = {}): AccountApi {
    return new AccountApi({
      serverUrl: url,
      ...extra,
      fetch: (input, init) =>
        fetch(input, {
          ...init,
          headers: { ...(init?.headers as Record<string, string>), 'x-forwarded-for': ip },
        }),
    });
  }

  async function refusal(p: Promise<unknown>): Promise<string> {
    try {
      await p;
    } catch (e) {
      if (e instanceof ConclaveError) return e.code;
      throw e;
    }
    throw new Error('expected a refusal');
  }

  it('start, key and check reach the server without a cookie or an account; the redeem, later, with the session unlocks', async () => {
    const { url, seen } = await listening();
    const account = api(url, '198.51.100.20');
    await account.signUp({ email: 'nia@example.org', password: STRONG_PASSWORD });
    expect((await account.me())?.entitlement.e2ee).toBe(false);
    const session = account.cookieHeader();
    expect(session).toMatch(/conclave_session=/);

    const before = seen.length;
    const started = await account.startPhoneVerification({ phoneNumber: '+44 7400 123456' });
    const token = await account.checkPhoneCode(started.verificationId, h.sms.lastCode());
    const phoneCheck = seen.slice(before);
    expect(phoneCheck.map((s) => `${s.method} ${s.path}`)).toEqual([
      'POST /api/verification/start',
      'GET /api/verification/key',
      'POST /api/verification/check',
    ]);
    for (const s of phoneCheck) {
      expect(s.cookie, s.path).toBeUndefined();
      expect(s.csrf, s.path).toBeUndefined();
      expect(s.device, s.path).toMatch(/^[A-Za-z0-9_-]{22,}$/);
    }
    // The device id goes nowhere else.
    for (const s of seen.slice(0, before)) expect(s.device).toBeUndefined();
    // Nothing of the check is kept against the account: it is still locked, and has no event of it.
    expect((await account.me())?.entitlement.e2ee).toBe(false);

    h.clock.advance(9 * 60_000);
    const redeemAt = seen.length;
    const unlocked = await account.redeemVerificationToken(token);
    expect(unlocked.entitlement).toEqual({ standard: true, e2ee: true, reason: 'phone_verified' });
    const redeem = seen.slice(redeemAt).find((s) => s.path === '/api/verification/redeem');
    expect(redeem?.cookie).toContain('conclave_session=');
    expect(redeem?.csrf).toBeDefined();
    expect(redeem?.device).toBeUndefined();
    const actions = await h.db.selectFrom('auth_events').select('action').distinct().execute();
    expect(actions.map((a) => a.action).filter((a) => a.includes('verification'))).toEqual([]);
  });

  it('limits per number, per network and per check device answer rate_limited through the SDK', async () => {
    const { url } = await listening({
      accounts: {
        verification: {
          sendsPerNumber: { capacity: 1, refillPerSecond: 1 / 86_400 },
          startsPerNetwork: { capacity: 2, refillPerSecond: 1 / 3600 },
          startsPerDevice: { capacity: 2, refillPerSecond: 1 / 3600 },
        },
      },
    });
    // Per number: one SMS a day here; after the cool-down another browser is refused too.
    await api(url, '192.0.2.1').startPhoneVerification({ phoneNumber: '+44 7400 500001' });
    h.clock.advance(61_000);
    expect(
      await refusal(api(url, '198.51.100.1').startPhoneVerification({ phoneNumber: '+44 7400 500001' })),
    ).toBe('rate_limited');
    // Per network: 192.0.2.0/24 has one start left.
    await api(url, '192.0.2.2').startPhoneVerification({ phoneNumber: '+44 7400 500002' });
    expect(
      await refusal(api(url, '192.0.2.3').startPhoneVerification({ phoneNumber: '+44 7400 500003' })),
    ).toBe('rate_limited');
    // Per device: one browser's id from two networks.
    const device = () => 'one-browser-0123456789ab';
    await api(url, '203.0.113.1', { phoneCheckDevice: device }).startPhoneVerification({
      phoneNumber: '+44 7400 500004',
    });
    await api(url, '203.0.114.1', { phoneCheckDevice: device }).startPhoneVerification({
      phoneNumber: '+44 7400 500005',
    });
    const third = api(url, '203.0.115.1', { phoneCheckDevice: device });
    expect(await refusal(third.startPhoneVerification({ phoneNumber: '+44 7400 500006' }))).toBe(
      'rate_limited',
    );
  });
});
