import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { WebSocket } from 'ws';
import { AccountApi } from '@conclave/client';
import { originRefusal } from '../../src/ws-endpoint.js';
import { memoryLogger } from '../helpers.js';
import { hostMeeting, ModifiedClient, startAttackServer, type AttackServer } from './harness.js';

// Finding 4: the signaling upgrade accepted any Origin, with the account's session cookie: a page
// of another origin (another port of the same host, or a sibling host where SameSite=Lax cookies
// still go) could open a socket signed in as its visitor and join meetings as that account.

type Upgrade = { opened: true; ws: WebSocket } | { opened: false; status: number; body: string };

/** One raw upgrade with the given headers: either it opens, or the HTTP answer that refused it. */
function upgrade(ts: AttackServer, headers: Record<string, string>): Promise<Upgrade> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(ts.wsUrl, { headers });
    ws.once('open', () => resolve({ opened: true, ws }));
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ opened: false, status: res.statusCode ?? 0, body }));
    });
    ws.once('error', reject);
  });
}

const sockets: WebSocket[] = [];
const modified: ModifiedClient[] = [];
afterEach(() => {
  for (const ws of sockets.splice(0)) ws.terminate();
  for (const m of modified.splice(0)) m.close();
  vi.restoreAllMocks();
});

async function signedIn(ts: AttackServer): Promise<{ api: AccountApi; userId: string; cookie: string }> {
  const api = new AccountApi({ serverUrl: ts.url });
  const signedUp = await api.signUp({
    email: `victim-${Math.random().toString(36).slice(2, 10)}@example.org`,
    password: 'origin tests victim password',
    displayName: 'Victim',
  });
  if (signedUp.status !== 'signed_in') throw new Error('a new account signs in with its password');
  const { me } = signedUp;
  const cookie = api.cookieHeader();
  expect(cookie).toMatch(/conclave_session=/);
  return { api, userId: me.account.id, cookie: cookie! };
}

describe('signaling upgrades from other origins (no public URL configured)', () => {
  let ts: AttackServer;
  const log = memoryLogger();
  beforeAll(async () => {
    ts = await startAttackServer([], { logger: log.logger });
  });
  afterAll(async () => {
    await ts.close();
  });

  it('refuses another port and a sibling host with 403, cookie or not (the hub never sees the socket); no Origin opens', async () => {
    const { cookie } = await signedIn(ts);
    const port = new URL(ts.url).port;
    const otherPort = String(Number(port) === 65535 ? 1024 : Number(port) + 1);
    const handled = vi.spyOn(ts.server.hub, 'handleConnection');
    for (const origin of [
      `http://127.0.0.1:${otherPort}`,
      `http://localhost:${port}`,
      `https://127.0.0.1.evil.example:${port}`,
      'null',
    ]) {
      for (const headers of [{ origin, cookie }, { origin }] as Array<Record<string, string>>) {
        const r = await upgrade(ts, headers);
        if (r.opened) sockets.push(r.ws);
        expect(r, `${origin} ${'cookie' in headers ? 'with' : 'without'} the cookie`).toMatchObject({
          opened: false,
          status: 403,
        });
        if (!r.opened) expect(r.body).toMatch(/signaling connections are accepted only from/);
      }
    }
    expect(handled).not.toHaveBeenCalled();
    expect(log.lines.some((l) => l.includes('refused a signaling upgrade from another origin'))).toBe(true);

    // Without Origin the client is no browser page (bots, the Node SDK): it opens.
    const plain = await upgrade(ts, {});
    if (plain.opened) sockets.push(plain.ws);
    expect(plain.opened).toBe(true);
    expect(handled).toHaveBeenCalledTimes(1);
  });

  it('the server’s own origin with the cookie opens, and a join naming that account succeeds', async () => {
    const { userId, cookie } = await signedIn(ts);
    const { meetingId } = await hostMeeting(ts);
    const handled = vi.spyOn(ts.server.hub, 'handleConnection');
    const me = await ModifiedClient.create(ts, {
      identity: { kind: 'user', userId, deviceId: 'victim-laptop', displayName: 'Victim' },
      origin: ts.url,
      cookie,
    });
    modified.push(me);
    expect(await me.join(meetingId)).toMatchObject({ type: 'joined' });
    expect(handled).toHaveBeenCalledTimes(1);

    // The cookie is what makes that join the account's: without it the same join is refused.
    const noCookie = await ModifiedClient.create(ts, {
      identity: { kind: 'user', userId, deviceId: 'victim-phone', displayName: 'Victim' },
      origin: ts.url,
    });
    modified.push(noCookie);
    expect(await noCookie.join(meetingId)).toMatchObject({ type: 'error', code: 'unauthenticated' });
    expect(handled).toHaveBeenCalledTimes(2);

    // The same join from another origin never reaches the hub (and so never joins as the account).
    const cross = await ModifiedClient.create(ts, {
      identity: { kind: 'user', userId, deviceId: 'victim-laptop-2', displayName: 'Victim' },
      origin: `http://localhost:${new URL(ts.url).port}`,
      cookie,
    });
    modified.push(cross);
    await expect(cross.open()).rejects.toThrow();
    expect(handled).toHaveBeenCalledTimes(2);
  });
});

describe('signaling upgrades with --public-url https://meet.example.org', () => {
  let ts: AttackServer;
  beforeAll(async () => {
    ts = await startAttackServer(['--public-url', 'https://meet.example.org']);
  });
  afterAll(async () => {
    await ts.close();
  });

  it('accepts only the public URL’s origin (and no Origin)', async () => {
    const { cookie } = await signedIn(ts);
    const ok = await upgrade(ts, { origin: 'https://meet.example.org', cookie });
    if (ok.opened) sockets.push(ok.ws);
    expect(ok.opened).toBe(true);

    const none = await upgrade(ts, { cookie });
    if (none.opened) sockets.push(none.ws);
    expect(none.opened).toBe(true);

    for (const origin of [
      ts.url, // the address the request went to: not the configured public origin
      'http://meet.example.org',
      'https://meet.example.org:8443',
      'https://evil.meet.example.org',
      'https://meet.example.org.evil.example',
      'null',
    ]) {
      const r = await upgrade(ts, { origin, cookie });
      if (r.opened) sockets.push(r.ws);
      expect(r, origin).toMatchObject({ opened: false, status: 403 });
      if (!r.opened) expect(r.body).toContain('https://meet.example.org');
    }
  });
});

describe('originRefusal', () => {
  const accepted = (origin: string | undefined, host: string | undefined, publicUrl?: string) =>
    originRefusal(origin, host, publicUrl) === undefined;

  it('accepts a request without Origin (not a browser page)', () => {
    expect(accepted(undefined, '127.0.0.1:8080')).toBe(true);
    expect(accepted(undefined, undefined)).toBe(true);
    expect(accepted(undefined, 'x', 'https://meet.example.org')).toBe(true);
  });

  it('without a public URL: only the origin of the Host the request addressed', () => {
    expect(accepted('http://127.0.0.1:8080', '127.0.0.1:8080')).toBe(true);
    // behind a TLS-terminating proxy that keeps the Host header
    expect(accepted('https://meet.example.org', 'meet.example.org')).toBe(true);
    expect(accepted('http://127.0.0.1:8081', '127.0.0.1:8080')).toBe(false);
    expect(accepted('http://localhost:8080', '127.0.0.1:8080')).toBe(false);
    expect(accepted('http://127.0.0.1:8080', 'localhost:8080')).toBe(false);
    expect(accepted('http://sub.example.org', 'example.org')).toBe(false);
    expect(accepted('http://example.org', 'sub.example.org')).toBe(false);
    expect(accepted('http://example.org.evil.example', 'example.org')).toBe(false);
    // no Host to compare with: refused
    expect(accepted('http://127.0.0.1:8080', undefined)).toBe(false);
    // an unparsable Host: refused, not thrown
    expect(accepted('http://a b', 'a b')).toBe(false);
    expect(() => originRefusal('http://x', '[::1', undefined)).not.toThrow();
    expect(accepted('http://[::1', '[::1')).toBe(false);
  });

  it('IPv6 hosts in brackets', () => {
    expect(accepted('http://[::1]:8080', '[::1]:8080')).toBe(true);
    expect(accepted('http://[::1]', '[::1]')).toBe(true);
    expect(accepted('http://[2001:db8::1]:8080', '[2001:DB8:0::1]:8080')).toBe(true);
    expect(accepted('http://[::1]:8081', '[::1]:8080')).toBe(false);
    expect(accepted('http://[::2]:8080', '[::1]:8080')).toBe(false);
    expect(accepted('http://127.0.0.1:8080', '[::1]:8080')).toBe(false);
    expect(accepted('http://[::1]:8080', undefined, 'https://[2001:db8::5]')).toBe(false);
    expect(accepted('https://[2001:db8::5]', 'whatever', 'https://[2001:db8::5]:443/')).toBe(true);
  });

  it('default ports: browsers leave them out of Origin', () => {
    expect(accepted('http://example.org', 'example.org:80')).toBe(true);
    expect(accepted('https://example.org', 'example.org:443')).toBe(true);
    expect(accepted('http://example.org', 'example.org')).toBe(true);
    expect(accepted('https://meet.example.org', 'x', 'https://meet.example.org:443')).toBe(true);
    expect(accepted('http://meet.example.org', 'x', 'http://meet.example.org:80/')).toBe(true);
    expect(accepted('https://meet.example.org', 'x', 'https://meet.example.org:8443')).toBe(false);
    expect(accepted('https://meet.example.org:8443', 'x', 'https://meet.example.org:8443')).toBe(true);
  });

  it('a public URL with trailing slashes or a path: its origin, and only it', () => {
    for (const publicUrl of [
      'https://meet.example.org/',
      'https://meet.example.org//',
      'https://example.org/conclave/',
      'https://MEET.example.org',
    ]) {
      const origin = new URL(publicUrl).origin;
      expect(accepted(origin, 'ignored', publicUrl), publicUrl).toBe(true);
      expect(accepted(`${origin}/`, 'ignored', publicUrl), `${publicUrl} with a slash`).toBe(false);
    }
    expect(accepted('https://meet.example.org', 'x', 'https://meet.example.org/')).toBe(true);
    // With a public URL, the Host's own origin is not enough.
    expect(accepted('http://127.0.0.1:8080', '127.0.0.1:8080', 'https://meet.example.org')).toBe(false);
    expect(accepted('http://meet.example.org', 'meet.example.org', 'https://meet.example.org')).toBe(false);
  });

  it('refuses the "null" origin of sandboxed iframes, file: pages and redirects', () => {
    expect(accepted('null', '127.0.0.1:8080')).toBe(false);
    expect(accepted('null', 'null')).toBe(false);
    expect(accepted('null', undefined)).toBe(false);
    expect(accepted('null', 'x', 'https://meet.example.org')).toBe(false);
    expect(accepted('', '127.0.0.1:8080')).toBe(false);
  });

  it('names what is accepted in the refusal', () => {
    expect(originRefusal('https://evil.example', 'x', 'https://meet.example.org/')).toContain(
      'https://meet.example.org',
    );
    expect(originRefusal('https://evil.example', '127.0.0.1:8080', undefined)).toMatch(/own pages/);
  });
});
