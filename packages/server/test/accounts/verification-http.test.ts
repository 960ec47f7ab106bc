import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { generate } from 'otplib';
import {
  meResponse,
  verificationCheckResponse,
  verificationKeyResponse,
  verificationStartResponse,
} from '@conclave/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { BlindSigner, ConfigError, loadConfig } from '../../src/index.js';
import { createTokenRequest } from '@conclave/client';
import { fromBase64, toBase64 } from '@conclave/crypto';
import {
  expectError,
  fileReports,
  obtainPhoneToken,
  startHarness,
  type Harness,
  type TestClient,
} from './harness.js';

const MOBILE = '+44 7400 123456';
const OTHER_MOBILE = '+33 6 12 34 56 78';

async function keyOf(c: TestClient) {
  const res = await c.get('/api/verification/key');
  expect(res.statusCode, res.body).toBe(200);
  return verificationKeyResponse.parse(res.json());
}

async function start(c: TestClient, phoneNumber = MOBILE, extra: Record<string, unknown> = {}) {
  return c.post('/api/verification/start', { phoneNumber, ...extra });
}

describe('phone verification over HTTP', () => {
  let h: Harness;
  const servers: Server[] = [];
  afterEach(async () => {
    await h?.close();
    for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
  });

  it('happy path: start, check with a blinded token, redeem in a separate request → E2EE hosting', async () => {
    h = await startHarness();
    const c = h.client();
    await c.signup('ann@example.org');
    const started = await start(c);
    expect(started.statusCode, started.body).toBe(201);
    const s = verificationStartResponse.parse(started.json());
    expect(s).toMatchObject({ expiresInSeconds: 600, resendAfterSeconds: 60, attempts: 5 });
    expect(h.sms.sent).toHaveLength(1);
    expect(h.sms.sent[0]).toMatchObject({ to: '+447400123456' });
    expect(h.sms.lastCode()).toMatch(/^[0-9]{6}$/);
    expect(h.sms.sent[0]!.text).toContain(h.sms.lastCode());

    const key = await keyOf(c);
    expect(key).toMatchObject({ suite: 'RSABSSA-SHA384-PSS-Randomized', modulusBits: 2048 });
    const request = await createTokenRequest(key.publicKey);
    // The check needs no session: a client may send it from anywhere (another connection).
    const anonymous = h.client('192.0.2.80');
    const checked = await anonymous.post('/api/verification/check', {
      verificationId: s.verificationId,
      code: h.sms.lastCode(),
      blindedMessage: request.blindedMessage,
    });
    expect(checked.statusCode, checked.body).toBe(200);
    const token = await request.finalize(verificationCheckResponse.parse(checked.json()).blindSignature);
    expect(await h.db.selectFrom('verification_codes').selectAll().execute()).toEqual([]);

    const redeemed = await c.post('/api/verification/redeem', token);
    expect(redeemed.statusCode, redeemed.body).toBe(200);
    expect(meResponse.parse(redeemed.json()).entitlement).toEqual({
      standard: true,
      e2ee: true,
      reason: 'phone_verified',
    });
    expect(meResponse.parse((await c.get('/api/me')).json()).account.phoneVerified).toBe(true);
    // Done once: no second check, no second token on this account.
    expectError(await start(c, OTHER_MOBILE), 409, 'already_verified');
    expectError(await c.post('/api/verification/redeem', token), 409, 'already_verified');
  });

  it('wrong code, then the right one; the attempt limit; expiry by the clock', async () => {
    h = await startHarness();
    const c = h.client();
    await c.signup('bea@example.org');
    const key = await keyOf(c);
    const request = await createTokenRequest(key.publicKey);
    const check = (verificationId: string, code: string) =>
      c.post('/api/verification/check', { verificationId, code, blindedMessage: request.blindedMessage });
    const wrongOf = (code: string) => (code === '000000' ? '000001' : '000000');

    const first = verificationStartResponse.parse((await start(c)).json());
    const code1 = h.sms.lastCode();
    const wrong = await check(first.verificationId, wrongOf(code1));
    expectError(wrong, 400, 'wrong_code');
    expect((wrong.json() as { error: { message: string } }).error.message).toContain('4 attempts left');
    expect((await check(first.verificationId, code1)).statusCode).toBe(200);
    // A used code is gone.
    expectError(await check(first.verificationId, code1), 410, 'verification_expired');

    // Five wrong codes use up the verification: even the right one is refused then.
    const c2 = h.client();
    await c2.signup('bea2@example.org');
    const second = verificationStartResponse.parse((await start(c2, OTHER_MOBILE)).json());
    const code2 = h.sms.lastCode();
    for (let i = 0; i < 5; i++)
      expectError(await check(second.verificationId, wrongOf(code2)), 400, 'wrong_code');
    expectError(await check(second.verificationId, code2), 429, 'too_many_attempts');

    // Expiry: ten minutes later the code is refused.
    const c3 = h.client();
    await c3.signup('bea3@example.org');
    const third = verificationStartResponse.parse((await start(c3, '+49 1512 3456789')).json());
    const code3 = h.sms.lastCode();
    h.clock.advance(10 * 60_000);
    expectError(await check(third.verificationId, code3), 410, 'verification_expired');
    expect(
      await h.db
        .selectFrom('verification_codes')
        .select('id')
        .where('id', '=', third.verificationId)
        .execute(),
    ).toEqual([]);
    expectError(await check('unknown-verification-id', '123456'), 410, 'verification_expired');
  });

  it('resend cool-down: a second code for the same number only after 60 s, and it replaces the first', async () => {
    h = await startHarness();
    const c = h.client();
    await c.signup('cid@example.org');
    const first = verificationStartResponse.parse((await start(c)).json());
    const again = await start(c);
    expectError(again, 429, 'rate_limited');
    expect(Number(again.headers['retry-after'])).toBeGreaterThan(0);
    h.clock.advance(61_000);
    const second = verificationStartResponse.parse((await start(c)).json());
    expect(second.verificationId).not.toBe(first.verificationId);
    const key = await keyOf(c);
    const { blindedMessage } = await createTokenRequest(key.publicKey);
    expectError(
      await c.post('/api/verification/check', {
        verificationId: first.verificationId,
        code: h.sms.lastCode(),
        blindedMessage,
      }),
      410,
      'verification_expired',
    );
    expect(
      (
        await c.post('/api/verification/check', {
          verificationId: second.verificationId,
          code: h.sms.lastCode(),
          blindedMessage,
        })
      ).statusCode,
    ).toBe(200);
  });

  it('one number unlocks at most 3 accounts a calendar year', async () => {
    h = await startHarness();
    for (let i = 0; i < 3; i++) {
      const c = h.client();
      await c.signup(`dora${i}@example.org`);
      const token = await obtainPhoneToken(h, c);
      expect((await c.post('/api/verification/redeem', token)).statusCode).toBe(200);
      h.clock.advance(61_000);
    }
    const fourth = h.client();
    await fourth.signup('dora3@example.org');
    const refused = await start(fourth);
    expectError(refused, 403, 'phone_quota_exceeded');
    expect(h.sms.sent).toHaveLength(3);
    // Another number is fine; and next year the first one is too.
    expect((await start(fourth, OTHER_MOBILE)).statusCode).toBe(201);
    h.clock.advance(366 * 86_400_000);
    const nextYear = h.client();
    await nextYear.signup('dora4@example.org');
    expect((await start(nextYear)).statusCode).toBe(201);
  });

  it('a token is spent once: redeeming it on a second account fails', async () => {
    h = await startHarness();
    const a = h.client();
    await a.signup('eve@example.org');
    const token = await obtainPhoneToken(h, a);
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
    const token = await obtainPhoneToken(h, c);
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
    const c = h.client();
    await c.signup('gus@example.org');
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
      const res = await start(c, number, extra);
      expectError(res, 400, code);
      expect((res.json() as { error: { message: string } }).error.message).toMatch(reason);
    }
    expect(h.sms.sent).toHaveLength(0);
    // A national mobile number with its country is fine (and a US-style "fixed line or mobile").
    expect((await start(c, '01512 3456789', { country: 'DE' })).statusCode).toBe(201);
    expect(h.sms.sent.at(-1)?.to).toBe('+4915123456789');
    expect((await start(c, '+1 201 555 0123')).statusCode).toBe(201);
  });

  it('needs a session and CSRF to start; per-account and per-network limits', async () => {
    h = await startHarness({
      accounts: {
        verification: {
          startsPerAccountPerDay: 2,
          startsPerNetwork: { capacity: 3, refillPerSecond: 1 / 3600 },
        },
      },
    });
    const anon = h.client();
    expectError(await start(anon), 401, 'unauthenticated');
    const c = h.client('203.0.113.10');
    await c.signup('hal@example.org');
    expectError(await c.post('/api/verification/start', { phoneNumber: MOBILE }, false), 403, 'csrf_failed');
    expect((await start(c, MOBILE)).statusCode).toBe(201);
    expect((await start(c, OTHER_MOBILE)).statusCode).toBe(201);
    expectError(await start(c, '+49 1512 3456789'), 429, 'rate_limited');
    // Another account on the same network: the network's bucket (3) runs out too.
    const d = h.client('203.0.113.11');
    await d.signup('hal2@example.org');
    expectError(await start(d, '+49 1512 3456780'), 429, 'rate_limited');
    expect(h.sms.sent).toHaveLength(2);
  });

  it('step-up for the phone check: reported accounts need TOTP, without TOTP they are refused', async () => {
    h = await startHarness();
    const c = h.client();
    const { id } = await c.signup('ida@example.org');
    await fileReports(h, id, 2);
    // 2 reports (50) + account younger than a day (20) = 70: step-up, and no TOTP → deny.
    expectError(await start(c), 403, 'risk_denied');
    const enrol = (await c.post('/api/auth/totp/enroll')).json() as { secret: string };
    const code = () => generate({ secret: enrol.secret, epoch: Math.floor(h.clock.now() / 1000) });
    expect((await c.post('/api/auth/totp/confirm', { code: await code() })).statusCode).toBe(200);
    h.clock.advance(60_000);
    expectError(await start(c), 401, 'step_up_required');
    expectError(
      await start(c, MOBILE, { totp: (await code()) === '000000' ? '000001' : '000000' }),
      401,
      'invalid_totp',
    );
    expect((await start(c, MOBILE, { totp: await code() })).statusCode).toBe(201);
    const events = await h.db
      .selectFrom('auth_events')
      .select(['outcome', 'decision', 'score'])
      .where('action', '=', 'verification_start')
      .orderBy('id')
      .execute();
    expect(events).toEqual([
      { outcome: 'denied', decision: 'deny', score: 70 },
      { outcome: 'step_up', decision: 'step_up', score: 70 },
      { outcome: 'wrong_totp', decision: 'step_up', score: 70 },
      { outcome: 'ok', decision: 'step_up', score: 70 },
    ]);
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
    const c = h.client();
    await c.signup('jon@example.org');
    const started = await start(c);
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
    const key = await keyOf(c);
    const request = await createTokenRequest(key.publicKey);
    const checked = await c.post('/api/verification/check', {
      verificationId: verificationStartResponse.parse(started.json()).verificationId,
      code,
      blindedMessage: request.blindedMessage,
    });
    expect(checked.statusCode, checked.body).toBe(200);

    status = 503;
    const c2 = h.client();
    await c2.signup('jon2@example.org');
    const failed = await start(c2, OTHER_MOBILE);
    expectError(failed, 502, 'sms_failed');
    expect((failed.json() as { error: { message: string } }).error.message).not.toMatch(/33|612/);
    expect(await h.db.selectFrom('verification_codes').selectAll().execute()).toEqual([]);
    // The gateway being down is not the number's fault: no cool-down was left behind.
    status = 200;
    expect((await start(c2, OTHER_MOBILE)).statusCode).toBe(201);
  });

  it('console SMS provider (the default): the code is in the log, the number is not', async () => {
    h = await startHarness({ realSms: true });
    const c = h.client();
    await c.signup('kat@example.org');
    const started = await start(c);
    expect(started.statusCode, started.body).toBe(201);
    const line = h.log.lines.find((l) => l.includes('console SMS provider'));
    expect(line).toBeDefined();
    const code = (JSON.parse(line!) as { smsCode: string }).smsCode;
    expect(code).toMatch(/^[0-9]{6}$/);
    expect(line).not.toContain('7400');
    const key = await keyOf(c);
    const request = await createTokenRequest(key.publicKey);
    const checked = await c.post('/api/verification/check', {
      verificationId: verificationStartResponse.parse(started.json()).verificationId,
      code,
      blindedMessage: request.blindedMessage,
    });
    expect(checked.statusCode, checked.body).toBe(200);
  });

  it('refuses a blinded message of the wrong size or not below the modulus without using the code', async () => {
    h = await startHarness();
    const c = h.client();
    await c.signup('lea@example.org');
    const { verificationId } = verificationStartResponse.parse((await start(c)).json());
    const code = h.sms.lastCode();
    for (const blindedMessage of [toBase64(new Uint8Array(255)), toBase64(new Uint8Array(256).fill(0xff))]) {
      expectError(
        await c.post('/api/verification/check', { verificationId, code, blindedMessage }),
        400,
        'bad_request',
      );
    }
    const key = await keyOf(c);
    const request = await createTokenRequest(key.publicKey);
    const ok = await c.post('/api/verification/check', {
      verificationId,
      code,
      blindedMessage: request.blindedMessage,
    });
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
