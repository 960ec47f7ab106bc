import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { join } from 'node:path';
import { makeSelfSignedCertificate, type SelfSignedCertificate } from '@conclave/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import {
  buildHttpApp,
  ConfigError,
  createDatabase,
  loadConfig,
  MeetingStore,
  migrateToLatest,
  startConclave,
  type ConclaveServer,
} from '../src/index.js';
import { API_CSP, HSTS, PERMISSIONS_POLICY, pageCsp } from '../src/http/security-headers.js';
import { memoryLogger, tempDir, testConfig } from './helpers.js';

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** One request with node:http(s); `ca` trusts the test certificate. */
function send(
  url: string,
  opts: { method?: string; headers?: Record<string, string>; body?: string; ca?: string } = {},
): Promise<Answer> {
  const u = new URL(url);
  const request = u.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request(u, { method: opts.method ?? 'GET', headers: opts.headers, ca: opts.ca }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

/** A folder shaped like the web app's build: index.html, a script, the worker, a stylesheet. */
function fakeWebBuild(dir: string): string {
  const web = join(dir, 'dist');
  mkdirSync(join(web, 'assets'), { recursive: true });
  writeFileSync(join(web, 'index.html'), '<!doctype html><title>app</title>');
  writeFileSync(join(web, 'assets', 'index-abc.js'), 'console.log(1)');
  writeFileSync(join(web, 'assets', 'e2ee-worker-abc.js'), 'self.onmessage = () => {}');
  writeFileSync(join(web, 'assets', 'index-abc.css'), 'body{}');
  return web;
}

/**
 * Paths, the status they answer with, and whose CSP they carry: the web app's (every page it
 * routes, its scripts, the worker, its styles, and its wildcard's 404s) or the API's (the API,
 * found and not, and /healthz).
 */
const ROUTES: Record<string, [number, 'page' | 'api']> = {
  '/': [200, 'page'],
  '/m/abcdefghij': [200, 'page'],
  '/signin': [200, 'page'],
  '/signup': [200, 'page'],
  '/account': [200, 'page'],
  '/account/unlock': [200, 'page'],
  '/assets/index-abc.js': [200, 'page'],
  '/assets/e2ee-worker-abc.js': [200, 'page'],
  '/assets/index-abc.css': [200, 'page'],
  '/assets/none.js': [404, 'page'],
  '/nothing/here': [404, 'page'],
  '/api/auth/csrf': [200, 'api'],
  '/api/meetings/nosuchmeeting': [404, 'api'],
  '/api/nothing': [404, 'api'],
  '/healthz': [200, 'api'],
};

const COMMON = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'permissions-policy': PERMISSIONS_POLICY,
};

/** The directives of a CSP header, by name. */
function directives(csp: string | undefined): Record<string, string> {
  return Object.fromEntries(
    (csp ?? '')
      .split(';')
      .map((d) => d.trim().split(/\s+/))
      .filter((d) => d[0])
      .map(([name, ...values]) => [name, values.join(' ')]),
  );
}

/** Every header check, against a running server at `base`. */
async function expectHeaders(base: string, opts: { https: boolean; ca?: string; wsOrigin?: string }) {
  for (const [path, [status, csp]] of Object.entries(ROUTES)) {
    const res = await send(base + path, { ca: opts.ca });
    expect(res.status, path).toBe(status);
    expect(res.headers, path).toMatchObject(COMMON);
    expect(res.headers['strict-transport-security'], path).toBe(opts.https ? HSTS : undefined);
    expect(res.headers['content-security-policy'], path).toBe(
      csp === 'page' ? pageCsp(opts.wsOrigin) : API_CSP,
    );
  }
  // A state-changing API request, refused (no CSRF token), has them too.
  const post = await send(`${base}/api/auth/signin`, {
    method: 'POST',
    ca: opts.ca,
    headers: { 'content-type': 'application/json' },
    body: '{}',
  });
  expect(post.status).toBe(403);
  expect(post.headers).toMatchObject({ ...COMMON, 'content-security-policy': API_CSP });
}

describe('security headers', () => {
  it('the page CSP: scripts, the worker and styles from this origin only, no inline or eval, no framing', () => {
    const d = directives(pageCsp());
    expect(d).toEqual({
      'default-src': "'self'",
      'script-src': "'self'",
      'worker-src': "'self'",
      'connect-src': "'self'",
      'img-src': "'self' data:",
      'style-src': "'self'",
      'object-src': "'none'",
      'frame-src': "'none'",
      'base-uri': "'none'",
      'form-action': "'self'",
      'frame-ancestors': "'none'",
    });
    expect(pageCsp()).not.toMatch(/unsafe|\*|https?:|blob:/);
    expect(directives(pageCsp('wss://meet.example.org'))['connect-src']).toBe(
      "'self' wss://meet.example.org",
    );
    expect(directives(API_CSP)).toEqual({
      'default-src': "'none'",
      'frame-ancestors': "'none'",
      'base-uri': "'none'",
      'form-action': "'none'",
    });
  });

  it('Permissions-Policy: camera, microphone and display capture for this origin only, unused features off', () => {
    const policy = Object.fromEntries(PERMISSIONS_POLICY.split(', ').map((p) => p.split('=')));
    expect(policy).toMatchObject({
      camera: '(self)',
      microphone: '(self)',
      'display-capture': '(self)',
      geolocation: '()',
      payment: '()',
      usb: '()',
      fullscreen: '()',
    });
    const allowed = Object.keys(policy).filter((k) => policy[k] !== '()');
    expect(allowed.sort()).toEqual([
      'autoplay',
      'camera',
      'clipboard-write',
      'display-capture',
      'microphone',
    ]);
  });

  describe('from a running server', () => {
    const cleanups: (() => Promise<void> | void)[] = [];
    afterEach(async () => {
      for (const c of cleanups.reverse()) await c();
      cleanups.length = 0;
    });
    let cert: SelfSignedCertificate;
    beforeAll(() => {
      cert = makeSelfSignedCertificate();
    });
    afterAll(() => cert?.remove());

    async function start(
      overrides: Parameters<typeof testConfig>[1] = {},
    ): Promise<ConclaveServer<undefined>> {
      const dir = tempDir();
      cleanups.push(dir.remove);
      const server = await startConclave(testConfig(dir.path, overrides), {
        logger: memoryLogger().logger,
        webRoot: fakeWebBuild(dir.path),
        media: false,
      });
      cleanups.push(() => server.close());
      return server;
    }

    it('HTTP: every page, asset and API answer carries its CSP and the common headers, no HSTS', async () => {
      const server = await start();
      expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      await expectHeaders(server.url, { https: false });
    });

    it('HTTP behind an https public URL (TLS at a proxy): HSTS, and the CSP names the public wss origin', async () => {
      const server = await start({ publicUrl: 'https://meet.example.org' });
      await expectHeaders(server.url, { https: true, wsOrigin: 'wss://meet.example.org' });
    });

    it('HTTPS: the same headers with HSTS, https links and wss signaling on the same port', async () => {
      const server = await start({ tlsCert: cert.certFile, tlsKey: cert.keyFile });
      expect(server.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      expect(server.publicUrl).toBe(server.url);
      await expectHeaders(server.url, { https: true, ca: cert.cert });

      // Plain HTTP on the HTTPS port gets no answer (the TLS server drops it).
      await expect(send(server.url.replace('https:', 'http:'))).rejects.toThrow();

      const ws = new WebSocket(`${server.url.replace('https:', 'wss:')}/ws`, { ca: cert.cert });
      const pong = new Promise<string>((resolve, reject) => {
        ws.once('message', (d: Buffer) => resolve(d.toString('utf8')));
        ws.once('error', reject);
      });
      await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
      ws.send(JSON.stringify({ v: 1, type: 'ping', t: 3 }));
      expect(JSON.parse(await pong)).toMatchObject({ type: 'pong', t: 3 });
      ws.close();
      // An upgrade from a page of another origin is still refused over TLS.
      const foreign = new WebSocket(`${server.url.replace('https:', 'wss:')}/ws`, {
        ca: cert.cert,
        origin: 'https://evil.example',
      });
      await expect(
        new Promise((resolve, reject) => foreign.once('open', resolve).once('error', reject)),
      ).rejects.toThrow(/403/);
    });

    it('HTTPS: the session, CSRF and device cookies are Secure and __Host- (plain names, not Secure, over HTTP)', async () => {
      /** Signs up and in (a cookie jar across the requests); every Set-Cookie line the server sent. */
      const signUp = async (base: string, ca?: string): Promise<string[]> => {
        const jar = new Map<string, string>();
        const setCookies: string[] = [];
        const call = async (path: string, body?: object, token?: string): Promise<Answer> => {
          const res = await send(base + path, {
            method: body ? 'POST' : 'GET',
            ca,
            headers: {
              ...(body ? { 'content-type': 'application/json', 'x-csrf-token': token ?? '' } : {}),
              cookie: [...jar].map(([k, v]) => `${k}=${v}`).join('; '),
            },
            body: body && JSON.stringify(body),
          });
          for (const line of res.headers['set-cookie'] ?? []) {
            setCookies.push(line);
            const [name = '', value = ''] = (line.split(';')[0] ?? '').split('=');
            jar.set(name, value);
          }
          return res;
        };
        const csrf = await call('/api/auth/csrf');
        const token = (JSON.parse(csrf.body) as { csrfToken: string }).csrfToken;
        const account = { v: 1, email: 'tls@example.org', password: 'a long enough password' };
        const up = await call('/api/auth/signup', account, token);
        expect(up.status, up.body).toBeLessThan(300);
        const signIn = await call('/api/auth/signin', account, token);
        expect(signIn.status, signIn.body).toBe(200);
        return setCookies;
      };
      /** name → attributes (lower case) of Set-Cookie lines. */
      const parse = (lines: string[]) =>
        new Map(
          lines.map((l) => {
            const [pair = '', ...attrs] = l.split(';').map((s) => s.trim());
            return [pair.split('=')[0], attrs.map((a) => a.toLowerCase())];
          }),
        );

      const https = await start({ tlsCert: cert.certFile, tlsKey: cert.keyFile });
      const secure = parse(await signUp(https.url, cert.cert));
      expect([...secure.keys()].sort()).toEqual([
        '__Host-conclave_csrf',
        '__Host-conclave_device',
        '__Host-conclave_session',
      ]);
      for (const [name, attrs] of secure) {
        expect(attrs, name).toContain('secure');
        expect(attrs, name).toContain('path=/');
        expect(
          attrs.some((a) => a.startsWith('domain=')),
          name,
        ).toBe(false);
      }
      expect(secure.get('__Host-conclave_session')).toContain('httponly');

      const http = await start();
      const plain = parse(await signUp(http.url));
      expect([...plain.keys()].sort()).toEqual(['conclave_csrf', 'conclave_device', 'conclave_session']);
      for (const [name, attrs] of plain) expect(attrs, name).not.toContain('secure');
    });
  });
});

describe('HTTPS settings', () => {
  const cert = { file: '/etc/ssl/c.pem', key: '/etc/ssl/k.pem' };

  it('tlsCert and tlsKey come together, from flags or environment variables', () => {
    const c = loadConfig(['--tls-cert', cert.file, '--tls-key', cert.key], {});
    expect([c.tlsCert, c.tlsKey]).toEqual([cert.file, cert.key]);
    const e = loadConfig([], { CONCLAVE_TLS_CERT: cert.file, CONCLAVE_TLS_KEY: cert.key });
    expect([e.tlsCert, e.tlsKey]).toEqual([cert.file, cert.key]);
    expect(loadConfig([], {}).tlsCert).toBeUndefined();
    expect(() => loadConfig(['--tls-cert', cert.file], {})).toThrow(/needs both a certificate/);
    expect(() => loadConfig([], { CONCLAVE_TLS_KEY: cert.key })).toThrow(ConfigError);
  });

  it('refuses an http public URL for a server that serves HTTPS', () => {
    expect(() =>
      loadConfig(
        ['--tls-cert', cert.file, '--tls-key', cert.key, '--public-url', 'http://meet.example.org'],
        {},
      ),
    ).toThrow(/must be https/);
    expect(
      loadConfig(
        ['--tls-cert', cert.file, '--tls-key', cert.key, '--public-url', 'https://meet.example.org'],
        {},
      ).publicUrl,
    ).toBe('https://meet.example.org');
  });

  it('a certificate file that cannot be read, or a key of another certificate, fails start-up with a ConfigError', async () => {
    const dir = tempDir();
    const a = makeSelfSignedCertificate();
    const b = makeSelfSignedCertificate();
    try {
      const start = (tlsCert: string, tlsKey: string) =>
        startConclave(testConfig(dir.path, { tlsCert, tlsKey }), {
          logger: memoryLogger().logger,
          webRoot: null,
          media: false,
        });
      await expect(start(join(dir.path, 'none.pem'), a.keyFile)).rejects.toThrow(
        /Invalid setting tlsCert .*none\.pem.*cannot read it/,
      );
      await expect(start(a.certFile, b.keyFile)).rejects.toThrow(ConfigError);
      await expect(start(a.keyFile, a.certFile)).rejects.toThrow(/not a PEM certificate and its private key/);
    } finally {
      a.remove();
      b.remove();
      dir.remove();
    }
  });

  it('a renewed certificate is served without a restart; a half-written renewal keeps the old one', async () => {
    const dir = tempDir();
    const db = createDatabase({ dataDir: dir.path });
    const live = makeSelfSignedCertificate('first');
    const second = makeSelfSignedCertificate('second');
    const third = makeSelfSignedCertificate('third');
    const log = memoryLogger();
    const app = await migrateToLatest(db).then(() =>
      buildHttpApp({
        config: testConfig(dir.path, { tlsCert: live.certFile, tlsKey: live.keyFile }),
        store: new MeetingStore(db),
        logger: log.logger,
        webRoot: null,
        accounts: { db },
        tlsCheckIntervalMs: 50,
      }),
    );
    /** The common name of the certificate the server presents now. */
    const servedName = async (): Promise<string> => {
      const port = (app.server.address() as AddressInfo).port;
      return new Promise((resolve, reject) => {
        const s = tlsConnect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
          const name = s.getPeerCertificate().subject.CN;
          s.end();
          resolve(String(name));
        });
        s.on('error', reject);
      });
    };
    const waitFor = async (what: () => Promise<boolean>) => {
      for (let i = 0; i < 100 && !(await what()); i++) await new Promise((r) => setTimeout(r, 50));
    };
    try {
      await app.listen({ port: 0, host: '127.0.0.1' });
      expect(await servedName()).toBe('first');
      writeFileSync(live.certFile, second.cert);
      writeFileSync(live.keyFile, readKey(second));
      await waitFor(async () => (await servedName()) === 'second');
      expect(await servedName()).toBe('second');
      expect(log.lines.some((l) => l.includes('TLS certificate reloaded'))).toBe(true);
      // The certificate renewed, the key not yet: the pair does not load, the previous one stays.
      writeFileSync(live.certFile, third.cert);
      await waitFor(async () => log.lines.some((l) => l.includes('does not load')));
      expect(await servedName()).toBe('second');
      writeFileSync(live.keyFile, readKey(third));
      await waitFor(async () => (await servedName()) === 'third');
      expect(await servedName()).toBe('third');
    } finally {
      await app.close();
      await db.destroy();
      for (const c of [live, second, third]) c.remove();
      dir.remove();
    }
  });
});

function readKey(c: SelfSignedCertificate): string {
  return readFileSync(c.keyFile, 'utf8');
}
