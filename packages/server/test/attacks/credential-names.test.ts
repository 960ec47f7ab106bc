import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MlsDevice, toBase64, type MemberIdentity } from '@conclave/crypto';
import type { Joiner, Participant } from '@conclave/protocol';
import { attackServer, honest, hostMeeting, ModifiedClient, participants, until } from './harness.js';
import { MaliciousServer } from './malicious-server.js';

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
  let fake: MaliciousServer;
  beforeAll(async () => {
    fake = await MaliciousServer.start();
  });
  afterAll(async () => {
    await fake.close();
  });

  it('refuses to add a joiner whose key package names someone else or carries the server credential', async () => {
    const host = await fake.join({
      displayName: 'Host',
      settings: { waitingRoom: true, maxParticipants: 10 },
    });
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
    const announce = (joiner: Joiner) =>
      host.conn.say({ type: 'add_request', epoch: String(host.epoch), joiners: [joiner] });
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
    await until(
      () => host.warnings.filter((w) => w.startsWith('refused to add')).length === 2,
      'two refusals',
    );
    expect(host.warnings.join('\n')).toMatch(/names "Alice \(CEO\)", not "Bob the intern"/);
    expect(host.warnings.join('\n')).toMatch(/server credential/);
    expect(host.conn.sent('commit')).toHaveLength(0);
    expect(host.client.roster()).toHaveLength(1);
    // The same key package announced under its own name is added.
    announce({
      participantId: 'alice-id',
      displayName: 'Alice (CEO)',
      deviceId: 'dev-alice-ceo',
      keyPackage: aliceKp,
    });
    const commit = await host.conn.next('commit');
    expect(commit.welcome).toBeDefined();
    await host.client.leave();
  });
});
