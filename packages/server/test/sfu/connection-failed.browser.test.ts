/**
 * A participant's peer connection with the SFU dying for good, over real WebRTC on loopback: the
 * worker reports it once ('connectionFailed'), so the hub can make the session anew
 * (room-media.ts; the hub's side is test/media-reset.test.ts). Run in the loopback namespace.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { StreamInfo } from '@conclave/protocol';
import { NodeMediaPeer } from '@conclave/client/media';
import { forgeDtlsFingerprint } from '@conclave/testing';
import { Sfu } from '../../src/sfu/index.js';
import { Bot, LOOPBACK_OPTS, joinBot, sleep, until, wire } from './harness.js';

/** A modified client: its subscribe answers carry a DTLS fingerprint that is not its own. */
class ForgedFingerprintPeer extends NodeMediaPeer {
  override async handleSubscribeOffer(sdp: string, streams: StreamInfo[]): Promise<string> {
    return forgeDtlsFingerprint(await super.handleSubscribeOffer(sdp, streams));
  }
}

type Failure = { meetingId: string; participantId: string; pc: string; state: string };

describe('a failed connection with the SFU', () => {
  const bots = new Map<string, Bot>();
  const failures: Failure[] = [];
  /** What the workers logged, libdatachannel's own lines included. */
  const nativeLog: string[] = [];
  let sfu: Sfu;

  beforeAll(async () => {
    sfu = await Sfu.start({
      ...LOOPBACK_OPTS,
      logger: {
        info: () => undefined,
        debug: () => undefined,
        warn: (_o, m) => void nativeLog.push(m ?? ''),
        error: (_o, m) => void nativeLog.push(m ?? ''),
      },
    });
    wire(sfu, bots);
    sfu.on('connectionFailed', (meetingId, participantId, pc, state) =>
      failures.push({ meetingId, participantId, pc, state }),
    );
  });
  afterEach(async () => {
    // The meetings go first: peers closing afterwards are no failure of a live session.
    await Promise.allSettled(['forged'].map((m) => sfu.closeMeeting(m)));
    await Promise.allSettled([...bots.values()].map((b) => b.peer.close()));
    bots.clear();
    failures.length = 0;
  });
  afterAll(() => sfu.close());

  it('is reported once when the subscriber answers with a forged DTLS fingerprint', async () => {
    const pub = await joinBot(sfu, bots, 'forged', 'pub');
    const sub = new Bot(sfu, 'forged', 'sub', new ForgedFingerprintPeer({ loopbackOnly: true }));
    bots.set('forged/sub', sub);
    await sfu.join('forged', 'sub');
    await sfu.call('setReceiving', { meetingId: 'forged', participantId: 'sub', allowed: true });
    await until(() => failures.length > 0, 'a connection failure', 20_000);
    expect(failures[0]).toEqual({
      meetingId: 'forged',
      participantId: 'sub',
      pc: 'subscribe',
      state: 'failed',
    });
    // Once (libdatachannel goes on to 'closed'), and nothing about the publisher, whose
    // connections are fine.
    await sleep(1000);
    expect(failures.map((f) => f.participantId)).toEqual(['sub']);
    expect(pub.peer.connectionState('publish')).toBe('connected');
    // libdatachannel's reason reached the log.
    expect(nativeLog.some((l) => /checkFingerprint.*Invalid fingerprint/.test(l))).toBe(true);
  });
});
