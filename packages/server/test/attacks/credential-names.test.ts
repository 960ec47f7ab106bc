import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocketServer, type WebSocket } from 'ws';
import { ExternalSender, MlsDevice, toBase64, type MemberIdentity } from '@conclave/crypto';
import { ConclaveClient } from '@conclave/client';
import { nodeWebSocket } from '@conclave/client/node';
import type { Participant } from '@conclave/protocol';
import { attackServer, honest, hostMeeting, ModifiedClient, participants, until } from './harness.js';

// Finding 5: the name the host admits from the waiting room ("Bob the intern") was not bound
// to the name in the joiner's MLS credential ("Alice (CEO)"), which everyone then saw.

const server = attackServer();
const { track } = participants();

const alice: MemberIdentity = { kind: 'guest', deviceId: 'dev-alice-ceo', displayName: 'Alice (CEO)' };

async function modifiedAs(identity: MemberIdentity, device?: MlsDevice): Promise<ModifiedClient> {
  const m = await ModifiedClient.create(server.ts, { identity, device });
  track(m);
  return m;
}

describe('the server admits the name in the credential, nothing else', () => {
  it('a join whose name, device or kind differs from its key package credential is refused', async () => {
    const { meetingId, hostSecret } = await hostMeeting(server.ts, { waitingRoom: true });
    const host = honest(server.ts, meetingId, 'Host', { hostSecret });
    track(host);
    let waiting: Participant[] = [];
    host.on('waitingRoom', (w) => (waiting = w));
    await host.connect();

    const m = await modifiedAs(alice);
    expect(await m.join(meetingId, { displayName: 'Bob the intern' })).toMatchObject({
      type: 'error',
      code: 'credential_mismatch',
    });
    expect(await m.join(meetingId, { deviceId: 'dev-someone-else' })).toMatchObject({
      code: 'credential_mismatch',
    });
    // A key package carrying the delivery service's own kind of credential.
    const ghost = await MlsDevice.create({
      kind: 'server',
      deviceId: 'dev-ghost',
      displayName: 'Ghost',
    } as unknown as MemberIdentity);
    const g = await modifiedAs({ kind: 'guest', deviceId: 'dev-ghost', displayName: 'Ghost' }, ghost);
    expect(await g.join(meetingId)).toMatchObject({ code: 'credential_mismatch' });
    // Bytes that are not a signed key package.
    expect(await m.join(meetingId, { keyPackage: toBase64(new Uint8Array(64).fill(1)) })).toMatchObject({
      code: 'bad_request',
    });
    expect(waiting).toHaveLength(0);

    // The honest join: the host decides on the name the whole meeting will see.
    expect((await m.join(meetingId)).type).toBe('waiting');
    await until(() => waiting.length === 1, 'alice waiting');
    expect(waiting[0]).toMatchObject({
      displayName: 'Alice (CEO)',
      deviceId: 'dev-alice-ceo',
      kind: 'guest',
    });
  });

  it('a later key package must keep the name and the signature key of the join', async () => {
    const { meetingId, hostSecret } = await hostMeeting(server.ts, {});
    const host = honest(server.ts, meetingId, 'Host', { hostSecret });
    track(host);
    await host.connect();
    const m = await modifiedAs(alice);
    expect((await m.join(meetingId)).type).toBe('joined');
    const renamed = await MlsDevice.create(
      { ...alice, displayName: 'Bob the intern' },
      { signatureKeys: m.device.signatureKeys },
    );
    const from = m.got.length;
    m.send({ type: 'key_package', keyPackage: toBase64(await renamed.createKeyPackage()) });
    expect(await m.next((x) => x.type === 'error' && x.ref === 'key_package', 'refusal', from)).toMatchObject(
      {
        code: 'credential_mismatch',
      },
    );
    const otherKey = await MlsDevice.create(alice);
    const from2 = m.got.length;
    m.send({ type: 'key_package', keyPackage: toBase64(await otherKey.createKeyPackage()) });
    expect(
      await m.next((x) => x.type === 'error' && x.ref === 'key_package', 'refusal', from2),
    ).toMatchObject({
      code: 'credential_mismatch',
    });
    await until(() => host.roster().length === 2, 'alice added under her own name');
    expect(
      host
        .roster()
        .map((r) => r.identity.displayName)
        .sort(),
    ).toEqual(['Alice (CEO)', 'Host']);
  });
});

describe('the key holder checks what a (malicious) server announces', () => {
  let fake: {
    url: string;
    sockets: WebSocket[];
    got: Array<Record<string, unknown>>;
    close(): Promise<void>;
  };
  beforeAll(async () => {
    const http = createServer((_q, r) => r.writeHead(404).end());
    const wss = new WebSocketServer({ server: http, path: '/ws' });
    const sockets: WebSocket[] = [];
    const got: Array<Record<string, unknown>> = [];
    wss.on('connection', (s) => {
      sockets.push(s);
      s.on('message', (d) => got.push(JSON.parse(String(d)) as Record<string, unknown>));
    });
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
    fake = {
      url: `http://127.0.0.1:${(http.address() as AddressInfo).port}`,
      sockets,
      got,
      async close() {
        for (const s of sockets) s.terminate();
        await new Promise<void>((r) => wss.close(() => r()));
        await new Promise<void>((r) => http.close(() => r()));
      },
    };
  });
  afterAll(async () => {
    await fake.close();
  });

  it('refuses to add a joiner whose key package names someone else or carries the server credential', async () => {
    const serverKey = (await ExternalSender.generate()).publicKey;
    const host = new ConclaveClient({
      serverUrl: fake.url,
      meetingId: 'fake-meeting',
      displayName: 'Host',
      webSocket: nodeWebSocket,
      reconnect: false,
    });
    const warnings: string[] = [];
    host.on('warning', (w) => warnings.push(w));
    const connected = host.connect();
    await until(() => fake.got.some((m) => m.type === 'join'), 'the join');
    const socket = fake.sockets.at(-1)!;
    const say = (m: Record<string, unknown>) => socket.send(JSON.stringify({ v: 1, ...m }));
    const meeting = {
      id: 'fake-meeting',
      title: '',
      mode: 'e2ee',
      ended: false,
      settings: {
        passcodeRequired: false,
        waitingRoom: true,
        muteOnEntry: false,
        maxParticipants: 10,
        locked: false,
        allowScreenShare: true,
      },
    };
    say({
      type: 'joined',
      participantId: 'host-id',
      resumeToken: 'x'.repeat(43),
      role: 'host',
      meeting,
      participants: [],
      serverKey: toBase64(serverKey),
      group: null,
      createGroup: true,
    });
    await connected;
    await until(() => fake.got.some((m) => m.type === 'group_create'), 'the group');
    const aliceKp = toBase64(await (await MlsDevice.create(alice)).createKeyPackage());
    const ghostKp = toBase64(
      await (
        await MlsDevice.create({
          kind: 'server',
          deviceId: 'dev-ghost',
          displayName: 'Bob the intern',
        } as unknown as MemberIdentity)
      ).createKeyPackage(),
    );
    const announce = (joiner: Record<string, unknown>) =>
      say({ type: 'add_request', epoch: String(host.e2ee.epoch), joiners: [joiner] });
    // The host admitted "Bob the intern"; the server hands it Alice's key package.
    announce({
      participantId: 'bob-id',
      displayName: 'Bob the intern',
      deviceId: 'dev-alice-ceo',
      keyPackage: aliceKp,
    });
    // A leaf with the server's own credential.
    announce({
      participantId: 'ghost-id',
      displayName: 'Bob the intern',
      deviceId: 'dev-ghost',
      keyPackage: ghostKp,
    });
    await until(() => warnings.filter((w) => w.startsWith('refused to add')).length === 2, 'two refusals');
    expect(warnings.join('\n')).toMatch(/names "Alice \(CEO\)", not "Bob the intern"/);
    expect(warnings.join('\n')).toMatch(/server credential/);
    expect(fake.got.some((m) => m.type === 'commit')).toBe(false);
    expect(host.roster()).toHaveLength(1);
    // The same key package announced under its own name is added.
    announce({
      participantId: 'alice-id',
      displayName: 'Alice (CEO)',
      deviceId: 'dev-alice-ceo',
      keyPackage: aliceKp,
    });
    await until(() => fake.got.some((m) => m.type === 'commit'), 'the commit for alice');
    const commit = fake.got.find((m) => m.type === 'commit')!;
    expect(commit.welcome).toBeDefined();
    await host.leave();
  });
});
