import { describe, expect, it } from 'vitest';
import type { GroupMember } from '@conclave/crypto';
import { AccountApi, ConclaveError, CookieJar, KeyDirectory } from '../src/index.js';

interface Sent {
  url: string;
  method: string;
  headers: Record<string, string>;
  credentials: RequestCredentials | undefined;
  body: unknown;
}

/** A fetch that records requests and answers from a table (path → status, body, Set-Cookie). */
function fakeFetch(
  answers: Record<string, { status?: number; body: unknown; setCookie?: string[] } | Error>,
): { fetch: typeof fetch; sent: Sent[] } {
  const sent: Sent[] = [];
  const impl = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const url = String(input);
    sent.push({
      url,
      method: init?.method ?? 'GET',
      headers: { ...(init?.headers as Record<string, string>) },
      credentials: init?.credentials,
      body: typeof init?.body === 'string' ? JSON.parse(init.body) : undefined,
    });
    const answer = answers[new URL(url).pathname];
    if (!answer) throw new Error(`unexpected request ${url}`);
    if (answer instanceof Error) throw answer;
    const headers = new Headers({ 'content-type': 'application/json' });
    for (const c of answer.setCookie ?? []) headers.append('set-cookie', c);
    const text = typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body);
    return new Response(text, { status: answer.status ?? 200, headers });
  };
  return { fetch: impl as typeof fetch, sent };
}

const ME = {
  v: 1,
  account: {
    id: 'user-0001',
    email: 'a@example.org',
    displayName: 'A',
    plan: 'free',
    role: 'user',
    createdAt: '2026-11-27T00:00:00.000Z',
    totpEnabled: false,
    phoneVerified: false,
  },
  entitlement: { standard: true, e2ee: false, reason: 'verification_required' },
};

describe('CookieJar', () => {
  it('keeps name=value, replaces, and deletes on Max-Age=0, past Expires or an empty value', () => {
    const jar = new CookieJar();
    expect(jar.header()).toBeUndefined();
    jar.store([
      'conclave_session=abc; Path=/; HttpOnly; SameSite=Lax; Max-Age=2592000',
      'conclave_csrf=tok=en; Path=/; SameSite=Strict',
      'broken',
    ]);
    expect(jar.get('conclave_csrf')).toBe('tok=en');
    expect(jar.header()).toBe('conclave_session=abc; conclave_csrf=tok=en');
    jar.store(['conclave_session=def; Path=/']);
    expect(jar.get('conclave_session')).toBe('def');
    jar.store(['conclave_session=; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT']);
    expect(jar.get('conclave_session')).toBeUndefined();
    jar.store(['conclave_csrf=x; Max-Age=0']);
    expect(jar.header()).toBeUndefined();
  });
});

describe('AccountApi', () => {
  it('sends the CSRF token and cookies on changes, and the phone check (key, start, check) with no cookie at all', async () => {
    const key = await crypto.subtle.generateKey(
      {
        name: 'RSA-PSS',
        modulusLength: 2048,
        publicExponent: new Uint8Array([1, 0, 1]),
        hash: 'SHA-384',
      },
      true,
      ['sign', 'verify'],
    );
    const spki = Buffer.from(await crypto.subtle.exportKey('spki', key.publicKey)).toString('base64');
    const { fetch, sent } = fakeFetch({
      '/api/auth/csrf': { body: { v: 1, csrfToken: 'csrf-1' }, setCookie: ['conclave_csrf=csrf-1; Path=/'] },
      '/api/auth/signup': { status: 202, body: { v: 1, ok: true } },
      '/api/auth/signin': {
        body: { ...ME, csrfToken: 'csrf-2' },
        setCookie: ['conclave_session=session-one; Path=/; HttpOnly', 'conclave_csrf=csrf-2; Path=/'],
      },
      '/api/verification/key': {
        body: {
          v: 1,
          suite: 'RSABSSA-SHA384-PSS-Randomized',
          keyId: 'k1',
          publicKey: spki,
          modulusBits: 2048,
        },
      },
      '/api/verification/start': {
        status: 201,
        body: {
          v: 1,
          verificationId: 'a'.repeat(22),
          expiresInSeconds: 600,
          resendAfterSeconds: 60,
          attempts: 5,
        },
      },
      // A signature that does not verify: the client must refuse to make a token of it.
      '/api/verification/check': {
        body: { v: 1, keyId: 'k1', blindSignature: Buffer.alloc(256, 1).toString('base64') },
      },
    });
    const api = new AccountApi({ serverUrl: 'http://conclave.test/', fetch });
    await api.signUp({ email: 'a@example.org', password: 'long enough password' });
    const signup = sent.find((s) => s.url.endsWith('/api/auth/signup'))!;
    expect(signup.url).toBe('http://conclave.test/api/auth/signup');
    expect(signup.headers['x-csrf-token']).toBe('csrf-1');
    expect(signup.headers.cookie).toBe('conclave_csrf=csrf-1');
    expect(signup.body).toEqual({ v: 1, email: 'a@example.org', password: 'long enough password' });
    expect(api.cookieHeader()).toBe('conclave_csrf=csrf-2; conclave_session=session-one');

    await api.startPhoneVerification({ phoneNumber: '+44 7400 123456' });
    const err = await api.checkPhoneCode('a'.repeat(22), '123456').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConclaveError);
    expect((err as ConclaveError).code).toBe('invalid_token');
    const check = sent.find((s) => s.url.endsWith('/api/verification/check'))!;
    expect(check.body).toMatchObject({ v: 1, verificationId: 'a'.repeat(22), code: '123456' });
    expect(typeof (check.body as { blindedMessage: string }).blindedMessage).toBe('string');
    const phoneCheck = sent.filter((s) => s.url.includes('/api/verification/'));
    expect(phoneCheck.map((s) => new URL(s.url).pathname)).toEqual([
      '/api/verification/start',
      '/api/verification/key',
      '/api/verification/check',
    ]);
    const device = phoneCheck[0]!.headers['x-conclave-check-device'];
    expect(device).toMatch(/^[A-Za-z0-9_-]{22}$/);
    for (const s of phoneCheck) {
      expect(s.credentials).toBe('omit');
      expect(s.headers.cookie).toBeUndefined();
      expect(s.headers['x-csrf-token']).toBeUndefined();
      // The same random id on each, and nothing the phone check sent carries the session.
      expect(s.headers['x-conclave-check-device']).toBe(device);
      expect(JSON.stringify(s)).not.toContain('session-one'); // '-' never occurs in the base64 body
    }
    // The id goes to the phone check only.
    for (const s of sent.filter((s) => !s.url.includes('/api/verification/'))) {
      expect(s.headers['x-conclave-check-device']).toBeUndefined();
    }
  });

  it('turns failures into ConclaveErrors with code and status', async () => {
    const { fetch } = fakeFetch({
      '/api/me': {
        status: 401,
        body: { v: 1, error: { code: 'unauthenticated', message: 'sign in first' } },
      },
      '/api/meetings/abcd': { status: 502, body: '<html>bad gateway</html>' },
      '/api/meetings/efgh': { body: { v: 1, meeting: { id: 'efgh' } } },
      '/api/devices': new TypeError('fetch failed'),
    });
    const api = new AccountApi({ serverUrl: 'http://conclave.test', fetch });
    expect(await api.me()).toBeUndefined();
    await expect(api.getMeeting('abcd')).rejects.toMatchObject({ code: 'internal_error', status: 502 });
    await expect(api.getMeeting('efgh')).rejects.toMatchObject({
      code: 'internal_error',
      message: expect.stringMatching(/unexpected answer/),
    });
    await expect(api.devices()).rejects.toMatchObject({ code: 'connection_failed', status: 0 });
  });
});

describe('KeyDirectory', () => {
  const member = (key: number): GroupMember => ({
    leafIndex: 1,
    identity: { v: 1, kind: 'user', userId: 'user-0001', deviceId: 'dev-0001', displayName: 'A' },
    signaturePublicKey: new Uint8Array(32).fill(key),
  });
  const entry = (key: number) => ({
    userId: 'user-0001',
    deviceId: 'dev-0001',
    publicKey: Buffer.alloc(32, key).toString('base64'),
    createdAt: '2026-11-27T00:00:00.000Z',
  });

  it('looks each key up once, says unavailable when the directory fails, and checks again on verify', async () => {
    let calls = 0;
    let failing = true;
    let changes = 0;
    const dir = new KeyDirectory(
      {
        lookupDevice: async () => {
          calls++;
          if (failing) throw new ConclaveError('connection_failed', 'down', 0);
          return entry(7);
        },
      },
      () => changes++,
    );
    expect(dir.status(member(7))).toBe('checking');
    expect(dir.status(member(7))).toBe('checking'); // one lookup in flight, not two
    await new Promise((r) => setTimeout(r, 0));
    expect(calls).toBe(1);
    expect(changes).toBe(1);
    expect(dir.status(member(7))).toBe('unavailable');
    failing = false;
    expect(await dir.verify('user-0001', 'dev-0001', member(7).signaturePublicKey)).toBe('verified');
    expect(dir.status(member(7))).toBe('verified');
    // Another key under the same (user, device) is its own question, and the wrong answer.
    expect(await dir.verify('user-0001', 'dev-0001', member(8).signaturePublicKey)).toBe('unverified');
    expect(calls).toBe(3);
    expect(
      dir.status({ ...member(7), identity: { v: 1, kind: 'guest', deviceId: 'g', displayName: 'G' } }),
    ).toBe('guest');
  });
});
