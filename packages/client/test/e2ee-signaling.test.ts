import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ConclaveClient } from '../src/index.js';
import { client, startHubServer, until, type HubServer } from './harness.js';

let server: HubServer;
let clients: ConclaveClient[] = [];
beforeEach(async () => {
  server = await startHubServer({ commitTimeoutMs: 1_000, rekeyMs: 0 });
});
afterEach(async () => {
  await Promise.all(clients.map((c) => c.leave().catch(() => undefined)));
  clients = [];
  await server.close();
});

function join(meetingId: string, name: string, extra = {}) {
  const c = client(server, meetingId, name, extra);
  clients.push(c);
  return c;
}

const code = (c: ConclaveClient) => c.e2ee.securityCode;
const agree = (cs: ConclaveClient[]) =>
  cs.every((c) => c.e2ee.active && c.e2ee.epoch === cs[0]!.e2ee.epoch && code(c) === code(cs[0]!));

describe('E2EE meeting signaling and MLS delivery service', () => {
  it('three participants end up in one MLS group with one security code, roster from MLS', async () => {
    const { id, hostSecret } = server.directory.add('meeting-a');
    const host = join(id, 'host', { hostSecret });
    expect(await host.connect()).toBe('joined');
    const others = [join(id, 'bob'), join(id, 'carol')];
    await Promise.all(others.map((c) => c.connect()));
    const all = [host, ...others];
    await until(() => agree(all) && host.roster().length === 3, 'all three in one epoch');
    for (const c of all)
      expect(
        c
          .roster()
          .map((m) => m.identity.displayName)
          .sort(),
      ).toEqual(['bob', 'carol', 'host']);
    expect(host.role).toBe('host');
    expect(others[0]!.role).toBe('participant');
  });

  it('E2EE chat arrives with the MLS-verified sender', async () => {
    const { id, hostSecret } = server.directory.add('meeting-chat');
    const host = join(id, 'host', { hostSecret });
    await host.connect();
    const bob = join(id, 'bob');
    await bob.connect();
    await until(() => agree([host, bob]) && host.roster().length === 2, 'two in group');
    const got: string[] = [];
    host.on('chat', (m) => got.push(`${'sender' in m ? m.sender.identity.displayName : '?'}:${m.text}`));
    await bob.sendChat('hello from bob');
    await until(() => got.length === 1, 'chat');
    expect(got).toEqual(['bob:hello from bob']);
  });

  it('a participant that leaves is removed from the group within a second', async () => {
    const { id, hostSecret } = server.directory.add('meeting-leave');
    const host = join(id, 'host', { hostSecret });
    await host.connect();
    const bob = join(id, 'bob');
    const carol = join(id, 'carol');
    await Promise.all([bob.connect(), carol.connect()]);
    await until(() => agree([host, bob, carol]) && host.roster().length === 3, 'three in group');
    const before = host.e2ee.epoch!;
    const t0 = Date.now();
    await carol.leave();
    await until(
      () => agree([host, bob]) && host.roster().length === 2 && host.e2ee.epoch! > before,
      'removal commit',
      1_000,
    );
    expect(Date.now() - t0).toBeLessThan(1_000);
    expect(
      bob
        .roster()
        .map((m) => m.identity.displayName)
        .sort(),
    ).toEqual(['bob', 'host']);
  });

  it('the waiting room: an admitted joiner gets into the group, a denied one never does', async () => {
    const { id, hostSecret } = server.directory.add('meeting-wait', { waitingRoom: true });
    const host = join(id, 'host', { hostSecret });
    await host.connect();
    const waiting: string[][] = [];
    host.on('waitingRoom', (w) => waiting.push(w.map((p) => p.displayName)));
    const ann = join(id, 'ann');
    const mal = join(id, 'mallory');
    expect(await ann.connect()).toBe('waiting');
    expect(await mal.connect()).toBe('waiting');
    await until(() => waiting.at(-1)?.length === 2, 'both in the waiting room');
    host.admit(ann.participantId!);
    host.deny(mal.participantId!);
    await until(() => agree([host, ann]) && host.roster().length === 2, 'ann added');
    await until(() => mal.state === 'denied', 'mallory denied');
    expect(mal.e2ee.epoch).toBeUndefined();
    expect(host.roster().map((m) => m.identity.displayName)).not.toContain('mallory');
  });

  it('wrong passcodes are refused and rate limited; the right one works', async () => {
    const { id } = server.directory.add('meeting-pass', { passcode: 'letmein' });
    await expect(join(id, 'x', { passcode: 'nope', reconnect: false }).connect()).rejects.toMatchObject({
      code: 'wrong_passcode',
    });
    await expect(join(id, 'x', { reconnect: false }).connect()).rejects.toMatchObject({
      code: 'wrong_passcode',
    });
    const ok = join(id, 'friend', { passcode: 'letmein' });
    expect(await ok.connect()).toBe('joined');
    for (let i = 0; i < 5; i++)
      await join(id, 'x', { passcode: `bad${i}`, reconnect: false })
        .connect()
        .catch(() => undefined);
    await expect(join(id, 'x', { passcode: 'letmein', reconnect: false }).connect()).rejects.toMatchObject({
      code: 'rate_limited',
    });
    expect(ok.state).toBe('joined');
  });

  it('unknown meetings are refused with a clear code', async () => {
    await expect(join('no-such-meeting', 'x', { reconnect: false }).connect()).rejects.toMatchObject({
      code: 'unknown_meeting',
    });
  });

  it('a dropped connection reconnects and rejoins the MLS group', async () => {
    const { id, hostSecret } = server.directory.add('meeting-drop');
    const host = join(id, 'host', { hostSecret });
    await host.connect();
    const bob = join(id, 'bob', { reconnect: { attempts: 5, delayMs: 50 } });
    await bob.connect();
    await until(() => agree([host, bob]) && host.roster().length === 2, 'two in group');
    const epoch = host.e2ee.epoch!;
    bob.simulateConnectionLoss();
    await until(
      () =>
        bob.state === 'joined' &&
        agree([host, bob]) &&
        host.roster().length === 2 &&
        host.e2ee.epoch! >= epoch + 2n,
      'bob back in the group',
    );
    expect(bob.role).toBe('participant');
  });
  it('host controls: mute, mute all, co-host, lock, remove, end', async () => {
    const { id, hostSecret } = server.directory.add('meeting-controls');
    const host = join(id, 'host', { hostSecret });
    await host.connect();
    const bob = join(id, 'bob');
    const carol = join(id, 'carol', { deviceId: 'dev-carol-1' });
    await bob.connect();
    await carol.connect();
    await until(() => agree([host, bob, carol]) && host.roster().length === 3, 'three in group');
    const mutedBob: string[] = [];
    bob.on('muted', (k) => mutedBob.push(k));
    host.mute(bob.participantId!, 'video');
    await until(() => mutedBob.includes('video'), 'bob muted');
    host.muteAll('audio');
    await until(() => mutedBob.includes('audio'), 'bob muted by mute all');
    await until(
      () =>
        host
          .participants()
          .filter((p) => p.id !== host.participantId)
          .every((p) => !p.audio),
      'flags',
    );
    host.setRole(bob.participantId!, 'cohost');
    await until(() => bob.role === 'cohost', 'bob co-host');
    // a co-host can remove; the removed participant's leaf leaves the group
    bob.remove(carol.participantId!, true);
    await until(
      () => carol.state === 'removed' && host.roster().length === 2 && agree([host, bob]),
      'carol removed',
    );
    // banned: the same device cannot come back into this meeting
    await expect(
      join(id, 'carol again', { deviceId: 'dev-carol-1', reconnect: false }).connect(),
    ).rejects.toMatchObject({
      code: 'denied',
    });
    host.lock(true);
    await until(() => bob.meeting?.settings.locked === true, 'lock broadcast');
    await expect(join(id, 'late', { reconnect: false }).connect()).rejects.toMatchObject({
      code: 'meeting_locked',
    });
    host.endForAll();
    await until(() => bob.state === 'ended' && host.state === 'ended', 'ended for all');
    await expect(join(id, 'after', { reconnect: false }).connect()).rejects.toMatchObject({
      code: 'meeting_ended',
    });
  });
});
