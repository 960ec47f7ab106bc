/**
 * m-line binding in a real Participant (its node-datachannel subscribe connection, a real
 * node-datachannel answerer, no media): an offer's answer starts only the forwarders on the
 * m-lines that offer named. A forwarder whose m-line was taken over (RECLAIM_AFTER_MS off) and
 * which got another m-line before the old offer's answer came must not start on the new one: the
 * subscriber has not been told (and not negotiated) what that m-line carries.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import nodeDataChannel, { type PeerConnection } from 'node-datachannel';
import type { WorkerMessage } from '../../src/sfu/ipc.js';
import { Participant, RECLAIM_AFTER_MS } from '../../src/sfu/worker/participant.js';
import { PublishedStream } from '../../src/sfu/worker/published-stream.js';
import { context, publishTransceiver } from './worker-stand-ins.js';

type Offer = Extract<WorkerMessage, { type: 'subscribeOffer' }>;

const answerers: PeerConnection[] = [];
afterEach(() => {
  vi.restoreAllMocks();
  for (const a of answerers.splice(0)) a.close();
});

/** The subscriber: a libdatachannel connection answering each offer, as the bots' native peer does. */
function subscriber(): (offer: Offer) => Promise<string> {
  const pc = new nodeDataChannel.PeerConnection('subscriber', {
    iceServers: [],
    bindAddress: '127.0.0.1',
    portRangeBegin: 45750,
    portRangeEnd: 45799,
    disableAutoNegotiation: true,
  });
  answerers.push(pc);
  return async (offer) => {
    pc.setRemoteDescription(offer.sdp, 'offer');
    pc.setLocalDescription('answer');
    for (let i = 0; i < 200 && pc.gatheringState() !== 'complete'; i++)
      await new Promise((r) => setTimeout(r, 10));
    return pc.localDescription()?.sdp ?? '';
  };
}

async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 500 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
  if (!cond()) throw new Error(`timed out waiting for ${what}`);
}

describe('Participant m-line binding', () => {
  it('an answer to an older offer does not start a forwarder that moved to another m-line since', async () => {
    const offers: Offer[] = [];
    const ctx = context([45700, 45749], (msg) => {
      if (msg.type === 'subscribeOffer') offers.push(msg);
    });
    let clock = 1_000;
    vi.spyOn(performance, 'now').mockImplementation(() => clock);
    const camera = (id: string) =>
      new PublishedStream(
        { id, muted: { audio: false, video: false } },
        '1',
        'video',
        'camera',
        publishTransceiver(),
        ctx,
      );
    const alice = camera('alice');
    const carol = camera('carol');
    const bob = new Participant('m1', 'bob', ctx);
    const answer = subscriber();
    try {
      bob.addForwarder(alice);
      bob.addForwarder(carol);
      const fa = bob.forwarders.get(alice)!;
      const fc = bob.forwarders.get(carol)!;
      // Nothing is shown yet: no m-line, no offer.
      expect(bob.mLines).toBe(0);
      fa.setEnabled(true);
      await until(() => offers.length === 1, 'the first offer');
      const first = offers[0]!;
      const aliceMid = fa.egress!.mid;
      expect(first.streams).toEqual([{ mid: aliceMid, participantId: 'alice', source: 'camera' }]);

      // Before bob answers: alice is turned off for long enough, carol takes her m-line, and
      // alice, on again, gets a new one.
      fa.setEnabled(false);
      clock += RECLAIM_AFTER_MS + 1;
      fc.setEnabled(true);
      expect(fc.egress?.mid).toBe(aliceMid);
      fa.setEnabled(true);
      expect(fa.egress?.mid).not.toBe(aliceMid);
      expect(bob.mLines).toBe(2);

      // The answer to the first offer (which named alice on the m-line carol now holds).
      await bob.applySubscribeAnswer(await answer(first));
      expect(fa.isActive).toBe(false);
      expect(fc.isActive).toBe(false);

      // The next offer names both where they are now; its answer starts both.
      await until(() => offers.length === 2, 'the second offer');
      const second = offers[1]!;
      expect(second.streams).toEqual(
        expect.arrayContaining([
          { mid: aliceMid, participantId: 'carol', source: 'camera' },
          { mid: fa.egress!.mid, participantId: 'alice', source: 'camera' },
        ]),
      );
      await bob.applySubscribeAnswer(await answer(second));
      expect(fa.isActive).toBe(true);
      expect(fc.isActive).toBe(true);
    } finally {
      await bob.close();
    }
  });
});
