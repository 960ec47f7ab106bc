import { generate } from 'otplib';
import type { LightMyRequestResponse } from 'fastify';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { totpEnrollResponse } from '@conclave/protocol';
import {
  expectError,
  fileReports,
  startHarness,
  STRONG_PASSWORD,
  type Harness,
  type TestClient,
} from './harness.js';

/**
 * The risk engine's sign-in rules against an attacker (risk/config.ts): a phished password, an
 * attacker's failures from other networks, a brute force; and account discovery: sign-up and
 * sign-in answer an e-mail with an account exactly as one without (status, body, cookies, the
 * password hash, and about the same time).
 */

/** Turns TOTP on for a signed-in client; returns a code maker (a later clock for each code). */
async function enrolTotp(h: Harness, c: TestClient): Promise<() => Promise<string>> {
  const { secret } = totpEnrollResponse.parse((await c.post('/api/auth/totp/enroll')).json());
  const code = () => generate({ secret, epoch: Math.floor(h.clock.now() / 1000) });
  const confirmed = await c.post('/api/auth/totp/confirm', { code: await code() });
  expect(confirmed.statusCode, confirmed.body).toBe(200);
  return async () => {
    h.clock.advance(31_000);
    return code();
  };
}

/** What a requester sees of an answer: status, body, and the names of the cookies it sets. */
function seen(res: LightMyRequestResponse): { status: number; body: string; cookies: string[] } {
  const cookies = (res.cookies as { name: string }[]).map((c) => c.name).sort();
  return { status: res.statusCode, body: res.body, cookies };
}

/** An address in its own /24 network: `net(7)` = 10.0.7.1. */
const net = (n: number) => `10.${Math.floor(n / 256)}.${n % 256}.1`;

describe('sign-in rules against an attacker', () => {
  let h: Harness;
  afterEach(async () => {
    vi.restoreAllMocks();
    await h?.close();
  });

  it('a phished password from a new device on a new network is not enough when the account has TOTP', async () => {
    h = await startHarness();
    const home = h.client('198.51.100.7');
    await home.signup('olga@example.org');
    const code = await enrolTotp(h, home);
    // Nothing else unusual: no failures anywhere, the first try, the right password.
    const phisher = h.client('192.0.2.66');
    const res = await phisher.signin('olga@example.org');
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ stepUp: 'totp' });
    expect(phisher.cookie('conclave_session')).toBeUndefined();
    // Sending a guessed code along does not help either.
    const guess = await phisher.post('/api/auth/signin', {
      email: 'olga@example.org',
      password: STRONG_PASSWORD,
      totp: (await code()) === '000000' ? '111111' : '000000',
    });
    expectError(guess, 401, 'invalid_totp');
    expect(phisher.cookie('conclave_session')).toBeUndefined();
    // The same password from the owner's known device (or known network) needs no code.
    await home.post('/api/auth/signout');
    expect((await home.signin('olga@example.org')).json()).toHaveProperty('account');
    expect((await h.client('198.51.100.99').signin('olga@example.org')).json()).toHaveProperty('account');
  });

  it("an attacker's failures from other networks do not stop the owner's known device; with TOTP a new device gets a step-up, not a refusal; a real brute force still stops", async () => {
    h = await startHarness();
    const home = h.client('198.51.100.7');
    await home.signup('pia@example.org');
    const laptop = h.client('198.51.100.7');
    await laptop.signup('quinn@example.org');
    const code = await enrolTotp(h, laptop);
    await home.post('/api/auth/signout');
    await laptop.post('/api/auth/signout');
    let n = 0;
    /** Wrong passwords, each from a network of its own, sent with a guessed code (so each counts). */
    const attack = async (email: string, count: number) => {
      for (let i = 0; i < count; i++) {
        const guess = { email, password: `attacker guess ${++n}`, totp: '123456' };
        expectError(await h.client(net(n)).post('/api/auth/signin', guess), 401, 'invalid_credentials');
      }
    };

    // Two wrong passwords from somewhere else no longer lock the owner out of a new phone.
    await attack('pia@example.org', 2);
    const phone = h.client('203.0.113.5');
    expect((await phone.signin('pia@example.org')).statusCode).toBe(200);

    // Twelve, from twelve networks: the password alone is not enough on a new device on a new
    // network — without TOTP that means "use a known device or wait" —, while the known
    // device, and a new device on the known network, sign in as always.
    await attack('pia@example.org', 10);
    await attack('quinn@example.org', 12);
    expectError(await h.client('198.18.1.1').signin('pia@example.org'), 401, 'step_up_required');
    expect((await home.signin('pia@example.org')).statusCode).toBe(200);
    expect((await h.client('198.51.100.7').signin('pia@example.org')).statusCode).toBe(200);
    // The owner with TOTP on a new device on a new network: asked for the code, and in.
    const abroad = h.client('198.18.2.1');
    expectError(await abroad.signin('quinn@example.org'), 401, 'step_up_required');
    const withCode = await abroad.post('/api/auth/signin', {
      email: 'quinn@example.org',
      password: STRONG_PASSWORD,
      totp: await code(),
    });
    expect(withCode.statusCode, withCode.body).toBe(200);
    expect(abroad.cookie('conclave_session')).toBeDefined();

    // A distributed brute force (30 failures in the window): new devices on new networks are
    // refused, TOTP or not; the known device still signs in.
    await attack('quinn@example.org', 18);
    expectError(await h.client('198.18.3.1').signin('quinn@example.org'), 403, 'risk_denied');
    const stillRefused = await h.client('198.18.4.1').post('/api/auth/signin', {
      email: 'quinn@example.org',
      password: STRONG_PASSWORD,
      totp: await code(),
    });
    expectError(stillRefused, 403, 'risk_denied');
    expect((await laptop.signin('quinn@example.org')).json()).toHaveProperty('account');
    // …and a known device on a network of its own (the laptop at a café) too.
    laptop.ip = '192.0.2.200';
    await laptop.post('/api/auth/signout');
    expect((await laptop.signin('quinn@example.org')).json()).toHaveProperty('account');
    // The window moves on: the new device signs in again (with its code).
    h.clock.advance(16 * 60_000);
    const later = await h.client('198.18.5.1').signin('quinn@example.org');
    expect(later.json()).toMatchObject({ stepUp: 'totp' });
  });

  it("outsiders' wrong passwords do not stop the signed-in owner's password change", async () => {
    h = await startHarness();
    const owner = h.client();
    await owner.signup('rosa@example.org');
    // Twelve wrong passwords (sent with a code, so that each is checked and counted).
    for (let i = 1; i <= 12; i++) {
      const guess = { email: 'rosa@example.org', password: 'a guess', totp: '123456' };
      expectError(await h.client(net(i)).post('/api/auth/signin', guess), 401, 'invalid_credentials');
    }
    const changed = await owner.post('/api/auth/password', {
      currentPassword: STRONG_PASSWORD,
      newPassword: 'a fresh long password',
    });
    expect(changed.statusCode, changed.body).toBe(200);
  });
});

describe('no account discovery', () => {
  let h: Harness;
  afterEach(async () => {
    vi.restoreAllMocks();
    await h?.close();
  });

  it('sign-up answers an e-mail with an account exactly as a new one, and changes nothing of the account', async () => {
    h = await startHarness();
    const owner = h.client('198.51.100.7');
    const { id } = await owner.signup('sara@example.org');
    const rowBefore = await h.db
      .selectFrom('users')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirstOrThrow();

    const hash = vi.spyOn(h.app.accounts.passwords, 'hash');
    const attempt = async (email: string) => {
      const c = h.client('192.0.2.10');
      await c.get('/api/auth/csrf');
      return c.post('/api/auth/signup', { email, password: 'the attacker password', displayName: 'Mallory' });
    };
    const taken = await attempt('sara@example.org');
    const free = await attempt('tom@example.org');
    expect(seen(taken)).toEqual(seen(free));
    expect(seen(taken)).toMatchObject({ status: 202, body: '{"v":1,"ok":true}' });
    expect(seen(taken).cookies).toEqual(['conclave_device']);
    // Both paths hash the password once.
    expect(hash).toHaveBeenCalledTimes(2);

    // The existing account is as it was: same password, name, sessions.
    const rowAfter = await h.db
      .selectFrom('users')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirstOrThrow();
    expect(rowAfter).toEqual(rowBefore);
    expect((await owner.get('/api/me')).statusCode).toBe(200);
    expectError(
      await h.client('192.0.2.11').signin('sara@example.org', 'the attacker password'),
      401,
      'invalid_credentials',
    );
    // The owner who signs up again with their own password simply signs in (as the SDK does).
    const again = h.client('198.51.100.7');
    expect(
      (await again.post('/api/auth/signup', { email: 'sara@example.org', password: STRONG_PASSWORD }))
        .statusCode,
    ).toBe(202);
    expect((await again.signin('sara@example.org')).json()).toMatchObject({ account: { id } });
    // The log says what happened, for the admin.
    const signups = await h.db
      .selectFrom('auth_events')
      .select(['outcome', 'user_id'])
      .where('action', '=', 'signup')
      .orderBy('id')
      .execute();
    expect(signups.map((e) => `${e.outcome}:${e.user_id === id ? 'sara' : 'other'}`)).toEqual([
      'ok:sara',
      'exists:sara',
      'ok:other',
      'exists:sara',
    ]);
  });

  it('sign-in answers an e-mail with an account exactly as one without, through every stage of the throttle', async () => {
    h = await startHarness();
    const setup = h.client('198.51.100.7');
    await setup.signup('plain@example.org');
    await h
      .client('198.51.100.7')
      .signup('reported@example.org')
      .then(({ id }) => fileReports(h, id, 4));
    const totpOwner = h.client('198.51.100.7');
    await totpOwner.signup('totp@example.org');
    await enrolTotp(h, totpOwner);

    /**
     * One attacker's script against one e-mail, from networks of its own (so that the targets
     * do not share network failures): wrong passwords from one network until it is refused,
     * codes sent along, then failures from many networks and the lockout.
     */
    const script = async (email: string, base: number) => {
      const answers: ReturnType<typeof seen>[] = [];
      const attacker = h.client(net(base));
      const send = async (c: TestClient, password: string, totp?: string) =>
        answers.push(seen(await c.post('/api/auth/signin', { email, password, ...(totp ? { totp } : {}) })));
      for (let i = 0; i < 4; i++) await send(attacker, `guess ${i}`);
      for (let i = 0; i < 4; i++) await send(attacker, `guess ${i}`, '123456');
      for (let i = 1; i <= 10; i++) await send(h.client(net(base + i)), 'spray');
      await send(h.client(net(base + 11)), 'spray');
      await send(h.client(net(base + 12)), 'spray', '123456');
      for (let i = 13; i <= 40; i++) await send(h.client(net(base + i)), 'spray', '123456');
      await send(h.client(net(base + 41)), 'spray');
      return answers;
    };
    const nobody = await script('nobody@example.org', 1000);
    expect(new Set(nobody.map((a) => a.body)).size).toBeGreaterThanOrEqual(3);
    expect(nobody.map((a) => a.status)).toContain(403);
    expect(nobody.map((a) => a.status)).toContain(401);
    for (const [email, base] of [
      ['plain@example.org', 2000],
      ['totp@example.org', 3000],
      ['reported@example.org', 4000],
    ] as const) {
      expect(await script(email, base), email).toEqual(nobody);
    }
    // No answer names a count or the account.
    for (const a of nobody) expect(a.body).not.toMatch(/account|[0-9] failed/);
  });

  it('a wrong password and an unknown e-mail both run the password hash, and take about as long', async () => {
    h = await startHarness({ accounts: { passwordScrypt: { ln: 14, r: 8, p: 1 } } });
    const owner = h.client('198.51.100.7');
    await owner.signup('uma@example.org');
    const verify = vi.spyOn(h.app.accounts.passwords, 'verify');
    const verifyNothing = vi.spyOn(h.app.accounts.passwords, 'verifyNothing');
    const time = async (email: string, ip: string) => {
      const c = h.client(ip);
      await c.get('/api/auth/csrf');
      const t0 = performance.now();
      const res = await c.signin(email, 'not the password');
      const ms = performance.now() - t0;
      expectError(res, 401, 'invalid_credentials');
      return { ms, body: res.body };
    };
    await time('nobody@example.org', net(1)); // start-up work (first requests) out of the way
    const known: number[] = [];
    const unknown: number[] = [];
    for (let i = 0; i < 9; i++) {
      // Each from its own network, with no failures in the window, so no throttle steps in;
      // the order alternates (whichever goes first after a pause tends to be slower).
      const a = async () => known.push((await time('uma@example.org', net(10 + i))).ms);
      const b = async () => unknown.push((await time(`nobody${i}@example.org`, net(30 + i))).ms);
      if (i % 2 === 0) await a().then(b);
      else await b().then(a);
      h.clock.advance(16 * 60_000);
    }
    const bodies = await Promise.all([time('uma@example.org', net(50)), time('nobody@example.org', net(51))]);
    expect(bodies[0].body).toBe(bodies[1].body);
    expect(verify).toHaveBeenCalledTimes(10);
    expect(verifyNothing).toHaveBeenCalledTimes(11);
    const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
    const [k, u] = [median(known), median(unknown)];
    // Both are dominated by one scrypt (16 MiB here, tens of milliseconds); without it the
    // unknown e-mail would answer in about a millisecond.
    expect(Math.abs(k - u), `known ${k.toFixed(1)} ms, unknown ${u.toFixed(1)} ms`).toBeLessThan(
      Math.max(k, u) * 0.5,
    );
  });
});
