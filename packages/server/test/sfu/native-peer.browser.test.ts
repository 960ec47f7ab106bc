/**
 * The Node bots' native media peer (NativeMediaPeer, libdatachannel) against the SFU, next to the
 * werift peer: publishing into the SFU's werift ingress, receiving from its libdatachannel
 * egress, key-frame requests both ways, and an answer that reaches the SFU late. Run inside the
 * loopback-only network namespace (node scripts/netns.mjs).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Sfu } from '../../src/sfu/index.js';
import {
  Bot,
  LOOPBACK_OPTS,
  burst,
  expectExactFrames,
  joinBot,
  prime,
  sleep,
  until,
  wire,
} from './harness.js';

function suite(answerDelayMs: number): { bots: Map<string, Bot>; sfu: () => Sfu; meeting: () => string } {
  const bots = new Map<string, Bot>();
  let sfu: Sfu | undefined;
  let seq = 0;
  const closeBots = async (): Promise<void> => {
    await Promise.allSettled([...bots.values()].map((b) => b.peer.close()));
    bots.clear();
  };
  beforeAll(async () => {
    sfu = await Sfu.start({ ...LOOPBACK_OPTS, portRange: [43000, 43399] });
    wire(sfu, bots, answerDelayMs);
  });
  afterEach(closeBots);
  afterAll(async () => {
    await closeBots();
    await sfu?.close();
  });
  return {
    bots,
    sfu: () => {
      if (!sfu) throw new Error('no SFU');
      return sfu;
    },
    meeting: () => `native${answerDelayMs}-${++seq}`,
  };
}

describe('NativeMediaPeer through the SFU', () => {
  const s = suite(0);

  it('publishes into the werift ingress and receives from the native egress: exact frames, in order, next to werift peers', async () => {
    const m = s.meeting();
    const alice = await joinBot(s.sfu(), s.bots, m, 'alice', true, 'native');
    const bob = await joinBot(s.sfu(), s.bots, m, 'bob', true, 'werift');
    const carol = await joinBot(s.sfu(), s.bots, m, 'carol', true, 'native');
    expect(alice.peer.audioLevelExtensionId).toBeDefined();
    await prime(alice, [bob, carol]);
    await expectExactFrames([bob, carol], 'alice', await burst(alice, 30));
    // And the other way: a werift publisher to a native subscriber.
    await prime(bob, [carol]);
    await expectExactFrames([carol], 'bob', await burst(bob, 10));
    expect(carol.peer.connectionState('subscribe')).toBe('connected');
  });

  it("relays a native subscriber's key-frame requests to a native publisher, each once, at most one per 500 ms", async () => {
    const m = s.meeting();
    const alice = await joinBot(s.sfu(), s.bots, m, 'alice', true, 'native');
    const bob = await joinBot(s.sfu(), s.bots, m, 'bob', true, 'native');
    await prime(alice, [bob]);
    await sleep(600); // the priming requests' throttle window is over
    const t0 = Date.now();
    let sent = 0;
    while (Date.now() - t0 < 1200) {
      if (await bob.peer.requestKeyFrame('alice', 'camera')) sent++;
      await sleep(20);
    }
    await sleep(100);
    expect(sent).toBeGreaterThan(30);
    expect(alice.keyFrameRequests).toBeGreaterThanOrEqual(2);
    expect(alice.keyFrameRequests).toBeLessThanOrEqual(3);
  });

  it("carries a newcomer's streams to a native subscriber after renegotiation, and drops a leaver's", async () => {
    const m = s.meeting();
    const alice = await joinBot(s.sfu(), s.bots, m, 'alice', true, 'native');
    const dave = await joinBot(s.sfu(), s.bots, m, 'dave', true, 'native');
    await prime(dave, [alice]);
    await s.sfu().leave(m, 'dave');
    await until(() => !alice.peer.currentStreams().some((x) => x.participantId === 'dave'), 'dave gone');
    const erin = await joinBot(s.sfu(), s.bots, m, 'erin', true, 'native');
    await prime(erin, [alice]);
    await expectExactFrames([alice], 'erin', await burst(erin, 10));
  });
});

describe('NativeMediaPeer with its answers reaching the SFU 1.5 s late', () => {
  const s = suite(1_500);

  it('connects once the SFU has the answer: its candidates come only after it (no checks, no DTLS before it knows our fingerprint)', async () => {
    const m = s.meeting();
    const events: string[] = [];
    s.sfu().on('ice', (mm, p, pc) => {
      if (mm === m && p === 'bob') events.push(`ice ${pc}`);
    });
    s.sfu().on('subscribeOffer', (mm, p) => {
      if (mm === m && p === 'bob') events.push('offer');
    });
    const alice = await joinBot(s.sfu(), s.bots, m, 'alice', true, 'native');
    const bob = await joinBot(s.sfu(), s.bots, m, 'bob', true, 'native');
    await until(() => events.includes('offer'), "bob's first offer");
    // libdatachannel's race (native-subscribe.ts): the first offer names no candidate of ours...
    expect(bob.lastOffer).not.toMatch(/a=candidate:/);
    expect(bob.lastOffer).toMatch(/a=ice-ufrag:/);
    await sleep(1_000);
    expect(events).toEqual(['offer']); // ...nor does anything else while the answer is on its way
    expect(bob.peer.connectionState('subscribe')).not.toBe('connected');
    await until(() => events.includes('ice subscribe'), 'our candidate after the answer', 5_000);
    await prime(alice, [bob]);
    await expectExactFrames([bob], 'alice', await burst(alice, 10));
    expect(bob.peer.connectionState('subscribe')).toBe('connected');
  });
});
