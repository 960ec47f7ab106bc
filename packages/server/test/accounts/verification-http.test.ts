import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  meResponse,
  verificationCheckResponse,
  verificationKeyResponse,
  verificationStartResponse,
} from '@conclave/protocol';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { BlindSigner, ConfigError, loadConfig } from '../../src/index.js';
import { createTokenRequest } from '@conclave/client';
import { fromBase64, toBase64 } from '@conclave/crypto';
import {
  expectError,
  fileReports,
  obtainPhoneToken,
  startHarness,
  type Harness,
  type PhoneCheckClient,
} from './harness.js';

const MOBILE = '+44 7400 123456';
const OTHER_MOBILE = '+33 6 12 34 56 78';

async function keyOf(c: PhoneCheckClient) {
  const res = await c.key();
  expect(res.statusCode, res.body).toBe(200);
  return verificationKeyResponse.parse(res.json());
}

const wrongOf = (code: string) => (code === '000000' ? '000001' : '000000');

describe('phone verification over HTTP', () => {
  let h: Harness;
  const servers: Server[] = [];
  afterEach(async () => {
    await h?.close();
    for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
  });

  it('happy path: start and check without cookies, redeem later on the account → E2EE hosting', async () => {
    h = await startHarness();
    const c = h.client();
    await c.signup('ann@example.org');
    const p = h.phoneCheck();
    const started = await p.start(MOBILE);
    expect(started.statusCode, started.body).toBe(201);
    const s = verificationStartResponse.parse(started.json());
    expect(s).toMatchObject({ expiresInSeconds: 600, resendAfterSeconds: 60, attempts: 5 });
    expect(h.sms.sent).toHaveLength(1);
    expect(h.sms.sent[0]).toMatchObject({ to: '+447400123456' });
    expect(h.sms.lastCode()).toMatch(/^[0-9]{6}$/);
    expect(h.sms.sent[0]!.text).toContain(h.sms.lastCode());
    expect(h.app.accounts.verification.pending.size).toBe(1);

    const key = await keyOf(p);
    expect(key).toMatchObject({ suite: 'RSABSSA-SHA384-PSS-Randomized', modulusBits: 2048 });
    const request = await createTokenRequest(key.publicKey);
    const checked = await p.check({
      verificationId: s.verificationId,
      code: h.sms.lastCode(),
      blindedMessage: request.blindedMessage,
    });
    expect(checked.statusCode, checked.body).toBe(200);
    const token = await request.finalize(verificationCheckResponse.parse(checked.json()).blindSignature);
    expect(h.app.accounts.verification.pending.size).toBe(0);

    h.clock.advance(7 * 60_000);
    const redeemed = await c.post('/api/verification/redeem', token);
    expect(redeemed.statusCode, redeemed.body).toBe(200);
    expect(meResponse.parse(redeemed.json()).entitlement).toEqual({
      standard: true,
      e2ee: true,
      reason: 'phone_verified',
    });
    expect(meResponse.parse((await c.get('/api/me')).json()).account.phoneVerified).toBe(true);
    // Done once: the server cannot tell who starts a check (the web app does not offer one to an
    // unlocked account), but a second token is refused on this account.
    const second = await obtainPhoneToken(h, OTHER_MOBILE);
    expectError(await c.post('/api/verification/redeem', second), 409, 'already_verified');
  });

  it('start and check read no session, no device cookie and write no auth event, even when cookies come along', async () => {
    h = await startHarness();
    const c = h.client('203.0.113.5');
    const { id } = await c.signup('ada@example.org');
    const accounts = h.app.accounts;
    const spies = [
      vi.spyOn(accounts, 'currentUser'),
      vi.spyOn(accounts, 'requireUser'),
      vi.spyOn(accounts.cookies, 'session'),
      vi.spyOn(accounts.cookies, 'deviceHash'),
      vi.spyOn(accounts.risk, 'assess'),
      vi.spyOn(accounts.events, 'record'),
    ];
    const eventsBefore = await h.db.selectFrom('auth_events').select('id').execute();
    // An old or careless client: its session, device and CSRF cookies and the CSRF header go
    // with the phone check's requests. The routes take none of them.
    const headers = { ...(await c.authHeaders()), 'x-conclave-check-device': 'd'.repeat(22) };
    const send = (url: string, body: Record<string, unknown>) =>
      h.app.inject({
        method: 'POST',
        url,
        remoteAddress: c.ip,
        headers: { ...headers, 'content-type': 'application/json' },
        payload: { v: 1, ...body },
      });
    const started = await send('/api/verification/start', { phoneNumber: MOBILE });
    expect(started.statusCode, started.body).toBe(201);
    const { verificationId } = verificationStartResponse.parse(started.json());
    const key = verificationKeyResponse.parse(
      (await h.app.inject({ method: 'GET', url: '/api/verification/key', headers })).json(),
    );
    const request = await createTokenRequest(key.publicKey);
    const checked = await send('/api/verification/check', {
      verificationId,
      code: h.sms.lastCode(),
      blindedMessage: request.blindedMessage,
    });
    expect(checked.statusCode, checked.body).toBe(200);
    for (const spy of spies) expect(spy, spy.getMockName()).not.toHaveBeenCalled();
    // No Set-Cookie either: the answers do not hand out a device or CSRF cookie.
    for (const res of [started, checked]) expect(res.headers['set-cookie']).toBeUndefined();
    expect(await h.db.selectFrom('auth_events').select('id').execute()).toEqual(eventsBefore);
    for (const spy of spies) spy.mockRestore();

    // The redeem is the account's request: it reads the session (and still needs CSRF).
    const token = await request.finalize(verificationCheckResponse.parse(checked.json()).blindSignature);
    expectError(await c.post('/api/verification/redeem', token, false), 403, 'csrf_failed');
    expectError(await h.client().post('/api/verification/redeem', token), 401, 'unauthenticated');
    expect((await c.post('/api/verification/redeem', token)).statusCode).toBe(200);
    const user = await h.db
      .selectFrom('users')
      .select('phone_verified')
      .where('id', '=', id)
      .executeTakeFirst();
    expect(user?.phone_verified).toBe(1);
  });

  it('wrong code, then the right one; the attempt limit; expiry by the clock', async () => {
    h = await startHarness();
    const p = h.phoneCheck();
    const key = await keyOf(p);
    const request = await createTokenRequest(key.publicKey);
    const check = (verificationId: string, code: string) =>
      p.check({ verificationId, code, blindedMessage: request.blindedMessage });

    const first = verificationStartResponse.parse((await p.start(MOBILE)).json());
    const code1 = h.sms.lastCode();
    const wrong = await check(first.verificationId, wrongOf(code1));
    expectError(wrong, 400, 'wrong_code');
    expect((wrong.json() as { error: { message: string } }).error.message).toContain('4 attempts left');
    expect((await check(first.verificationId, code1)).statusCode).toBe(200);
    // A used code is gone.
    expectError(await check(first.verificationId, code1), 410, 'verification_expired');

    // Five wrong codes use up the verification: even the right one is refused then.
    const second = verificationStartResponse.parse((await p.start(OTHER_MOBILE)).json());
    const code2 = h.sms.lastCode();
    for (let i = 0; i < 5; i++)
      expectError(await check(second.verificationId, wrongOf(code2)), 400, 'wrong_code');
    expectError(await check(second.verificationId, code2), 429, 'too_many_attempts');

    // Expiry: ten minutes later the code is refused, and forgotten.
    const third = verificationStartResponse.parse((await p.start('+49 1512 3456789')).json());
    const code3 = h.sms.lastCode();
    h.clock.advance(10 * 60_000);
    expectError(await check(third.verificationId, code3), 410, 'verification_expired');
    expect(h.app.accounts.verification.pending.get(third.verificationId)).toBeUndefined();
    expectError(await check('unknown-verification-id', '123456'), 410, 'verification_expired');
    // The sweep forgets the other expired ones (the minute timer calls the same purge).
    h.app.accounts.verification.pending.purgeExpired();
    expect(h.app.accounts.verification.pending.size).toBe(0);
  });

  it('pending codes live in memory only: a restart costs a resend', async () => {
    h = await startHarness();
    const p = h.phoneCheck();
    const { verificationId } = verificationStartResponse.parse((await p.start(MOBILE)).json());
    const code = h.sms.lastCode();
    const dataDir = h.dataDir;
    await h.app.close();
    await h.db.destroy();
    // The same data dir, a new process.
    const again = await startHarness({ dataDir });
    try {
      const q = again.phoneCheck();
      const { blindedMessage } = await createTokenRequest((await keyOf(q)).publicKey);
      expectError(await q.check({ verificationId, code, blindedMessage }), 410, 'verification_expired');
      expect((await q.start(MOBILE)).statusCode).toBe(201);
    } finally {
      await again.close();
    }
  });

  it('resend cool-down: a second code for the same number only after 60 s, and it replaces the first', async () => {
    h = await startHarness();
    const p = h.phoneCheck();
    const first = verificationStartResponse.parse((await p.start(MOBILE)).json());
    // Another browser asking for the same number meets the same cool-down.
    const again = await h.phoneCheck('192.0.2.9').start(MOBILE);
    expectError(again, 429, 'rate_limited');
    expect(Number(again.headers['retry-after'])).toBeGreaterThan(0);
    h.clock.advance(61_000);
    const second = verificationStartResponse.parse((await p.start(MOBILE)).json());
    expect(second.verificationId).not.toBe(first.verificationId);
    expect(h.app.accounts.verification.pending.size).toBe(1);
    const { blindedMessage } = await createTokenRequest((await keyOf(p)).publicKey);
    const code = h.sms.lastCode();
    expectError(
      await p.check({ verificationId: first.verificationId, code, blindedMessage }),
      410,
      'verification_expired',
    );
    expect((await p.check({ verificationId: second.verificationId, code, blindedMessage })).statusCode).toBe(
      200,
    );
  });

  it('limits per number, per network and per check device answer rate_limited; a missing device id is refused', async () => {
    h = await startHarness({
      accounts: {
        verification: {
          sendsPerNumber: { capacity: 2, refillPerSecond: 2 / 86_400 },
          startsPerNetwork: { capacity: 4, refillPerSecond: 1 / 3600 },
          startsPerDevice: { capacity: 3, refillPerSecond: 1 / 3600 },
          checksPerNetwork: { capacity: 3, refillPerSecond: 1 / 3600 },
          checksPerDevice: { capacity: 2, refillPerSecond: 1 / 3600 },
        },
      },
    });
    const message = (res: { json(): unknown }) =>
      (res.json() as { error: { message: string } }).error.message;

    // Per number: two SMS a day (the cool-down passes in between), whoever asks.
    const n1 = h.phoneCheck('198.51.100.1');
    expect((await n1.start(MOBILE)).statusCode).toBe(201);
    h.clock.advance(61_000);
    expect((await h.phoneCheck('198.51.101.1').start(MOBILE)).statusCode).toBe(201);
    h.clock.advance(61_000);
    const perNumber = await h.phoneCheck('198.51.102.1').start(MOBILE);
    expectError(perNumber, 429, 'rate_limited');
    expect(message(perNumber)).toMatch(/too many codes were sent to this number/);
    expect(h.sms.sent).toHaveLength(2);

    // Per device: the same id from several networks gets 3 starts.
    const device = 'same-browser-0123456789';
    const numbers = ['+44 7400 100001', '+44 7400 100002', '+44 7400 100003', '+44 7400 100004'];
    for (const [i, number] of numbers.slice(0, 3).entries()) {
      expect((await h.phoneCheck(`203.0.${i}.1`, device).start(number)).statusCode).toBe(201);
    }
    const perDevice = await h.phoneCheck('203.0.9.1', device).start(numbers[3]!);
    expectError(perDevice, 429, 'rate_limited');
    expect(message(perDevice)).toMatch(/from this device/);

    // Per network: 4 starts from one /24, whatever the device ids.
    for (let i = 0; i < 4; i++) {
      expect((await h.phoneCheck(`192.0.2.${i + 1}`).start(`+44 7400 2000${i}0`)).statusCode).toBe(201);
    }
    const perNetwork = await h.phoneCheck('192.0.2.99').start('+44 7400 200099');
    expectError(perNetwork, 429, 'rate_limited');
    expect(message(perNetwork)).toMatch(/from this network/);
    expect(Number(perNetwork.headers['retry-after'])).toBeGreaterThan(0);

    // Checks: per device, then per network.
    const { blindedMessage } = await createTokenRequest((await keyOf(n1)).publicKey);
    const attempt = (p: PhoneCheckClient) =>
      p.check({ verificationId: 'x'.repeat(24), code: '123456', blindedMessage });
    const checker = h.phoneCheck('198.18.0.1', 'checker-device-0123456789');
    for (let i = 0; i < 2; i++) expectError(await attempt(checker), 410, 'verification_expired');
    const checkDevice = await attempt(checker);
    expectError(checkDevice, 429, 'rate_limited');
    expect(message(checkDevice)).toMatch(/code checks from this device/);
    // That device's network has used its 3 checks; another network has its own.
    const checkNetwork = await attempt(h.phoneCheck('198.18.0.2'));
    expectError(checkNetwork, 429, 'rate_limited');
    expect(message(checkNetwork)).toMatch(/code checks from this network/);
    expectError(await attempt(h.phoneCheck('198.18.1.2')), 410, 'verification_expired');

    // No device id, or a malformed one: 400, nothing sent.
    const sent = h.sms.sent.length;
    const bare = await h.app.inject({
      method: 'POST',
      url: '/api/verification/start',
      remoteAddress: '198.19.0.1',
      payload: { v: 1, phoneNumber: '+44 7400 300000' },
    });
    expectError(bare, 400, 'bad_request');
    expect(message(bare)).toMatch(/x-conclave-check-device/);
    expectError(await h.phoneCheck('198.19.0.2', 'short').start('+44 7400 300000'), 400, 'bad_request');
    expect(h.sms.sent).toHaveLength(sent);
  });

  it('pending codes are bounded per network and overall', async () => {
    h = await startHarness({ accounts: { verification: { maxPending: 4, maxPendingPerNetwork: 2 } } });
    const number = (i: number) => `+44 7400 4000${String(i).padStart(2, '0')}`;
    expect((await h.phoneCheck('192.0.2.1').start(number(1))).statusCode).toBe(201);
    expect((await h.phoneCheck('192.0.2.2').start(number(2))).statusCode).toBe(201);
    const network = await h.phoneCheck('192.0.2.3').start(number(3));
    expectError(network, 429, 'rate_limited');
    expect((network.json() as { error: { message: string } }).error.message).toMatch(/from this network/);
    // A new code for a number that has one replaces it: no extra room needed.
    h.clock.advance(61_000);
    expect((await h.phoneCheck('192.0.2.4').start(number(1))).statusCode).toBe(201);
    expect((await h.phoneCheck('198.51.100.1').start(number(4))).statusCode).toBe(201);
    expect((await h.phoneCheck('203.0.113.1').start(number(5))).statusCode).toBe(201);
    const full = await h.phoneCheck('198.18.0.1').start(number(6));
    expectError(full, 429, 'rate_limited');
    expect(Number(full.headers['retry-after'])).toBeGreaterThan(0);
    expect(h.app.accounts.verification.pending.size).toBe(4);
    // Room again once they expire.
    h.clock.advance(10 * 60_000);
    expect((await h.phoneCheck('198.18.0.1').start(number(6))).statusCode).toBe(201);
    expect(h.app.accounts.verification.pending.size).toBe(1);
  });

  it('one number unlocks at most 3 accounts a calendar year', async () => {
    h = await startHarness();
    for (let i = 0; i < 3; i++) {
      const c = h.client();
      await c.signup(`dora${i}@example.org`);
      const token = await obtainPhoneToken(h);
      expect((await c.post('/api/verification/redeem', token)).statusCode).toBe(200);
      h.clock.advance(61_000);
    }
    const p = h.phoneCheck();
    expectError(await p.start(MOBILE), 403, 'phone_quota_exceeded');
    expect(h.sms.sent).toHaveLength(3);
    // Another number is fine; and next year the first one is too.
    expect((await p.start(OTHER_MOBILE)).statusCode).toBe(201);
    h.clock.advance(366 * 86_400_000);
    expect((await h.phoneCheck().start(MOBILE)).statusCode).toBe(201);
  });

  it('a token is spent once: redeeming it on a second account fails', async () => {
    h = await startHarness();
    const a = h.client();
    await a.signup('eve@example.org');
    const token = await obtainPhoneToken(h);
    expect((await a.post('/api/verification/redeem', token)).statusCode).toBe(200);
    const b = h.client();
    await b.signup('eve2@example.org');
    expectError(await b.post('/api/verification/redeem', token), 409, 'token_spent');
    expect(meResponse.parse((await b.get('/api/me')).json()).entitlement.e2ee).toBe(false);
  });

  it('forged tokens are refused: random, tampered, truncated, signed by another key', async () => {
    h = await startHarness();
    const c = h.client();
    await c.signup('fay@example.org');
    const token = await obtainPhoneToken(h);
    const sigLen = fromBase64(token.signature).length;
    const random = (n: number) => toBase64(crypto.getRandomValues(new Uint8Array(n)));
    const tamperedMessage = fromBase64(token.message);
    tamperedMessage[0] = (tamperedMessage[0] ?? 0) ^ 1;
    const tamperedSig = fromBase64(token.signature);
    tamperedSig[100] = (tamperedSig[100] ?? 0) ^ 1;
    // A token signed by some other key (a server the client was tricked into using).
    const rogue = await BlindSigner.generate();
    const rogueRequest = await createTokenRequest(rogue.publicKeySpki.toString('base64'));
    const rogueToken = await rogueRequest.finalize(
      rogue.blindSign(fromBase64(rogueRequest.blindedMessage)).toString('base64'),
    );
    for (const forged of [
      { message: random(64), signature: random(sigLen) },
      { message: toBase64(tamperedMessage), signature: token.signature },
      { message: token.message, signature: toBase64(tamperedSig) },
      { message: token.message, signature: token.signature.slice(0, 40) },
      rogueToken,
      { ...token, keyId: 'another-key' },
      { message: token.message.slice(0, 40), signature: token.signature },
    ]) {
      expectError(await c.post('/api/verification/redeem', forged), 400, 'invalid_token');
    }
    expect(await h.db.selectFrom('redeemed_tokens').selectAll().execute()).toEqual([]);
    expect((await c.post('/api/verification/redeem', token)).statusCode).toBe(200);
  });

  it('refuses premium-rate, VoIP, landline and invalid numbers with a reason', async () => {
    h = await startHarness();
    const p = h.phoneCheck();
    const cases: [string, Record<string, unknown>, string, RegExp][] = [
      ['+44 909 8790000', {}, 'phone_number_refused', /premium-rate/],
      ['+44 56 1234 5678', {}, 'phone_number_refused', /VoIP/],
      ['030 1234567', { country: 'de' }, 'phone_number_refused', /landline/],
      ['+1 800 555 0199', {}, 'phone_number_refused', /toll-free/],
      ['+44 7700 900123', {}, 'invalid_phone_number', /not a valid/],
      ['not a number', {}, 'invalid_phone_number', /not a phone number/],
      ['+4915123456789 call me', {}, 'invalid_phone_number', /not a phone number/],
    ];
    for (const [number, extra, code, reason] of cases) {
      const res = await p.start(number, extra);
      expectError(res, 400, code);
      expect((res.json() as { error: { message: string } }).error.message).toMatch(reason);
    }
    expect(h.sms.sent).toHaveLength(0);
    // A national mobile number with its country is fine (and a US-style "fixed line or mobile").
    expect((await p.start('01512 3456789', { country: 'DE' })).statusCode).toBe(201);
    expect(h.sms.sent.at(-1)?.to).toBe('+4915123456789');
    expect((await p.start('+1 201 555 0123')).statusCode).toBe(201);
  });

  it('no risk check at start: a reported account is not asked for anything (its limits are the number and the network)', async () => {
    h = await startHarness();
    const c = h.client();
    const { id } = await c.signup('ida@example.org');
    // 2 reports (50) + account younger than a day (20) = 70 used to step up or deny the start.
    await fileReports(h, id, 2);
    const events = () => h.db.selectFrom('auth_events').selectAll().execute();
    const before = await events();
    const token = await obtainPhoneToken(h);
    expect(await events()).toEqual(before);
    expect((await c.post('/api/verification/redeem', token)).statusCode).toBe(200);
    expect(await events()).toEqual(before);
  });

  it('logs nothing per phone-check request, and takes no request id from the app counter', async () => {
    h = await startHarness();
    const c = h.client();
    await c.signup('lou@example.org');
    await c.get('/api/me');
    const token = await obtainPhoneToken(h, MOBILE, h.phoneCheck('192.0.2.44'));
    await c.get('/api/me');
    expect((await c.post('/api/verification/redeem', token)).statusCode).toBe(200);
    // A fault inside a phone-check route is logged, without request data.
    const signer = await h.app.accounts.blindSigner();
    const sign = vi.spyOn(signer, 'blindSign').mockImplementation(() => {
      throw new Error('signer fault');
    });
    const p = h.phoneCheck('192.0.2.45');
    h.clock.advance(61_000);
    const { verificationId } = verificationStartResponse.parse((await p.start(OTHER_MOBILE)).json());
    const { blindedMessage } = await createTokenRequest((await keyOf(p)).publicKey);
    expectError(
      await p.check({ verificationId, code: h.sms.lastCode(), blindedMessage }),
      500,
      'internal_error',
    );
    sign.mockRestore();

    const lines = h.log.lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    const requestLines = lines.filter((l) => l.req !== undefined || l.res !== undefined);
    const urls = requestLines.flatMap((l) =>
      (l.req as { url?: string } | undefined)?.url ? [(l.req as { url: string }).url] : [],
    );
    expect(urls).toContain('/api/verification/redeem');
    expect(urls.filter((u) => /\/api\/verification\/(start|check|key)/.test(u))).toEqual([]);
    expect(JSON.stringify(lines)).not.toContain('192.0.2.4');
    // The account routes' request ids run without a gap: nothing shows where the checks were.
    const ids = [...new Set(requestLines.map((l) => l.reqId as string))];
    const numbers = ids.map((id) => parseInt(id.replace(/^req-/, ''), 36));
    expect(numbers).toEqual(numbers.map((_, i) => numbers[0]! + i));
    const fault = lines.find((l) => l.msg === 'request failed');
    expect(fault).toMatchObject({ component: 'phone-check' });
    expect(Object.keys(fault!)).not.toEqual(expect.arrayContaining(['reqId']));
    expect(JSON.stringify(fault)).not.toMatch(/remote|192\.0\.2|phone-check-device/);
  });

  it('http SMS provider: posts {to, text} to the gateway; a failing gateway leaves nothing behind', async () => {
    const received: { body: unknown; auth: string | undefined; type: string | undefined }[] = [];
    let status = 200;
    const gateway = createServer((req: IncomingMessage, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        received.push({
          body: JSON.parse(Buffer.concat(chunks).toString('utf8')),
          auth: req.headers.authorization,
          type: req.headers['content-type'],
        });
        res.writeHead(status).end('{}');
      });
    });
    servers.push(gateway);
    await new Promise<void>((r) => gateway.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(gateway.address() as AddressInfo).port}/sms`;
    h = await startHarness({
      realSms: true,
      config: { smsProvider: 'http', smsGatewayUrl: url, smsGatewayToken: 'gateway-secret' },
    });
    const p = h.phoneCheck();
    const started = await p.start(MOBILE);
    expect(started.statusCode, started.body).toBe(201);
    expect(received).toHaveLength(1);
    const sent = received[0]!;
    expect(sent.auth).toBe('Bearer gateway-secret');
    expect(sent.type).toBe('application/json');
    const body = sent.body as { to: string; text: string };
    expect(Object.keys(body).sort()).toEqual(['text', 'to']);
    expect(body.to).toBe('+447400123456');
    const code = /\b([0-9]{6})\b/.exec(body.text)?.[1];
    expect(code).toBeDefined();
    const request = await createTokenRequest((await keyOf(p)).publicKey);
    const checked = await p.check({
      verificationId: verificationStartResponse.parse(started.json()).verificationId,
      code: code!,
      blindedMessage: request.blindedMessage,
    });
    expect(checked.statusCode, checked.body).toBe(200);

    status = 503;
    const failed = await p.start(OTHER_MOBILE);
    expectError(failed, 502, 'sms_failed');
    expect((failed.json() as { error: { message: string } }).error.message).not.toMatch(/33|612/);
    expect(h.app.accounts.verification.pending.size).toBe(0);
    // The gateway being down is not the number's fault: no cool-down was left behind.
    status = 200;
    expect((await p.start(OTHER_MOBILE)).statusCode).toBe(201);
  });

  it('console SMS provider (the default): the code is in the log, nothing else of the check', async () => {
    h = await startHarness({ realSms: true });
    const p = h.phoneCheck('192.0.2.77');
    const started = await p.start(MOBILE);
    expect(started.statusCode, started.body).toBe(201);
    const line = h.log.lines.find((l) => l.includes('console SMS provider'));
    expect(line).toBeDefined();
    const logged = JSON.parse(line!) as Record<string, unknown>;
    const code = logged.smsCode as string;
    expect(code).toMatch(/^[0-9]{6}$/);
    // The code, and the logger's own fields: no number, no request id, no address, no id.
    expect(Object.keys(logged).sort()).toEqual(['level', 'msg', 'service', 'smsCode', 'time']);
    const { verificationId } = verificationStartResponse.parse(started.json());
    expect(line).not.toContain('7400');
    expect(line).not.toContain(verificationId);
    const request = await createTokenRequest((await keyOf(p)).publicKey);
    const checked = await p.check({ verificationId, code, blindedMessage: request.blindedMessage });
    expect(checked.statusCode, checked.body).toBe(200);
  });

  it('refuses a blinded message of the wrong size or not below the modulus without using the code', async () => {
    h = await startHarness();
    const p = h.phoneCheck();
    const { verificationId } = verificationStartResponse.parse((await p.start(MOBILE)).json());
    const code = h.sms.lastCode();
    for (const blindedMessage of [toBase64(new Uint8Array(255)), toBase64(new Uint8Array(256).fill(0xff))]) {
      expectError(await p.check({ verificationId, code, blindedMessage }), 400, 'bad_request');
    }
    const request = await createTokenRequest((await keyOf(p)).publicKey);
    const ok = await p.check({ verificationId, code, blindedMessage: request.blindedMessage });
    expect(ok.statusCode, ok.body).toBe(200);
  });
});

describe('SMS and phone settings', () => {
  it('default to the console provider; http needs a gateway URL; values are checked', () => {
    expect(loadConfig([], {})).toMatchObject({ smsProvider: undefined, phoneUnlocksPerYear: undefined });
    const http = loadConfig(['--sms-provider', 'http', '--sms-gateway-url', 'https://sms.example.org/send'], {
      CONCLAVE_SMS_GATEWAY_TOKEN: 'tok',
      CONCLAVE_PHONE_UNLOCKS_PER_YEAR: '5',
    });
    expect(http).toMatchObject({
      smsProvider: 'http',
      smsGatewayUrl: 'https://sms.example.org/send',
      smsGatewayToken: 'tok',
      phoneUnlocksPerYear: 5,
    });
    expect(() => loadConfig(['--sms-provider', 'http'], {})).toThrow(ConfigError);
    expect(() => loadConfig(['--sms-provider', 'pigeon'], {})).toThrow(/console or http/);
    expect(() => loadConfig(['--sms-gateway-url', 'ftp://x'], {})).toThrow(/http or https/);
    expect(() => loadConfig(['--phone-unlocks-per-year', '0'], {})).toThrow(ConfigError);
  });

  it('phoneUnlocksPerYear reaches the verification service', async () => {
    const h = await startHarness({ config: { phoneUnlocksPerYear: 1 } });
    try {
      expect(h.app.accounts.verification.settings.unlocksPerYear).toBe(1);
    } finally {
      await h.close();
    }
  });
});
