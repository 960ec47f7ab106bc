import { createServer, request, Agent, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { launchFirefox, type Firefox } from './firefox.js';
import { startServerAndBrowser, type SpawnedServer } from './server.js';
import {
  axeSerious,
  openPage,
  signedInAs,
  signUp,
  sleep,
  type Participant,
  type TestAccount,
} from './helpers.js';

/** One request as the browser sent it, seen by a proxy in front of the server. */
interface Seen {
  /** The browser's TCP connection (numbered in the order they were opened). */
  connection: number;
  method: string;
  path: string;
  cookie: boolean;
  csrf: boolean;
  device: boolean;
  at: number;
}

/**
 * A plain HTTP proxy in front of `conclave serve` that notes, per request, the connection it
 * came on and whether it carried a Cookie, a CSRF or a check-device header: what the server
 * gets from the browser. Connections stay open a minute, so the browser would reuse one if it
 * pooled the phone check with the account's requests.
 */
async function recordingProxy(
  upstream: string,
): Promise<{ url: string; seen: Seen[]; close(): Promise<void> }> {
  const seen: Seen[] = [];
  const ids = new WeakMap<Socket, number>();
  let next = 0;
  const agent = new Agent({ keepAlive: true });
  const target = new URL(upstream);
  const proxy: Server = createServer((req: IncomingMessage, res) => {
    let connection = ids.get(req.socket);
    if (connection === undefined) ids.set(req.socket, (connection = ++next));
    seen.push({
      connection,
      method: req.method ?? '',
      path: (req.url ?? '').split('?')[0] ?? '',
      cookie: req.headers.cookie !== undefined,
      csrf: req.headers['x-csrf-token'] !== undefined,
      device: req.headers['x-conclave-check-device'] !== undefined,
      at: Date.now(),
    });
    const up = request(
      {
        host: target.hostname,
        port: target.port,
        path: req.url,
        method: req.method,
        headers: req.headers,
        agent,
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  proxy.keepAliveTimeout = 60_000;
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`,
    seen,
    close: async () => {
      proxy.closeAllConnections();
      await new Promise((r) => proxy.close(r));
      agent.destroy();
    },
  };
}

const PHONE_CHECK = /^\/api\/verification\/(start|check|key)$/;

/**
 * The unlock page against `conclave serve` (console SMS provider), through a recording proxy:
 * the number and the code leave Chromium without a cookie and on connections of their own;
 * the page explains the wait; the token is redeemed on the account's connection after the
 * (test-shortened) delay — in the open page, after a reload, or at the next sign-in.
 */
describe('the unlock page: phone check without cookies, redeem later', () => {
  let server: SpawnedServer | undefined;
  let browser: Browser | undefined;
  let proxy: Awaited<ReturnType<typeof recordingProxy>> | undefined;

  const srv = (): SpawnedServer => {
    if (!server) throw new Error('the server did not start');
    return server;
  };
  const smsCodes = () =>
    [
      ...srv()
        .output()
        .matchAll(/"smsCode":"(\d{6})"/g),
    ].map((m) => m[1] ?? '');
  async function nextSmsCode(before: number): Promise<string> {
    const t0 = Date.now();
    while (smsCodes().length <= before) {
      if (Date.now() - t0 > 10_000) throw new Error(`no SMS code in the server output:\n${srv().output()}`);
      await sleep(100);
    }
    return smsCodes()[before] ?? '';
  }

  /** Types the number and the code on the unlock page; resolves once the code was accepted. */
  async function phoneCheck(p: Participant, number: string): Promise<void> {
    const { page } = p;
    await page.goto(`${proxy!.url}/account/unlock`);
    const before = smsCodes().length;
    await page.getByLabel('Mobile number', { exact: true }).fill(number);
    await page.getByRole('button', { name: 'Send code' }).click();
    await page.getByRole('heading', { name: 'Enter the code' }).waitFor();
    await page.getByLabel('Code from the text message', { exact: true }).fill(await nextSmsCode(before));
    await page.getByRole('button', { name: 'Check code' }).click();
    await page.getByRole('heading', { name: 'Your phone number is confirmed' }).waitFor();
  }

  async function signIn(p: Participant, a: TestAccount): Promise<void> {
    await p.page.goto(`${proxy!.url}/signin`);
    await p.page.getByLabel('E-mail address', { exact: true }).fill(a.email);
    await p.page.getByLabel('Password', { exact: true }).fill(a.password);
    await p.page.getByRole('button', { name: 'Sign in' }).click();
    await signedInAs(p, a.displayName);
  }

  beforeAll(async () => {
    ({ server, browser } = await startServerAndBrowser(['--log-level', 'info']));
    proxy = await recordingProxy(server.url);
  });

  afterAll(async () => {
    await proxy?.close();
    await browser?.close().catch(() => undefined);
    await server?.stop();
  });

  it('start and check carry no cookie, on connections of their own; the page explains the wait; the redeem comes later on the account', async () => {
    const rosa = await openPage(browser!, 'Rosa', { unlockDelaySeconds: 4 });
    const ROSA: TestAccount = {
      email: 'rosa@example.org',
      password: 'tall grass in june',
      displayName: 'Rosa',
    };
    await signUp(rosa, proxy!.url, ROSA);
    await phoneCheck(rosa, '+44 7400 123456');
    const checkedAt = Date.now();
    const eta = rosa.page.getByTestId('unlock-eta');
    await expect(eta.textContent()).resolves.toBe(
      'Your phone number is confirmed. To keep the server from linking it to your account, your account is unlocked in less than a minute — you can close this page; it also happens at your next sign-in.',
    );
    await rosa.page
      .getByText('The wait is drawn at random between 1 and 15 minutes', { exact: false })
      .waitFor();
    expect(await axeSerious(rosa.page)).toEqual([]);
    // Not yet: the account is unlocked after the delay, by this open page.
    expect(proxy!.seen.filter((s) => s.path === '/api/verification/redeem')).toEqual([]);
    await rosa.page
      .getByRole('heading', { name: 'End-to-end encryption is unlocked' })
      .waitFor({ timeout: 20_000 });

    const seen = proxy!.seen;
    const checks = seen.filter((s) => PHONE_CHECK.test(s.path));
    expect(checks.map((s) => `${s.method} ${s.path}`)).toEqual([
      'POST /api/verification/start',
      'GET /api/verification/key',
      'POST /api/verification/check',
    ]);
    for (const s of checks) expect(s, s.path).toMatchObject({ cookie: false, csrf: false, device: true });
    // The check-device id goes with the phone check only.
    const credentialed = seen.filter((s) => !PHONE_CHECK.test(s.path));
    expect(credentialed.filter((s) => s.device)).toEqual([]);
    // From the phone check on, every account request carries the cookies.
    const afterStart = credentialed.filter((s) => s.path.startsWith('/api/') && s.at >= checks[0]!.at);
    expect(afterStart.filter((s) => !s.cookie).map((s) => s.path)).toEqual([]);
    // Separate connection pools: no connection carried both a phone-check and an account request
    // — though connections are reused (keep-alive), by the account's requests and by the check's.
    expect(new Set(credentialed.map((s) => s.connection)).size).toBeLessThan(credentialed.length);
    expect(new Set(checks.map((s) => s.connection)).size).toBeLessThan(checks.length);
    const checkConnections = new Set(checks.map((s) => s.connection));
    expect(credentialed.filter((s) => checkConnections.has(s.connection)).map((s) => s.path)).toEqual([]);
    const [redeem, ...more] = seen.filter((s) => s.path === '/api/verification/redeem');
    expect(more).toEqual([]);
    expect(redeem).toMatchObject({ method: 'POST', cookie: true, csrf: true, device: false });
    expect(redeem!.at - checkedAt).toBeGreaterThanOrEqual(3_000);

    // An unlocked account's page does not offer the check.
    await rosa.page.goto(`${proxy!.url}/account/unlock`);
    await rosa.page.getByRole('heading', { name: 'Already unlocked' }).waitFor();
    expect(await rosa.page.getByLabel('Mobile number', { exact: true }).count()).toBe(0);
    await rosa.context.close();
  });

  it('a closed page: the token is redeemed at the next visit after the delay, or at the next sign-in', async () => {
    // Sam closes the page right after the check and comes back after the delay.
    const sam = await openPage(browser!, 'Sam', { unlockDelaySeconds: 3 });
    const SAM: TestAccount = {
      email: 'sam@example.org',
      password: 'moss on the old wall',
      displayName: 'Sam',
    };
    await signUp(sam, proxy!.url, SAM);
    await phoneCheck(sam, '+44 7400 654321');
    await sam.page.close();
    await sleep(3_500);
    const later = await sam.context.newPage();
    await later.goto(`${proxy!.url}/account`);
    const entitlement = later.getByTestId('e2ee-entitlement');
    await expect
      .poll(() => entitlement.getAttribute('data-reason'), { timeout: 15_000 })
      .toBe('phone_verified');
    await sam.context.close();

    // Tess signs out right after the check: nothing is redeemed while nobody is signed in; the
    // next sign-in redeems it.
    const tess = await openPage(browser!, 'Tess', { unlockDelaySeconds: 2 });
    const TESS: TestAccount = {
      email: 'tess@example.org',
      password: 'rain over the harbour',
      displayName: 'Tess',
    };
    await signUp(tess, proxy!.url, TESS);
    await phoneCheck(tess, '+44 7400 777888');
    await tess.page
      .getByRole('navigation', { name: 'Account' })
      .getByRole('button', { name: 'Sign out' })
      .click();
    await tess.page
      .getByRole('navigation', { name: 'Account' })
      .getByRole('link', { name: 'Sign in' })
      .waitFor();
    const redeems = () => proxy!.seen.filter((s) => s.path === '/api/verification/redeem').length;
    const before = redeems();
    await sleep(3_000);
    expect(redeems()).toBe(before);
    await signIn(tess, TESS);
    await expect.poll(redeems, { timeout: 15_000 }).toBe(before + 1);
    await tess.page.goto(`${proxy!.url}/account`);
    await expect(tess.page.getByTestId('e2ee-entitlement').getAttribute('data-reason')).resolves.toBe(
      'phone_verified',
    );
    await tess.context.close();
  });

  it('Firefox too sends credential-less requests without cookies and on connections of their own', async () => {
    let ff: Firefox | undefined;
    try {
      ff = await launchFirefox();
      const page = await ff.browser.newPage();
      await page.goto(`${proxy!.url}/`);
      const from = proxy!.seen.length;
      // What the SDK does, in Firefox's own fetch: an account signs up and in; then the phone
      // check's requests with `credentials: 'omit'`, then the account's again.
      const status = await page.evaluate(async () => {
        const json = { 'content-type': 'application/json' };
        const csrf = ((await (await fetch('/api/auth/csrf')).json()) as { csrfToken: string }).csrfToken;
        const account = { v: 1, email: 'uma@example.org', password: 'wind in the pines' };
        const post = async (path: string, body: object, token: string) =>
          fetch(path, {
            method: 'POST',
            headers: { ...json, 'x-csrf-token': token },
            body: JSON.stringify(body),
          });
        await post('/api/auth/signup', account, csrf);
        const signedIn = (await (await post('/api/auth/signin', account, csrf)).json()) as {
          csrfToken?: string;
        };
        await fetch('/api/me');
        const device = { 'x-conclave-check-device': 'firefox-check-device-0123' };
        const start = await fetch('/api/verification/start', {
          method: 'POST',
          credentials: 'omit',
          headers: { ...json, ...device },
          body: JSON.stringify({ v: 1, phoneNumber: '+44 7400 111222' }),
        });
        await fetch('/api/verification/key', { credentials: 'omit', headers: device });
        await fetch('/api/me');
        await fetch('/api/me');
        return [start.status, signedIn.csrfToken ? 'signed in' : 'not signed in'];
      });
      expect(status).toEqual([201, 'signed in']);
      const seen = proxy!.seen.slice(from);
      const checks = seen.filter((s) => PHONE_CHECK.test(s.path));
      const credentialed = seen.filter((s) => !PHONE_CHECK.test(s.path));
      expect(checks.map((s) => s.path)).toEqual(['/api/verification/start', '/api/verification/key']);
      for (const s of checks) expect(s).toMatchObject({ cookie: false, csrf: false, device: true });
      // The account's requests after its sign-in carry its cookie (the app's own signed-out
      // /api/me from the page load may land in the window too).
      const signIn = credentialed.findIndex((s) => s.path === '/api/auth/signin');
      expect(signIn).toBeGreaterThanOrEqual(0);
      const afterSignIn = credentialed.slice(signIn + 1).filter((s) => s.path === '/api/me');
      expect(afterSignIn).toHaveLength(3);
      expect(afterSignIn.every((s) => s.cookie)).toBe(true);
      const checkConnections = new Set(checks.map((s) => s.connection));
      expect(credentialed.filter((s) => checkConnections.has(s.connection)).map((s) => s.path)).toEqual([]);
      expect(new Set(credentialed.map((s) => s.connection)).size).toBeLessThan(credentialed.length);
      expect(new Set(checks.map((s) => s.connection)).size).toBeLessThan(checks.length);
    } finally {
      await ff?.close();
    }
  });
});
