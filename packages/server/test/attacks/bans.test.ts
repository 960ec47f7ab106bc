import { describe, expect, it } from 'vitest';
import { AccountApi } from '@conclave/client';
import { MlsDevice } from '@conclave/crypto';
import type { Participant } from '@conclave/protocol';
import { attackServer, honest, hostMeeting, ModifiedClient, participants, until } from './harness.js';

// Finding 1 (bans): a ban held only the device id the client itself chooses. Now a removal
// records the account, the device id and the MLS signature key, a ban also the network; a
// removed participant gets back only through a fresh host decision.

const server = attackServer();
const { track } = participants();

/** A meeting without a waiting room: anyone with the link walks in, unless marked. */
async function openMeeting() {
  const { meetingId, hostSecret } = await hostMeeting(server.ts, { waitingRoom: false });
  const host = track(honest(server.ts, meetingId, 'Host', { hostSecret }));
  let waiting: Participant[] = [];
  host.on('waitingRoom', (w) => (waiting = w));
  await host.connect();
  await until(() => host.e2ee.active, 'the host in its group');
  return { meetingId, host, waiting: () => waiting };
}

async function guest(forwardedFor: string, device?: MlsDevice): Promise<ModifiedClient> {
  return track(await ModifiedClient.create(server.ts, { forwardedFor, device }));
}

describe('bans and removals hold without the client’s cooperation', () => {
  it('a removed guest who comes back with the same device waits for the host, marked, even without a waiting room', async () => {
    const { meetingId, host, waiting } = await openMeeting();
    const mallory = await guest('192.0.2.10');
    expect((await mallory.join(meetingId)).type).toBe('joined');
    host.remove(mallory.resume!.participantId);
    await mallory.next((m) => m.type === 'removed', 'removed');
    const back = await guest('192.0.2.11', mallory.device);
    expect((await back.join(meetingId)).type).toBe('waiting');
    await until(() => waiting().some((p) => p.previouslyRemoved === 'identity'), 'the mark');
    host.admit(back.resume!.participantId);
    await back.next((m) => m.type === 'joined', 'admitted by a fresh decision');
  });

  it('a banned guest’s network is marked: a new device and key from it wait for the host; other networks walk in', async () => {
    const { meetingId, host, waiting } = await openMeeting();
    const mallory = await guest('203.0.113.9');
    expect((await mallory.join(meetingId)).type).toBe('joined');
    host.remove(mallory.resume!.participantId, true);
    await mallory.next((m) => m.type === 'removed', 'banned');
    // The same key under a new device id, from another network: refused.
    const sameKey = await MlsDevice.create(
      { kind: 'guest', deviceId: 'dev-renamed', displayName: 'Mallory' },
      { signatureKeys: mallory.device.signatureKeys },
    );
    expect(await (await guest('198.51.100.200', sameKey)).join(meetingId)).toMatchObject({ code: 'denied' });
    // Everything new, but from the banned network: the waiting room, with the network mark.
    const neighbour = await guest('203.0.113.77');
    expect((await neighbour.join(meetingId)).type).toBe('waiting');
    await until(() => waiting().some((p) => p.previouslyRemoved === 'network'), 'the network mark');
    // Another network: straight in, as the meeting allows.
    expect((await (await guest('198.51.100.5')).join(meetingId)).type).toBe('joined');
  });

  it('a banned account is refused from a new device, key and network', async () => {
    const { meetingId, host } = await openMeeting();
    const eve = new AccountApi({ serverUrl: server.ts.url });
    const signedUp = await eve.signUp({
      email: `eve-${Math.random().toString(36).slice(2, 8)}@example.org`,
      password: 'bans test eve password',
      displayName: 'Eve',
    });
    if (signedUp.status !== 'signed_in') throw new Error('a new account signs in with its password');
    const { me } = signedUp;
    const cookie = eve.cookieHeader()!;
    const asEve = async (deviceId: string, forwardedFor: string) =>
      track(
        await ModifiedClient.create(server.ts, {
          identity: { kind: 'user', userId: me.account.id, deviceId, displayName: 'Eve' },
          forwardedFor,
          cookie,
        }),
      );
    const first = await asEve('dev-eve-laptop', '192.0.2.50');
    expect((await first.join(meetingId)).type).toBe('joined');
    host.remove(first.resume!.participantId, true);
    await first.next((m) => m.type === 'removed', 'banned');
    const phone = await asEve('dev-eve-phone', '198.51.100.99');
    expect(await phone.join(meetingId)).toMatchObject({ type: 'error', code: 'denied' });
  });
});
