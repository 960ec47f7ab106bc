import { generate } from 'otplib';
import { afterEach, describe, expect, it } from 'vitest';
import {
  ERROR_CATALOGUE,
  meResponse,
  signinResponse,
  stepUpResponse,
  totpEnrollResponse,
} from '@conclave/protocol';
import { hostingEntitlement } from '../../src/index.js';
import { expectError, fileReports, startHarness, STRONG_PASSWORD, type Harness } from './harness.js';

const KEY_A = Buffer.alloc(32, 7).toString('base64');
const KEY_B = Buffer.alloc(32, 9).toString('base64');

describe('accounts over HTTP', () => {
  let h: Harness;
  afterEach(async () => {
    await h?.close();
  });

  it('signs up, signs in, reads /api/me, signs out, and a replayed session cookie is refused', async () => {
    h = await startHarness();
    const alice = h.client();
    const signup = await alice.post('/api/auth/signup', {
      email: 'Alice@Example.org',
      password: STRONG_PASSWORD,
    });
    // Accepted, and no session: the same answer as for an e-mail that has an account.
    expect(signup.statusCode, signup.body).toBe(202);
    expect(signup.json()).toEqual({ v: 1, ok: true });
    expect(alice.cookie('conclave_session')).toBeUndefined();
    const signin = await alice.signin('Alice@Example.org');
    expect(signin.statusCode, signin.body).toBe(200);
    const me = meResponse.parse(signin.json());
    expect(me.account).toMatchObject({
      email: 'alice@example.org',
      plan: 'free',
      role: 'user',
      totpEnabled: false,
    });
    expect(me.entitlement).toEqual({ standard: true, e2ee: false, reason: 'verification_required' });
    expect(me.csrfToken).toBe(alice.cookie('conclave_csrf'));

    const session = alice.cookie('conclave_session');
    expect(session).toMatch(/^[A-Za-z0-9_-]{43}$/);
    // Stored hashed: the cookie value is nowhere in the table.
    const rows = await h.db.selectFrom('sessions').selectAll().execute();
    expect(rows).toHaveLength(1);
    expect(JSON.stringify(rows)).not.toContain(session);

    expect((await alice.get('/api/me')).statusCode).toBe(200);
    const out = await alice.post('/api/auth/signout');
    expect(out.statusCode, out.body).toBe(200);
    expect(alice.cookie('conclave_session')).toBeUndefined();
    expectError(await alice.get('/api/me'), 401, 'unauthenticated');

    // An attacker who copied the cookie before sign-out gets nothing with it.
    const replay = h.client();
    replay.cookies.set('conclave_session', session!);
    expectError(await replay.get('/api/me'), 401, 'unauthenticated');
    expectError(
      await replay.post('/api/devices', { deviceId: 'dev-1', publicKey: KEY_A }),
      401,
      'unauthenticated',
    );
  });

  it('sets HttpOnly/SameSite cookies, Secure with __Host- names when the public URL is https', async () => {
    h = await startHarness({ config: { publicUrl: 'https://meet.example.org' } });
    const c = h.client();
    const signup = await c.post('/api/auth/signup', { email: 'bob@example.org', password: STRONG_PASSWORD });
    const res = await c.signin('bob@example.org');
    expect(res.statusCode, res.body).toBe(200);
    const byName = new Map(
      (
        res.cookies as {
          name: string;
          httpOnly?: boolean;
          sameSite?: string;
          secure?: boolean;
          path?: string;
        }[]
      ).map((x) => [x.name, x]),
    );
    expect(byName.get('__Host-conclave_session')).toMatchObject({
      httpOnly: true,
      sameSite: 'Lax',
      secure: true,
      path: '/',
    });
    expect(byName.get('__Host-conclave_csrf')).toMatchObject({ sameSite: 'Strict', secure: true, path: '/' });
    expect(byName.get('__Host-conclave_csrf')?.httpOnly).toBeFalsy();
    // The device cookie comes with the first answer that reads it (the sign-up here).
    const device = (signup.cookies as { name: string }[]).find((x) => x.name === '__Host-conclave_device');
    expect(device).toMatchObject({ httpOnly: true, secure: true });
    expect((await c.get('/api/me')).statusCode).toBe(200);
  });

  it('refuses state-changing requests without the CSRF header or with a wrong one', async () => {
    h = await startHarness();
    const c = h.client();
    await c.get('/api/auth/csrf');
    const body = { email: 'carol@example.org', password: STRONG_PASSWORD };
    expectError(await c.post('/api/auth/signup', body, false), 403, 'csrf_failed');
    expectError(await c.post('/api/auth/signup', body, 'A'.repeat(43)), 403, 'csrf_failed');
    expectError(await c.post('/api/auth/signup', body, ''), 403, 'csrf_failed');
    // A header without the cookie (a cross-site page cannot read or set ours).
    const noCookie = h.client();
    expectError(await noCookie.post('/api/auth/signup', body, 'A'.repeat(43)), 403, 'csrf_failed');
    expect(await h.db.selectFrom('users').selectAll().execute()).toHaveLength(0);

    await c.signup('carol@example.org');
    for (const [url, payload] of [
      ['/api/auth/password', { currentPassword: STRONG_PASSWORD, newPassword: 'another long password' }],
      ['/api/devices', { deviceId: 'dev-1', publicKey: KEY_A }],
      ['/api/auth/totp/enroll', {}],
      ['/api/verification/redeem', { message: 'AAAA', signature: 'AAAA' }],
      ['/api/auth/signout', {}],
    ] as const) {
      expectError(await c.post(url, payload, false), 403, 'csrf_failed');
      expectError(await c.post(url, payload, `${c.cookie('conclave_csrf')!.slice(1)}x`), 403, 'csrf_failed');
    }
    // Still signed in: the forged sign-out did nothing.
    expect((await c.get('/api/me')).statusCode).toBe(200);
  });

  it('signs in with the right password only; unknown e-mails look the same', async () => {
    h = await startHarness();
    await h.client().signup('dave@example.org');
    const c = h.client();
    expectError(await c.signin('dave@example.org', 'wrong password!!'), 401, 'invalid_credentials');
    expectError(await c.signin('nobody@example.org'), 401, 'invalid_credentials');
    const ok = await c.signin('DAVE@example.org');
    expect(ok.statusCode, ok.body).toBe(200);
    expect(meResponse.parse(ok.json()).account.email).toBe('dave@example.org');
    const events = await h.db
      .selectFrom('auth_events')
      .select(['action', 'outcome', 'user_id'])
      .orderBy('id')
      .execute();
    expect(events.map((e) => `${e.action}:${e.outcome}:${e.user_id === null ? 'anon' : 'user'}`)).toEqual([
      'signup:ok:user',
      'signin:ok:user',
      'signin:wrong_password:user',
      'signin:unknown_account:anon',
      'signin:ok:user',
    ]);
    expectError(
      await c.post('/api/auth/signup', { email: 'erin@example.org', password: 'short' }),
      400,
      'bad_request',
    );
  });

  it('changes the password: the old one stops working and every other session ends', async () => {
    h = await startHarness();
    const laptop = h.client();
    await laptop.signup('frank@example.org');
    const phone = h.client();
    expect((await phone.signin('frank@example.org')).statusCode).toBe(200);
    expectError(
      await laptop.post('/api/auth/password', {
        currentPassword: 'not it at all',
        newPassword: 'a brand new password',
      }),
      401,
      'invalid_credentials',
    );
    const oldCookie = laptop.cookie('conclave_session');
    const res = await laptop.post('/api/auth/password', {
      currentPassword: STRONG_PASSWORD,
      newPassword: 'a brand new password',
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(laptop.cookie('conclave_session')).not.toBe(oldCookie);
    expect((await laptop.get('/api/me')).statusCode).toBe(200);
    expectError(await phone.get('/api/me'), 401, 'unauthenticated');
    const other = h.client();
    expectError(await other.signin('frank@example.org'), 401, 'invalid_credentials');
    expect((await other.signin('frank@example.org', 'a brand new password')).statusCode).toBe(200);
  });

  it('a sign-in ends the session the browser had before (no fixation); a stolen session cannot guess the password', async () => {
    h = await startHarness();
    const c = h.client();
    await c.signup('liv@example.org');
    await h.client().signup('max@example.org');
    const planted = c.cookie('conclave_session')!;
    expect((await c.signin('max@example.org')).statusCode).toBe(200);
    expect(c.cookie('conclave_session')).not.toBe(planted);
    const replay = h.client();
    replay.cookies.set('conclave_session', planted);
    expectError(await replay.get('/api/me'), 401, 'unauthenticated');

    for (let i = 0; i < 10; i++) {
      const res = await c.post('/api/auth/password', {
        currentPassword: `guess ${i}`,
        newPassword: 'whatever long enough',
      });
      expectError(res, 401, 'invalid_credentials');
    }
    const blocked = await c.post('/api/auth/password', {
      currentPassword: STRONG_PASSWORD,
      newPassword: 'whatever long enough',
    });
    expectError(blocked, 429, 'rate_limited');
    h.clock.advance(16 * 60_000);
    const ok = await c.post('/api/auth/password', {
      currentPassword: STRONG_PASSWORD,
      newPassword: 'whatever long enough',
    });
    expect(ok.statusCode, ok.body).toBe(200);
  });

  it('TOTP: enrol; a new device on a new network always steps up (a phished password is not enough); after failed sign-ins the code goes with the password', async () => {
    h = await startHarness();
    const home = h.client('198.51.100.7');
    await home.signup('grace@example.org');
    const enrol = totpEnrollResponse.parse((await home.post('/api/auth/totp/enroll')).json());
    expect(enrol.otpauthUri).toMatch(/^otpauth:\/\/totp\/Conclave:grace%40example\.org\?secret=/);
    const code = (offsetS = 0) =>
      generate({ secret: enrol.secret, epoch: Math.floor(h.clock.now() / 1000) + offsetS });
    const wrong = async () => ((await code()) === '000000' ? '111111' : '000000');
    expectError(await home.post('/api/auth/totp/confirm', { code: await wrong() }), 400, 'invalid_totp');
    const confirmed = await home.post('/api/auth/totp/confirm', { code: await code() });
    expect(meResponse.parse(confirmed.json()).account.totpEnabled).toBe(true);
    expectError(await home.post('/api/auth/totp/enroll'), 409, 'totp_already_enabled');

    // From the known device and network, a password is enough.
    await home.post('/api/auth/signout');
    expect(signinResponse.parse((await home.signin('grace@example.org')).json())).toHaveProperty('account');

    // The right password from a new device on a new network, nothing else unusual (15 + 15 =
    // 30, below the step-up score): still the code, since the account has one.
    const travel = h.client('203.0.113.9');
    const first = await travel.signin('grace@example.org');
    expect(first.statusCode, first.body).toBe(200);
    const step = stepUpResponse.parse(first.json());
    expect(travel.cookie('conclave_session')).toBeUndefined();

    // The ticket works only with the code, only from the browser that passed the password.
    h.clock.advance(60_000);
    const thief = h.client('203.0.113.9');
    expectError(
      await thief.post('/api/auth/signin/totp', { ticket: step.ticket, code: await code() }),
      401,
      'unauthenticated',
    );
    expectError(
      await travel.post('/api/auth/signin/totp', { ticket: step.ticket, code: await wrong() }),
      401,
      'invalid_totp',
    );
    const usedCode = await code();
    const done = await travel.post('/api/auth/signin/totp', { ticket: step.ticket, code: usedCode });
    expect(done.statusCode, done.body).toBe(200);
    expect((await travel.get('/api/me')).statusCode).toBe(200);
    // A ticket is good once.
    expectError(
      await travel.post('/api/auth/signin/totp', { ticket: step.ticket, code: await code() }),
      401,
      'unauthenticated',
    );

    const log = await h.db
      .selectFrom('auth_events')
      .selectAll()
      .where('action', '=', 'signin')
      .orderBy('id')
      .execute();
    const stepped = log.find((e) => e.outcome === 'step_up');
    expect(stepped).toMatchObject({ decision: 'step_up', score: 30, ip_prefix: '203.0.113.0/24' });
    expect(JSON.parse(stepped!.reasons).map((r: { signal: string }) => r.signal)).toEqual([
      'newDevice',
      'newNetwork',
      'new_device_and_network',
    ]);

    // Two wrong passwords from a café's network: the password alone is not enough any more, and
    // the answer says so before checking it (the same for any e-mail, with or without TOTP).
    h.clock.advance(60_000);
    const cafe = h.client('192.0.2.77');
    for (const typo of ['mistyped password', 'mistyped again']) {
      expectError(await cafe.signin('grace@example.org', typo), 401, 'invalid_credentials');
    }
    expectError(await cafe.signin('grace@example.org'), 401, 'step_up_required');
    const withCode = (password: string, totp: string) =>
      cafe.post('/api/auth/signin', { email: 'grace@example.org', password, totp });
    // Only someone with the password learns that the code was wrong.
    expectError(await withCode(STRONG_PASSWORD, await wrong()), 401, 'invalid_totp');
    expectError(await withCode('mistyped password', await code()), 401, 'invalid_credentials');
    const both = await withCode(STRONG_PASSWORD, await code());
    expect(both.statusCode, both.body).toBe(200);
    expect(meResponse.parse(both.json()).account.email).toBe('grace@example.org');
    expect(cafe.cookie('conclave_session')).toBeDefined();
    h.clock.advance(60_000);

    // Disabling needs a code; the one just used for signing in is burned.
    expectError(await travel.post('/api/auth/totp/disable', { code: usedCode }), 401, 'invalid_totp');
    expectError(await travel.post('/api/auth/totp/disable', { code: await wrong() }), 401, 'invalid_totp');
    h.clock.advance(60_000);
    const off = await travel.post('/api/auth/totp/disable', { code: await code() });
    expect(meResponse.parse(off.json()).account.totpEnabled).toBe(false);
  });

  it('a user without TOTP who needs the code cannot pass (told nothing about the account) and may sign in once the failures age out', async () => {
    h = await startHarness();
    await h.client('198.51.100.7').signup('heidi@example.org');
    const travel = h.client('203.0.113.9');
    for (const typo of ['mistyped password', 'mistyped again']) {
      expectError(await travel.signin('heidi@example.org', typo), 401, 'invalid_credentials');
    }
    const asked = await travel.signin('heidi@example.org');
    expectError(asked, 401, 'step_up_required');
    const message = (asked.json() as { error: { message: string } }).error.message;
    expect(message).not.toMatch(/account|[0-9]/);
    const last = await h.db
      .selectFrom('auth_events')
      .selectAll()
      .orderBy('id', 'desc')
      .executeTakeFirstOrThrow();
    expect(last).toMatchObject({ action: 'signin', outcome: 'step_up', decision: 'step_up', score: 40 });
    expect(JSON.parse(last.reasons).map((r: { signal: string }) => r.signal)).toEqual([
      'newDevice',
      'newNetwork',
      'accountFailures',
    ]);
    // Decided before the password: a wrong one is not even checked (no new failure).
    expectError(await travel.signin('heidi@example.org', 'another wrong one'), 401, 'step_up_required');
    // Without TOTP no code is right, and the right password with one is told no more than a wrong one.
    const withCode = await travel.post('/api/auth/signin', {
      email: 'heidi@example.org',
      password: STRONG_PASSWORD,
      totp: '123456',
    });
    expectError(withCode, 401, 'invalid_credentials');
    expect(withCode.body).toBe(
      (
        await travel.post('/api/auth/signin', {
          email: 'heidi@example.org',
          password: 'not it either',
          totp: '123456',
        })
      ).body,
    );
    expect(travel.cookie('conclave_session')).toBeUndefined();
    h.clock.advance(16 * 60_000);
    expect((await travel.signin('heidi@example.org')).statusCode).toBe(200);
  });

  it('denies password guessing from one network and counts the sign-ups of a network', async () => {
    h = await startHarness();
    const victim = h.client('198.51.100.7');
    await victim.signup('ivan@example.org');
    const attacker = h.client('192.0.2.50');
    const answers: string[] = [];
    for (let i = 0; i < 8; i++) {
      const res = await attacker.post('/api/auth/signin', {
        email: 'ivan@example.org',
        password: `guess number ${i}`,
        ...(i >= 3 ? { totp: '123456' } : {}),
      });
      answers.push((res.json() as { error: { code: string } }).error.code);
    }
    // New device + new network (30): two guesses; then the password alone is not enough (40), and
    // guessing a code with it counts too (this network's failures), until five refuse it (80).
    expect(answers).toEqual([
      'invalid_credentials',
      'invalid_credentials',
      'step_up_required',
      'invalid_credentials',
      'invalid_credentials',
      'invalid_credentials',
      'risk_denied',
      'risk_denied',
    ]);
    // The owner's known device is not locked out by it.
    expect((await victim.signin('ivan@example.org')).statusCode).toBe(200);
    const farm = h.client('203.0.113.51');
    const codes: number[] = [];
    for (let i = 0; i < 8; i++) {
      farm.cookies.clear();
      codes.push(
        (await farm.post('/api/auth/signup', { email: `bot${i}@example.org`, password: STRONG_PASSWORD }))
          .statusCode,
      );
    }
    // 4 sign-ups a day from one network are free, the 5th and 6th score 15 and 30, the 7th 45.
    expect(codes).toEqual([202, 202, 202, 202, 202, 202, 403, 403]);
    farm.cookies.clear();
    const disposable = { email: 'x@guerrillamail.com', password: STRONG_PASSWORD };
    expectError(await farm.post('/api/auth/signup', disposable), 403, 'risk_denied');
    // A day later the network is quiet again, and a disposable address alone may sign up.
    h.clock.advance(24 * 3_600_000);
    farm.cookies.clear();
    expect((await farm.post('/api/auth/signup', disposable)).statusCode).toBe(202);
  });

  it('registers device keys and serves them from the directory', async () => {
    h = await startHarness();
    const c = h.client();
    const { id } = await c.signup('judy@example.org');
    const reg = await c.post('/api/devices', { deviceId: 'laptop-1', publicKey: KEY_A });
    expect(reg.statusCode, reg.body).toBe(201);
    expect((await c.post('/api/devices', { deviceId: 'laptop-1', publicKey: KEY_A })).statusCode).toBe(200);
    expectError(
      await c.post('/api/devices', { deviceId: 'laptop-1', publicKey: KEY_B }),
      409,
      'device_key_conflict',
    );
    expectError(
      await c.post('/api/devices', { deviceId: 'laptop-2', publicKey: 'AAAA' }),
      400,
      'bad_request',
    );
    expectError(await c.post('/api/devices', { deviceId: 'x', publicKey: KEY_B }), 400, 'bad_request');

    const anyone = h.client('192.0.2.1');
    const found = await anyone.get(`/api/directory/${id}/laptop-1`);
    expect(found.statusCode).toBe(200);
    expect(found.json()).toMatchObject({
      v: 1,
      device: { userId: id, deviceId: 'laptop-1', publicKey: KEY_A },
    });
    expectError(await anyone.get(`/api/directory/${id}/laptop-2`), 404, 'unknown_device');
    expectError(await anyone.get(`/api/directory/${id}/bad%20id`), 404, 'unknown_device');
    expectError(
      await anyone.post('/api/devices', { deviceId: 'laptop-9', publicKey: KEY_A }),
      401,
      'unauthenticated',
    );
    expect((await c.get('/api/devices')).json()).toMatchObject({ devices: [{ deviceId: 'laptop-1' }] });
    expect((await c.send('DELETE', '/api/devices/laptop-1')).statusCode).toBe(200);
    expectError(await anyone.get(`/api/directory/${id}/laptop-1`), 404, 'unknown_device');
    expectError(await c.send('DELETE', '/api/devices/laptop-1'), 404, 'unknown_device');
  });

  it('hostingEntitlement: guests join, signed-in users host standard, paid or verified host E2EE', () => {
    expect(hostingEntitlement(null)).toEqual({ standard: false, e2ee: false, reason: 'guest' });
    expect(hostingEntitlement({ plan: 'free', phoneVerified: false })).toEqual({
      standard: true,
      e2ee: false,
      reason: 'verification_required',
    });
    expect(hostingEntitlement({ plan: 'free', phoneVerified: true })).toEqual({
      standard: true,
      e2ee: true,
      reason: 'phone_verified',
    });
    expect(hostingEntitlement({ plan: 'paid', phoneVerified: false })).toEqual({
      standard: true,
      e2ee: true,
      reason: 'paid',
    });
  });

  it('the meeting-creation gate: reports need TOTP, and the decision is logged', async () => {
    h = await startHarness();
    const c = h.client();
    const { id } = await c.signup('kim@example.org');
    const user = (await h.app.accounts.store.byId(id))!;
    // The gate reads only the client address and the device cookie of the request.
    const fakeReq = { ip: '198.51.100.7', cookies: {} } as never;
    const fakeReply = { setCookie: () => undefined } as never;
    expect((await h.app.accounts.gate(fakeReq, fakeReply, 'meeting_create', user)).ok).toBe(true);
    await fileReports(h, id, 2);
    const refused = await h.app.accounts.gate(fakeReq, fakeReply, 'meeting_create', user);
    expect(refused).toMatchObject({ ok: false, code: 'risk_denied' });
    // The refusal's HTTP status is its code's, from the catalogue.
    expect(refused.ok || ERROR_CATALOGUE[refused.code].status).toBe(403);
    const log = await h.db
      .selectFrom('auth_events')
      .selectAll()
      .where('action', '=', 'meeting_create')
      .execute();
    expect(log.map((e) => e.decision)).toEqual(['allow', 'deny']);
  });
});
