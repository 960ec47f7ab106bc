// A participant's media session made anew under an E2EE meeting of two Node bots (real server,
// MLS delivery service, SFU workers), for both reasons of media_reset:
// - an SFU worker dies: the room joins both again on the replacement worker and sends
//   media_reset ('sfu_restarted'), the SDK opens a new transport and publishes again, and
//   decrypted frames flow again;
// - a connection with the SFU fails for good: Bob's first subscribe answer is forged (a DTLS
//   fingerprint not his own, as a modified client or a broken path leaves it), the server makes
//   his session anew ('connection_failed'), and media flows both ways, decrypted; Alice is not
//   touched.
// The meeting's signaling and its MLS group go on untouched. WebRTC over loopback:
// network-namespace suite.
import { describe, expect, it } from 'vitest';
import { Bot } from '@conclave/client/node';
import { NodeMediaPeer } from '@conclave/client/media';
import type { ClientState } from '@conclave/client';
import type { StreamInfo } from '@conclave/protocol';
import { forgeDtlsFingerprint } from '@conclave/testing';
import { botSuite, until } from './harness.js';

const suite = botSuite({ tap: true });
const { taps } = suite;

function bot(meetingId: string, name: string, hostSecret?: string, transport?: () => NodeMediaPeer): Bot {
  return suite.bot(meetingId, name, { hostSecret, ...(transport ? { transport } : {}) });
}

const received = (b: Bot, from: string): number => b.decrypted.get(from) ?? 0;

describe('an SFU worker that dies under a meeting', () => {
  it('both bots get media_reset, publish again on the new worker and decrypt again; signaling and the MLS group go on', async () => {
    const { meeting, hostSecret } = await suite.host.createMeeting({});
    expect(meeting.mode).toBe('e2ee');
    const alice = bot(meeting.id, 'alice', hostSecret);
    await alice.start();
    const bob = bot(meeting.id, 'bob');
    await bob.start();
    const pair = [alice, bob] as const;
    const other = (b: Bot): Bot => (b === alice ? bob : alice);
    await until(
      () => pair.every((b) => b.client.e2ee.active && b.client.roster().length === 2),
      'both bots in one MLS epoch',
    );
    await until(() => pair.every((b) => received(b, other(b).id) > 20), 'media before the crash', 15_000);

    const before = pair.map((b) => ({
      participantId: b.client.participantId,
      epoch: b.client.e2ee.epoch,
      membershipCode: b.client.e2ee.membershipCode,
      securityCode: b.client.e2ee.securityCode,
      roster: b.client.roster().map((m) => m.leafIndex),
    }));
    const resets: string[] = [];
    const states: ClientState[] = [];
    for (const b of pair) {
      b.client.on('mediaReset', (reason) => resets.push(`${b.id}:${reason}`));
      b.client.on('state', (s) => states.push(s));
    }

    // The worker hosting the meeting, by the pid the SFU reports for it.
    const sfu = suite.ts.server.sfu;
    const host0 = sfu.workerOf(meeting.id);
    if (!host0) throw new Error('the meeting is on no SFU worker');
    expect((await sfu.stats()).map((w) => w.pid)).toContain(host0.pid);
    process.kill(host0.pid, 'SIGKILL');

    await until(() => resets.length === 2, 'media_reset at both bots', 20_000);
    expect(resets.sort()).toEqual(['alice:sfu_restarted', 'bob:sfu_restarted']);
    // media_reset goes out before the new session is made (room-media.ts): wait for it.
    await until(() => sfu.workerOf(meeting.id) !== undefined, 'the meeting on a live worker', 20_000);
    const host1 = sfu.workerOf(meeting.id);
    expect(host1?.pid).toBeDefined();
    expect(host1?.pid).not.toBe(host0.pid);

    // Frames flow again, decrypted, both ways: counted from the reset on, over new connections.
    const counted = pair.map((b) => received(b, other(b).id));
    const tapsFrom = taps.length;
    await until(
      () => pair.every((b, i) => received(b, other(b).id) > counted[i]! + 20),
      'decrypted media after the reset',
      20_000,
    );
    const forwarded = taps.slice(tapsFrom).filter((t) => t.meetingId === meeting.id);
    for (const b of pair) {
      for (const kind of ['audio', 'video'] as const) {
        const [from, to] = [b.client.participantId, other(b).client.participantId];
        expect(
          forwarded.some((t) => t.from === from && t.to === to && t.kind === kind),
          `${kind} from ${b.id} on the new worker`,
        ).toBe(true);
      }
    }
    for (const b of pair) expect(b.decryptFailures).toBe(0);

    // Signaling and the MLS group were not touched: no reconnect, the same participants, leaves
    // and epoch, and an MLS application message (chat) still goes through.
    expect(states.filter((s) => s !== 'joined')).toEqual([]);
    expect(
      pair.map((b) => ({
        participantId: b.client.participantId,
        epoch: b.client.e2ee.epoch,
        membershipCode: b.client.e2ee.membershipCode,
        securityCode: b.client.e2ee.securityCode,
        roster: b.client.roster().map((m) => m.leafIndex),
      })),
    ).toEqual(before);
    for (const b of pair) expect(b.client.state).toBe('joined');
    const chats: string[] = [];
    bob.client.on('chat', (c) => chats.push(c.text));
    await alice.client.sendChat('still here after the worker died');
    await until(() => chats.includes('still here after the worker died'), 'chat after the reset');
  });
});

/** Bob's first transport: every subscribe answer it makes carries a forged fingerprint. */
class ForgedFingerprintPeer extends NodeMediaPeer {
  override async handleSubscribeOffer(sdp: string, streams: StreamInfo[]): Promise<string> {
    return forgeDtlsFingerprint(await super.handleSubscribeOffer(sdp, streams));
  }
}

describe('a media connection that fails for good', () => {
  it('gets that participant a new media session (media_reset connection_failed) and media flows again', async () => {
    const { meeting, hostSecret } = await suite.host.createMeeting({});
    const alice = bot(meeting.id, 'alice', hostSecret);
    let transports = 0;
    const bob = bot(meeting.id, 'bob', undefined, () =>
      ++transports === 1
        ? new ForgedFingerprintPeer({ loopbackOnly: true })
        : new NodeMediaPeer({ loopbackOnly: true }),
    );
    const resets: string[] = [];
    for (const b of [alice, bob]) b.client.on('mediaReset', (reason) => resets.push(`${b.id}:${reason}`));
    await alice.start();
    await bob.start();
    await until(
      () => [alice, bob].every((b) => b.client.e2ee.active && b.client.roster().length === 2),
      'both bots in one MLS epoch',
    );
    const epoch = alice.client.e2ee.epoch;

    await until(() => resets.length > 0, 'media_reset at Bob', 20_000);
    expect(resets).toEqual(['bob:connection_failed']);
    expect(transports).toBe(2);
    await until(
      () => received(bob, alice.id) > 20 && received(alice, bob.id) > 20,
      'decrypted media both ways after the reset',
      20_000,
    );
    expect(resets).toEqual(['bob:connection_failed']);
    for (const b of [alice, bob]) {
      expect(b.decryptFailures).toBe(0);
      expect(b.client.state).toBe('joined');
    }
    expect(alice.client.e2ee.epoch).toBe(epoch);
  });
});
