// A media connection with the SFU that fails for good, in an E2EE meeting of two Node bots (real
// server, MLS delivery service, SFU workers): Bob's first subscribe answer is forged (a DTLS
// fingerprint not his own, as a modified client or a broken network path would leave it), so
// the SFU's connection to him fails. The server makes his media session anew with media_reset
// ('connection_failed'), his SDK connects again, and media flows both ways, decrypted. Alice
// and the MLS group are not touched. WebRTC over loopback: network-namespace suite.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { StreamInfo } from '@conclave/protocol';
import { Bot } from '@conclave/client/node';
import { NodeMediaPeer } from '@conclave/client/media';
import type { AccountApi } from '@conclave/client';
import { forgeDtlsFingerprint } from '@conclave/testing';
import { hostAccount, startTestServer, until, type TestServer } from './harness.js';

let ts: TestServer;
let host: AccountApi;
let bots: Bot[] = [];

beforeAll(async () => {
  ts = await startTestServer({});
  host = (await hostAccount(ts)).api;
});
afterEach(async () => {
  await Promise.all(bots.map((b) => b.stop().catch(() => undefined)));
  bots = [];
});
afterAll(async () => {
  await ts?.close();
});

/** Bob's first transport: every subscribe answer it makes carries a forged fingerprint. */
class ForgedFingerprintPeer extends NodeMediaPeer {
  override async handleSubscribeOffer(sdp: string, streams: StreamInfo[]): Promise<string> {
    return forgeDtlsFingerprint(await super.handleSubscribeOffer(sdp, streams));
  }
}

const received = (b: Bot, from: string): number => b.decrypted.get(from) ?? 0;

describe('a media connection that fails for good', () => {
  it('gets that participant a new media session (media_reset connection_failed) and media flows again', async () => {
    const { meeting, hostSecret } = await host.createMeeting({});
    const alice = new Bot({
      serverUrl: ts.url,
      meetingId: meeting.id,
      name: 'alice',
      hostSecret,
      transport: () => new NodeMediaPeer({ loopbackOnly: true }),
    });
    bots.push(alice);
    let transports = 0;
    const bob = new Bot({
      serverUrl: ts.url,
      meetingId: meeting.id,
      name: 'bob',
      transport: () =>
        ++transports === 1
          ? new ForgedFingerprintPeer({ loopbackOnly: true })
          : new NodeMediaPeer({ loopbackOnly: true }),
    });
    bots.push(bob);
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
