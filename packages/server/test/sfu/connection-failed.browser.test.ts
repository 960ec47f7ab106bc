/**
 * A participant's peer connection with the SFU dying for good, over real WebRTC on loopback: the
 * worker reports it once ('connectionFailed'), so the hub can make the session anew
 * (room-media.ts; the hub's side is test/media-reset.test.ts). Run in the loopback namespace.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { StreamInfo } from '@conclave/protocol';
import { NativeMediaPeer, NodeMediaPeer } from '@conclave/client/media';
import { forgeDtlsFingerprint } from '@conclave/testing';
import { Sfu } from '../../src/sfu/index.js';
import { Bot, LOOPBACK_OPTS, joinBot, sleep, until, wire } from './harness.js';

/** A modified client: its subscribe answers carry a DTLS fingerprint that is not its own. */
class ForgedFingerprintPeer extends NodeMediaPeer {
  override async handleSubscribeOffer(sdp: string, streams: StreamInfo[]): Promise<string> {
    return forgeDtlsFingerprint(await super.handleSubscribeOffer(sdp, streams));
  }
}

/**
 * A bot whose first subscribe offer reaches it with the SFU's DTLS fingerprint altered (as a
 * man in the middle would make it): its own end of the connection fails.
 */
class ForgedOfferNativePeer extends NativeMediaPeer {
  readonly offers: string[] = [];
  override async handleSubscribeOffer(sdp: string, streams: StreamInfo[]): Promise<string> {
    this.offers.push(sdp);
    return super.handleSubscribeOffer(this.offers.length === 1 ? forgeDtlsFingerprint(sdp) : sdp, streams);
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

  it('a native bot whose own end failed says so, and refuses later offers with a reason', async () => {
    await joinBot(sfu, bots, 'forged', 'pub');
    const peer = new ForgedOfferNativePeer({ loopbackOnly: true });
    const sub = new Bot(sfu, 'forged', 'sub', peer);
    bots.set('forged/sub', sub);
    await sfu.join('forged', 'sub');
    await sfu.call('setReceiving', { meetingId: 'forged', participantId: 'sub', allowed: true });
    // libdatachannel fails the DTLS handshake and closes the connection for good ('closed'):
    // the SDK's watchdog needs 'failed' to ask for a new session.
    await until(() => peer.connectionState('subscribe') === 'failed', 'the bot end failing', 20_000);
    await sleep(500);
    expect(peer.connectionState('subscribe')).toBe('failed');
    // An offer to it would be ignored by libdatachannel (its signaling stays stable, and an
    // answer then would end the process): refused with the reason instead.
    const again = peer.offers[0]!;
    await expect(peer.handleSubscribeOffer(again, [])).rejects.toThrow(/for good.*new media session/);
  });
});
