import {
  AccountApi,
  ConclaveClient,
  ConclaveError,
  KeyDirectory,
  type ClientOptions,
  type MemberVerification,
} from '@conclave/client';
import { accountClientOptions, nodeWebSocket, nodeWebSocketWithCookies } from '@conclave/client/node';
import { MlsDevice } from '@conclave/crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { adminSetPlan, createDatabase, startConclave, type ConclaveServer } from '../../src/index.js';
import { memoryLogger, tempDir, testConfig } from '../helpers.js';

const PASSWORD = 'a long enough password';

async function until(pred: () => boolean, what: string, ms = 10_000): Promise<void> {
  const t0 = Date.now();
  while (!pred()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function refusal(p: Promise<unknown>): Promise<{ code: string; status: number | undefined }> {
  try {
    await p;
  } catch (e) {
    if (e instanceof ConclaveError) return { code: e.code, status: e.status };
    throw e;
  }
  throw new Error('expected a refusal');
}

/**
 * The SDK's account API (AccountApi, CookieJar, KeyDirectory, accountClientOptions) against a
 * running server over real HTTP and WebSockets: signaling and MLS, no SFU.
 */
describe('accounts in a running server, through the SDK', () => {
  let server: ConclaveServer<undefined> | undefined;
  let dir: ReturnType<typeof tempDir> | undefined;
  const clients: ConclaveClient[] = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) await c.leave().catch(() => undefined);
    await server?.close();
    dir?.remove();
  });

  async function start() {
    dir = tempDir('conclave-accounts-server-');
    const log = memoryLogger();
    server = await startConclave(testConfig(dir.path), { media: false, logger: log.logger, webRoot: null });
    return { url: server.url, log };
  }

  function join(url: string, meetingId: string, name: string, extra: Partial<ClientOptions> = {}) {
    const c = new ConclaveClient({
      serverUrl: url,
      meetingId,
      displayName: name,
      webSocket: nodeWebSocket,
      reconnect: false,
      ...extra,
    });
    clients.push(c);
    return c;
  }

  it('signs up, is refused E2EE hosting, unlocks it with the phone check, creates the meeting', async () => {
    const { url, log } = await start();
    const api = new AccountApi({ serverUrl: url });
    expect(await api.me()).toBeUndefined();
    expect(await refusal(api.createMeeting({ mode: 'standard' }))).toEqual({
      code: 'unauthenticated',
      status: 401,
    });

    const signedUp = await api.signUp({ email: 'net@example.org', password: PASSWORD, displayName: 'Net' });
    expect(signedUp.status === 'signed_in' && signedUp.me.entitlement).toEqual({
      standard: true,
      e2ee: false,
      reason: 'verification_required',
    });
    expect(await refusal(api.createMeeting({ mode: 'e2ee' }))).toEqual({
      code: 'e2ee_not_entitled',
      status: 403,
    });

    const started = await api.startPhoneVerification({ phoneNumber: '07400 123456', country: 'GB' });
    const codeLine = log.lines.find((l) => l.includes('console SMS provider'));
    const code = (JSON.parse(codeLine!) as { smsCode: string }).smsCode;
    const wrong = code === '000000' ? '111111' : '000000';
    expect(await refusal(api.checkPhoneCode(started.verificationId, wrong))).toEqual({
      code: 'wrong_code',
      status: 400,
    });
    const token = await api.checkPhoneCode(started.verificationId, code);
    expect(token.keyId).toBe((await api.verificationKey()).keyId);
    const unlocked = await api.redeemVerificationToken(token);
    expect(unlocked.entitlement).toEqual({ standard: true, e2ee: true, reason: 'phone_verified' });
    // The same token on another account: spent.
    const other = new AccountApi({ serverUrl: url });
    await other.signUp({ email: 'other@example.org', password: PASSWORD });
    expect(await refusal(other.redeemVerificationToken(token))).toEqual({ code: 'token_spent', status: 409 });

    const made = await api.createMeeting({ mode: 'e2ee', title: 'unlocked' });
    expect(made.meeting.mode).toBe('e2ee');
    expect((await api.getMeeting(made.meeting.id)).title).toBe('unlocked');
    // Nothing in the log names the number.
    expect(log.lines.filter((l) => /7400\s?123\s?456|7400123456/.test(l))).toEqual([]);

    await api.signOut();
    expect(await api.me()).toBeUndefined();
    expect(await refusal(api.createMeeting({ mode: 'standard' }))).toEqual({
      code: 'unauthenticated',
      status: 401,
    });
  });

  it('a stale CSRF token is fetched again once', async () => {
    const { url } = await start();
    const api = new AccountApi({ serverUrl: url });
    await api.signUp({ email: 'tabs@example.org', password: PASSWORD });
    // Another tab signs in again: the server rotates the CSRF cookie this client shares.
    const tab = new AccountApi({ serverUrl: url, cookies: api.cookies });
    const result = await tab.signIn('tabs@example.org', PASSWORD);
    expect(result.status).toBe('signed_in');
    const made = await api.createMeeting({ mode: 'standard' });
    expect(made.meeting.mode).toBe('standard');
  });

  it('joins as an account: the server checks the session, members see verified, unverified and guest', async () => {
    const { url } = await start();
    const dbPath = dir!.path;
    const host = new AccountApi({ serverUrl: url });
    await host.signUp({ email: 'host@example.org', password: PASSWORD, displayName: 'Host' });
    {
      const db = createDatabase({ dataDir: dbPath });
      await adminSetPlan(db, 'host@example.org', 'paid');
      await db.destroy();
    }
    const { meeting, hostSecret } = await host.createMeeting({ mode: 'e2ee' });
    const hostOpts = await accountClientOptions(host, 'Host');
    expect((await host.devices()).map((d) => d.deviceId)).toEqual([hostOpts.deviceId]);
    const hostClient = join(url, meeting.id, 'Host', { ...hostOpts, hostSecret });
    expect(await hostClient.connect()).toBe('joined');

    // A guest who claims the host's account is refused before it reaches the meeting.
    const forger = join(url, meeting.id, 'Forger', { userId: hostOpts.userId });
    expect(await refusal(forger.connect())).toMatchObject({ code: 'unauthenticated' });
    // So is another signed-in account naming the host's.
    const mallory = new AccountApi({ serverUrl: url });
    await mallory.signUp({ email: 'mallory@example.org', password: PASSWORD });
    const impostor = join(url, meeting.id, 'Impostor', {
      userId: hostOpts.userId,
      webSocket: nodeWebSocketWithCookies(() => mallory.cookieHeader()),
    });
    expect(await refusal(impostor.connect())).toMatchObject({ code: 'unauthenticated' });

    // Mallory joins as herself, with a device key she never registered: "unverified".
    const malloryId = (await mallory.me())!.account.id;
    const unregistered = await MlsDevice.create({
      kind: 'user',
      userId: malloryId,
      deviceId: 'unregistered-device',
      displayName: 'Mallory',
    });
    const malloryClient = join(url, meeting.id, 'Mallory', {
      userId: malloryId,
      deviceId: 'unregistered-device',
      device: unregistered,
      webSocket: nodeWebSocketWithCookies(() => mallory.cookieHeader()),
    });
    expect(await malloryClient.connect()).toBe('joined');
    const guest = join(url, meeting.id, 'Guest');
    expect(await guest.connect()).toBe('joined');
    await until(() => guest.roster().length === 3, 'three members in the guest’s MLS roster');

    // The guest's view, through the public directory (a guest has no session).
    let changes = 0;
    const directory = new KeyDirectory(new AccountApi({ serverUrl: url }), () => changes++);
    const verdict = () =>
      Object.fromEntries(guest.roster().map((m) => [m.identity.displayName, directory.status(m)])) as Record<
        string,
        MemberVerification
      >;
    expect(verdict()).toEqual({ Host: 'checking', Mallory: 'checking', Guest: 'guest' });
    await until(() => changes >= 2, 'both directory lookups');
    expect(verdict()).toEqual({ Host: 'verified', Mallory: 'unverified', Guest: 'guest' });

    // Mallory registers a different key under that device id later: still not the key in the group.
    await mallory.registerDevice('unregistered-device', new Uint8Array(32).fill(7));
    const malloryLeaf = guest.roster().find((m) => m.identity.displayName === 'Mallory')!;
    const fresh = new KeyDirectory(new AccountApi({ serverUrl: url }));
    expect(await fresh.verify(malloryId, 'unregistered-device', malloryLeaf.signaturePublicKey)).toBe(
      'unverified',
    );
    // The strict hook (for apps that refuse unverified accounts in the group) agrees.
    const hook = fresh.hook();
    const hostLeaf = guest.roster().find((m) => m.identity.displayName === 'Host')!;
    if (hostLeaf.identity.kind !== 'user') throw new Error('the host joined as an account');
    expect(await hook(hostLeaf.identity, hostLeaf.signaturePublicKey)).toBe(true);
    expect(await hook({ ...hostLeaf.identity }, malloryLeaf.signaturePublicKey)).toBe(false);

    // The host retires that device key: a fresh check no longer verifies it.
    await host.deleteDevice(hostOpts.deviceId);
    expect(await host.devices()).toEqual([]);
    expect(
      await new KeyDirectory(host).verify(hostOpts.userId, hostOpts.deviceId, hostLeaf.signaturePublicKey),
    ).toBe('unverified');
  });
});
