import { AccountApi, ConclaveClient, ConclaveError, type ClientOptions } from '@conclave/client';
import { accountClientOptions, nodeWebSocket } from '@conclave/client/node';
import { MlsDevice, toBase64 } from '@conclave/crypto';
import { PROTOCOL_VERSION, type ServerMessage } from '@conclave/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { adminSetPlan, adminSetRole, startConclave, type ConclaveServer } from '../../src/index.js';
import { memoryLogger, tempDir, testConfig } from '../helpers.js';
import { insertReport } from './fixtures.js';

const PASSWORD = 'a long enough password';

async function until(pred: () => boolean | Promise<boolean>, what: string, ms = 10_000): Promise<void> {
  const t0 = Date.now();
  while (!(await pred())) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
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

/** A bare signaling socket (a modified client: it sends exactly what the test says). */
class RawSocket {
  readonly messages: ServerMessage[] = [];
  readonly ws: WebSocket;
  readonly opened: Promise<void>;
  constructor(url: string, cookie?: string) {
    this.ws = new WebSocket(`${url.replace(/^http/, 'ws')}/ws`, { headers: cookie ? { cookie } : {} });
    this.ws.on('message', (data) => this.messages.push(JSON.parse(String(data)) as ServerMessage));
    this.opened = new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve());
      this.ws.once('error', reject);
    });
  }
  async send(msg: Record<string, unknown>): Promise<void> {
    await this.opened;
    this.ws.send(JSON.stringify({ v: PROTOCOL_VERSION, ...msg }));
  }
  async next<T extends ServerMessage['type']>(type: T): Promise<Extract<ServerMessage, { type: T }>> {
    let found: ServerMessage | undefined;
    await until(
      () => (found = this.messages.find((m) => m.type === type)) !== undefined,
      `a ${type} message`,
    );
    return found as Extract<ServerMessage, { type: T }>;
  }
  close(): Promise<void> {
    if (this.ws.readyState === this.ws.CLOSED) return Promise.resolve();
    return new Promise((resolve) => {
      this.ws.once('close', () => resolve());
      this.ws.close();
    });
  }
}

/**
 * What moderation does to running meetings, over real HTTP and WebSockets (no SFU): the SDK's
 * clients in E2EE and standard meetings, an admin acting through the SDK's moderation calls.
 */
describe('moderation in a running server', () => {
  let server: ConclaveServer<undefined> | undefined;
  let dir: ReturnType<typeof tempDir> | undefined;
  const clients: ConclaveClient[] = [];
  const sockets: RawSocket[] = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) await c.leave().catch(() => undefined);
    for (const s of sockets.splice(0)) await s.close();
    await server?.close();
    server = undefined;
    dir?.remove();
  });

  async function start() {
    dir = tempDir('conclave-moderation-');
    server = await startConclave(testConfig(dir.path), {
      media: false,
      logger: memoryLogger().logger,
      webRoot: null,
      // Long enough that the tests see the admin API's own sweep, not the timer's.
      moderationSweepMs: 60_000,
    });
    return server;
  }

  async function account(email: string, role: 'admin' | 'user' = 'user', plan: 'paid' | 'free' = 'free') {
    const api = new AccountApi({ serverUrl: server!.url });
    await api.signUp({ email, password: PASSWORD, displayName: email.split('@')[0] });
    if (role === 'admin') await adminSetRole(server!.storage.db, email, 'admin');
    if (plan === 'paid') await adminSetPlan(server!.storage.db, email, 'paid');
    return { api, id: (await api.me())!.account.id };
  }

  function join(meetingId: string, name: string, extra: Partial<ClientOptions> = {}) {
    const c = new ConclaveClient({
      serverUrl: server!.url,
      meetingId,
      displayName: name,
      webSocket: nodeWebSocket,
      reconnect: false,
      ...extra,
    });
    clients.push(c);
    return c;
  }

  function raw(cookie?: string) {
    const s = new RawSocket(server!.url, cookie);
    sockets.push(s);
    return s;
  }

  it('a suspended account is taken out of its live meeting and cannot join or resume as that account', async () => {
    await start();
    const host = await account('host@example.org', 'user', 'paid');
    const admin = await account('mod@example.org', 'admin');
    const bad = await account('bad@example.org');
    const { meeting, hostSecret } = await host.api.createMeeting({ mode: 'e2ee' });
    const hostClient = join(meeting.id, 'Host', {
      ...(await accountClientOptions(host.api, 'Host')),
      hostSecret,
    });
    expect(await hostClient.connect()).toBe('joined');
    const badOptions = await accountClientOptions(bad.api, 'Bad');
    const badClient = join(meeting.id, 'Bad', badOptions);
    expect(await badClient.connect()).toBe('joined');
    await until(() => hostClient.roster().length === 2, 'both in the MLS group');

    // A standard meeting too, where the bad account's raw socket drops and waits to resume.
    const standard = await host.api.createMeeting({ mode: 'standard', waitingRoom: false });
    const dropped = raw(bad.api.cookieHeader());
    await dropped.send({
      type: 'join',
      meetingId: standard.meeting.id,
      displayName: 'Bad',
      deviceId: 'bad-raw',
      userId: bad.id,
    });
    const joined = await dropped.next('joined');
    await dropped.close();
    const resumeRows = () =>
      server!.storage.db
        .selectFrom('resume_tokens')
        .select('participant_id')
        .where('user_id', '=', bad.id)
        .execute();
    await until(async () => (await resumeRows()).length === 2, 'both resume tokens stored');

    const reportId = await insertReport(server!.storage.db, {
      reported_user_id: bad.id,
      meeting_id: meeting.id,
    });
    await admin.api.moderationAction(reportId, { action: 'suspend', days: 7, note: '' });
    // Out before the action's answer came back: told why, the others see it leave.
    // the removal went out before the API answered; the client reads it on its own socket
    await until(() => badClient.state === 'removed', 'badClient removed');
    await until(() => hostClient.participants().length === 1, 'the host seeing the account leave');
    await until(() => hostClient.roster().length === 1, 'its leaf removed from the MLS group');
    expect(await resumeRows()).toEqual([]);

    // Joining again with the browser's cookie: the session is gone.
    const again = join(meeting.id, 'Bad', badOptions);
    expect(await refusal(again.connect())).toBe('unauthenticated');
    // The dropped connection's resume token, with the account and as a guest: refused.
    const resume = { participantId: joined.participantId, token: joined.resumeToken };
    const asAccount = raw(bad.api.cookieHeader());
    await asAccount.send({
      type: 'join',
      meetingId: standard.meeting.id,
      displayName: 'Bad',
      deviceId: 'bad-raw',
      userId: bad.id,
      resume,
    });
    expect(await asAccount.next('error')).toMatchObject({ code: 'unauthenticated', ref: 'join' });
    const asGuest = raw();
    await asGuest.send({
      type: 'join',
      meetingId: standard.meeting.id,
      displayName: 'Bad',
      deviceId: 'bad-raw',
      resume,
    });
    expect(await asGuest.next('error')).toMatchObject({ code: 'resume_rejected', ref: 'join' });
    // Signing in again: refused with the end date, so the account cannot host either.
    expect(await refusal(bad.api.signIn('bad@example.org', PASSWORD))).toBe('account_suspended');
    expect(await refusal(bad.api.createMeeting({ mode: 'standard' }))).toBe('unauthenticated');
  });

  it('a banned guest key is taken out of its meeting and refused at the join of every other meeting', async () => {
    await start();
    const host = await account('host2@example.org', 'user', 'paid');
    const admin = await account('mod2@example.org', 'admin');
    const one = await host.api.createMeeting({ mode: 'e2ee' });
    const two = await host.api.createMeeting({ mode: 'e2ee' });
    const hostOptions = await accountClientOptions(host.api, 'Host');
    const hostClient = join(one.meeting.id, 'Host', { ...hostOptions, hostSecret: one.hostSecret });
    expect(await hostClient.connect()).toBe('joined');
    const device = await MlsDevice.create({ kind: 'guest', deviceId: 'troll-device', displayName: 'Troll' });
    const troll = join(one.meeting.id, 'Troll', { device, deviceId: 'troll-device' });
    expect(await troll.connect()).toBe('joined');
    const key = toBase64(device.signatureKeys.publicKey);

    const reportId = await insertReport(server!.storage.db, {
      reported_guest_key: key,
      reported_name: 'Troll',
      meeting_id: one.meeting.id,
    });
    await admin.api.moderationAction(reportId, { action: 'ban', note: '' });
    // the removal went out before the API answered; the client reads it on its own socket
    await until(() => troll.state === 'removed', 'troll removed');
    await until(() => hostClient.participants().length === 1, 'the host seeing the guest leave');

    // Another meeting, even through its host link: the key is refused at the door.
    const elsewhere = join(two.meeting.id, 'Troll', { device, deviceId: 'troll-device' });
    expect(await refusal(elsewhere.connect())).toBe('key_banned');
    const asHost = join(two.meeting.id, 'Troll', {
      device,
      deviceId: 'troll-device',
      hostSecret: two.hostSecret,
    });
    expect(await refusal(asHost.connect())).toBe('key_banned');
    // A new key is a new guest: the ban is of the key, not of a person (docs: "Moderation").
    const fresh = join(two.meeting.id, 'Troll', {});
    expect(await fresh.connect()).toBe('joined');
  });

  it('end_meetings ends the account’s live meetings for everyone in them', async () => {
    await start();
    const host = await account('host3@example.org');
    const admin = await account('mod3@example.org', 'admin');
    const { meeting, hostSecret } = await host.api.createMeeting({ mode: 'standard', waitingRoom: false });
    const idle = await host.api.createMeeting({ mode: 'standard' });
    const hostClient = join(meeting.id, 'Host', { hostSecret });
    expect(await hostClient.connect()).toBe('joined');
    const guest = join(meeting.id, 'Guest');
    expect(await guest.connect()).toBe('joined');
    const reportId = await insertReport(server!.storage.db, {
      reported_user_id: host.id,
      meeting_id: meeting.id,
    });
    await admin.api.moderationAction(reportId, { action: 'end_meetings', note: '' });
    await until(
      () => hostClient.state === 'ended' && guest.state === 'ended',
      'both clients told the meeting ended',
    );
    const rows = await server!.storage.db
      .selectFrom('meetings')
      .select(['id', 'ended_at'])
      .where('host_user_id', '=', host.id)
      .execute();
    expect(rows.map((r) => r.id).sort()).toEqual([meeting.id, idle.meeting.id].sort());
    expect(rows.every((r) => r.ended_at !== null)).toBe(true);
    expect(await refusal(join(meeting.id, 'Late').connect())).toBe('meeting_ended');
    const log = await admin.api.moderationLog();
    expect(log[0]).toMatchObject({ action: 'end_meetings', accountId: host.id, actor: 'mod3@example.org' });
    expect(log[0]!.detail).toContain(meeting.id);
  });
});
