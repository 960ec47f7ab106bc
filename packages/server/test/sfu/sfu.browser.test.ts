/**
 * The SFU over real WebRTC on loopback: worker processes running werift, NodeMediaPeer bots as
 * participants. Run inside the loopback-only network namespace:
 *   node scripts/netns.mjs vitest run --config vitest.browser.config.ts packages/server/test/sfu
 */
import { SFrameKeyRing, SFrameSender, protectEncodedFrame, unprotectEncodedFrame } from '@conclave/crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { syntheticOpusFrame, syntheticVp8Frame } from '@conclave/client/media';
import { Sfu, type TapRecord } from '../../src/sfu/index.js';
import {
  Bot,
  LOOPBACK_OPTS,
  SimulcastPublisher,
  burst,
  collectTaps,
  expectExactFrames,
  joinBot,
  prime,
  sleep,
  until,
  wire,
} from './harness.js';

const bots = new Map<string, Bot>();

async function closeBots(): Promise<void> {
  await Promise.allSettled([...bots.values()].map((b) => b.peer.close()));
  bots.clear();
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('SFU over loopback WebRTC', () => {
  let sfu: Sfu;
  let taps: TapRecord[];
  let meetingSeq = 0;
  const meeting = (): string => `meet${++meetingSeq}`;

  beforeAll(async () => {
    sfu = await Sfu.start({ ...LOOPBACK_OPTS, workers: 2, tap: true });
    wire(sfu, bots);
    taps = collectTaps(sfu);
  });
  afterEach(closeBots);
  afterAll(async () => {
    await closeBots();
    const pids = (await sfu.stats()).map((s) => s.pid);
    await sfu.close();
    for (const pid of pids) expect(alive(pid)).toBe(false);
  });

  it('forwards the exact audio and video frames, in order, to every admitted subscriber', async () => {
    const m = meeting();
    const alice = await joinBot(sfu, bots, m, 'alice');
    const bob = await joinBot(sfu, bots, m, 'bob');
    const carol = await joinBot(sfu, bots, m, 'carol');
    await prime(alice, [bob, carol]);
    const sent = await burst(alice, 30);
    await expectExactFrames([bob, carol], 'alice', sent);
    // Frames are tagged with the StreamInfo of the subscribe offer: nothing from anybody else.
    for (const sub of [bob, carol]) expect(sub.frames.every((f) => f.participantId === 'alice')).toBe(true);
    expect(alice.frames).toHaveLength(0); // nobody else published anything
    const streams = bob.peer
      .currentStreams()
      .map((s) => `${s.participantId}/${s.source}`)
      .sort();
    expect(streams).toEqual(['alice/audio', 'alice/camera', 'carol/audio', 'carol/camera']);
  });

  it('forwards nothing to a participant that may not receive, until it is allowed', async () => {
    const m = meeting();
    const alice = await joinBot(sfu, bots, m, 'alice');
    const bob = await joinBot(sfu, bots, m, 'bob');
    const dave = await joinBot(sfu, bots, m, 'dave', false);
    await dave.peer.waitConnected('subscribe');
    await prime(alice, [bob]);
    const tapStart = taps.length;
    await burst(alice, 20);
    await until(() => bob.framesFrom('alice', 'camera').length >= 20, "bob's frames");
    await sleep(200);
    expect(dave.frames).toHaveLength(0);
    expect(taps.slice(tapStart).some((t) => t.to === 'dave')).toBe(false);

    // Admitted: the SFU asks alice for a key frame, and dave starts at it.
    await sfu.call('setReceiving', { meetingId: m, participantId: 'dave', allowed: true });
    await until(() => alice.keyFrameRequests > 0, 'a key frame request for dave');
    await prime(alice, [dave]);
    const sent = await burst(alice, 10);
    await until(() => dave.framesFrom('alice', 'camera').length >= 10, "dave's frames");
    expect(dave.framesFrom('alice', 'camera').map((f) => f.frame)).toEqual(sent.camera);
  });

  it('stops forwarding a muted kind, and restarts video at a key frame on unmute', async () => {
    const m = meeting();
    const alice = await joinBot(sfu, bots, m, 'alice');
    const bob = await joinBot(sfu, bots, m, 'bob');
    await prime(alice, [bob]);

    await sfu.call('setMuted', { meetingId: m, participantId: 'alice', kind: 'video', muted: true });
    await burst(alice, 10);
    await until(() => bob.framesFrom('alice', 'audio').length >= 10, 'audio while video is muted');
    expect(bob.framesFrom('alice', 'camera')).toHaveLength(0);

    await sfu.call('setMuted', { meetingId: m, participantId: 'alice', kind: 'audio', muted: true });
    bob.frames.length = 0;
    await burst(alice, 10);
    await sleep(200);
    expect(bob.frames).toHaveLength(0);

    alice.keyFrameRequests = 0;
    await sfu.call('setMuted', { meetingId: m, participantId: 'alice', kind: 'video', muted: false });
    await sfu.call('setMuted', { meetingId: m, participantId: 'alice', kind: 'audio', muted: false });
    // Deltas are held back until a key frame; the SFU asks for one.
    await until(() => alice.keyFrameRequests > 0, 'key frame request after unmute');
    await alice.peer.sendFrame('camera', syntheticVp8Frame(500, false, 1), { keyFrame: false });
    await sleep(100);
    expect(bob.framesFrom('alice', 'camera')).toHaveLength(0);
    const key = syntheticVp8Frame(500, true, 2);
    await alice.peer.sendFrame('camera', key, { keyFrame: true });
    await until(() => bob.framesFrom('alice', 'camera').length === 1, 'video after unmute');
    expect(bob.framesFrom('alice', 'camera')[0]?.frame).toEqual(key);
  });

  it('relays key-frame requests to the publisher, at most one per 500 ms', async () => {
    const m = meeting();
    const alice = await joinBot(sfu, bots, m, 'alice');
    const bob = await joinBot(sfu, bots, m, 'bob');
    const carol = await joinBot(sfu, bots, m, 'carol');
    await prime(alice, [bob, carol]);
    await sleep(600); // the priming requests' throttle window is over

    // Two subscribers send a PLI every 20 ms for 1.2 s: 120 PLIs.
    const t0 = Date.now();
    while (Date.now() - t0 < 1200) {
      await bob.peer.requestKeyFrame('alice', 'camera');
      await carol.peer.requestKeyFrame('alice', 'camera');
      await sleep(20);
    }
    await sleep(100);
    expect(alice.keyFrameRequests).toBeGreaterThanOrEqual(2);
    expect(alice.keyFrameRequests).toBeLessThanOrEqual(3);
  });

  it('renegotiates on leave: the stream disappears, and a recycled m-line carries a newcomer', async () => {
    const m = meeting();
    const alice = await joinBot(sfu, bots, m, 'alice');
    const bob = await joinBot(sfu, bots, m, 'bob');
    const carol = await joinBot(sfu, bots, m, 'carol');
    await prime(alice, [bob]);
    await until(
      () => bob.lastStreams.some((s) => s.participantId === 'carol'),
      "carol's streams in bob's offer",
    );
    const carolMids = bob.lastStreams.filter((s) => s.participantId === 'carol').map((s) => s.mid);
    const offers = bob.offers;
    // The subscribe connection is node-datachannel's (libdatachannel writes o=rtc); every m-line
    // is sendonly with its own SSRC.
    const mlines = (sdp: string) =>
      sdp
        .split(/\r\nm=/)
        .slice(1)
        .map((section) => ({
          mid: /\r\na=mid:(\S+)/.exec(section)?.[1],
          direction: /\r\na=(sendonly|recvonly|sendrecv|inactive)/.exec(section)?.[1],
          ssrc: /\r\na=ssrc:(\d+) /.exec(section)?.[1],
        }));
    expect(bob.lastOffer).toMatch(/^v=0\r\no=rtc /);
    const before = mlines(bob.lastOffer);
    expect(before.every((m) => m.direction === 'sendonly' && m.ssrc !== undefined)).toBe(true);
    expect(new Set(before.map((m) => m.ssrc)).size).toBe(before.length);

    await sfu.leave(m, 'carol');
    await carol.peer.close();
    bots.delete(`${m}/carol`);
    await until(
      () => bob.offers > offers && !bob.lastStreams.some((s) => s.participantId === 'carol'),
      'an offer without carol',
    );
    expect(bob.lastStreams.map((s) => s.participantId)).toEqual(['alice', 'alice']);
    // carol's m-lines are free: still sendonly with the same SSRCs (Chromium would otherwise
    // recreate the receive streams without their E2EE transform), named by no StreamInfo.
    expect(mlines(bob.lastOffer)).toEqual(before);

    // Media from alice still flows after the renegotiation.
    await prime(alice, [bob]);
    const sent = await burst(alice, 10);
    await until(() => bob.framesFrom('alice', 'camera').length >= 10, 'frames after the leave');
    expect(bob.framesFrom('alice', 'camera').map((f) => f.frame)).toEqual(sent.camera);

    // erin gets carol's old m-lines, and her frames are attributed to her.
    const erin = await joinBot(sfu, bots, m, 'erin');
    await until(
      () => bob.lastStreams.filter((s) => s.participantId === 'erin').length === 2,
      "erin's streams in bob's offer",
    );
    expect(
      bob.lastStreams
        .filter((s) => s.participantId === 'erin')
        .map((s) => s.mid)
        .sort(),
    ).toEqual([...carolMids].sort());
    await prime(erin, [bob]);
    const fromErin = await burst(erin, 10);
    await until(() => bob.framesFrom('erin', 'camera').length >= 10, "erin's frames");
    expect(bob.framesFrom('erin', 'camera').map((f) => f.frame)).toEqual(fromErin.camera);
    expect(bob.framesFrom('erin', 'audio').map((f) => f.frame)).toEqual(fromErin.audio);
  });

  it('forwards one simulcast layer, the highest by default, and switches on request at a key frame', async () => {
    const m = meeting();
    const pub = new SimulcastPublisher();
    try {
      await sfu.join(m, 'simon');
      await pub.pc.setRemoteDescription({
        type: 'answer',
        sdp: await sfu.call('publishOffer', { meetingId: m, participantId: 'simon', sdp: await pub.offer() }),
      });
      const bob = await joinBot(sfu, bots, m, 'bob');
      await bob.peer.waitConnected('subscribe');
      let ts = 0;
      let i = 0;
      const frames = async (count: number): Promise<void> => {
        for (let k = 0; k < count; k++, i++) {
          ts += 3000;
          const key = i % 10 === 0;
          await pub.send('lo', ts, key, 200, i);
          await pub.send('hi', ts + 77, key, 1200, i);
          await sleep(30);
        }
      };
      await frames(45); // the layer rates are measured every 500 ms
      await until(() => bob.framesFrom('simon', 'camera').length > 5, 'simulcast frames');
      const sizes = (): number[] => bob.framesFrom('simon', 'camera').map((f) => f.frame.length);
      expect(sizes().slice(-5)).toEqual([1200, 1200, 1200, 1200, 1200]);

      pub.keyFrameRequests.length = 0;
      await sfu.call('setPreferredLayer', {
        meetingId: m,
        participantId: 'bob',
        publisherId: 'simon',
        rid: 'lo',
      });
      const before = sizes().length;
      await frames(25);
      await until(() => sizes().slice(-1)[0] === 200, 'the switch to the low layer');
      expect(pub.keyFrameRequests).toContain(0x1111); // a key frame was asked on the new layer
      const after = bob.framesFrom('simon', 'camera').slice(before);
      const firstLo = after.findIndex((f) => f.frame.length === 200);
      expect(after.slice(0, firstLo).every((f) => f.frame.length === 1200)).toBe(true);
      expect((after[firstLo]?.frame[0] ?? 1) & 1).toBe(0); // switched at a key frame
      expect(after.slice(firstLo).every((f) => f.frame.length === 200)).toBe(true);
    } finally {
      await pub.pc.close();
    }
  });

  it('taps every forwarded payload, and with SFrame they are ciphertext with a clear VP8/Opus prefix', async () => {
    const m = meeting();
    const alice = await joinBot(sfu, bots, m, 'alice');
    const bob = await joinBot(sfu, bots, m, 'bob');
    const carol = await joinBot(sfu, bots, m, 'carol');
    await prime(alice, [bob, carol]);
    const worker = sfu.workerOf(m);
    if (!worker) throw new Error('meeting has no worker');
    const before = (await sfu.stats()).find((s) => s.worker === worker.worker);
    const tapStart = taps.length;

    const baseKey = new Uint8Array(16).fill(7);
    const suite = 4; // AES_128_GCM_SHA256_128
    const videoSender = await SFrameSender.create(suite, 1n, baseKey);
    const audioSender = await SFrameSender.create(suite, 2n, baseKey);
    const marker = new TextEncoder().encode('PLAINTEXT-MARKER');
    const plain: Uint8Array[] = [];
    for (let i = 0; i < 10; i++) {
      const frame = syntheticVp8Frame(1800, i === 0, i);
      frame.set(marker, 40);
      plain.push(frame);
      await alice.peer.sendFrame('camera', await protectEncodedFrame(videoSender, 'vp8', frame), {
        keyFrame: i === 0,
      });
      const audio = syntheticOpusFrame(120, i);
      audio.set(marker, 20);
      await alice.peer.sendFrame('audio', await protectEncodedFrame(audioSender, 'opus', audio));
      await sleep(15);
    }
    for (const sub of [bob, carol]) {
      await until(() => sub.framesFrom('alice', 'camera').length >= 10, `${sub.id}'s frames`);
      const ring = new SFrameKeyRing(); // each receiver has its own (replay windows are per receiver)
      await ring.addKey(1n, baseKey, suite);
      const decrypted = await Promise.all(
        sub.framesFrom('alice', 'camera').map((f) => unprotectEncodedFrame(ring, 'vp8', f.frame)),
      );
      expect(decrypted).toEqual(plain);
    }
    await sleep(100);
    const after = (await sfu.stats()).find((s) => s.worker === worker.worker);
    const mine = taps.slice(tapStart).filter((t) => t.meetingId === m);
    expect(mine.length).toBe((after?.packetsForwarded ?? 0) - (before?.packetsForwarded ?? 0));
    expect(new Set(mine.map((t) => t.to))).toEqual(new Set(['bob', 'carol']));
    const hasMarker = (p: Uint8Array): boolean => Buffer.from(p).includes(Buffer.from(marker));
    expect(mine.some((t) => hasMarker(t.payload))).toBe(false);
    // The SFU sees the VP8 frame tag in clear (descriptor byte, then the tag: key frame first).
    const firstVideo = mine.find((t) => t.kind === 'video' && t.to === 'bob');
    expect(firstVideo?.payload[0]).toBe(0x10);
    expect((firstVideo?.payload[1] ?? 1) & 1).toBe(0);
  });
});

describe('SFU worker crash', () => {
  let sfu: Sfu | undefined;
  afterEach(async () => {
    await closeBots();
    await sfu?.close();
  });

  it('replaces a worker killed with SIGKILL, reports its meetings, and keeps serving', async () => {
    const errors: object[] = [];
    sfu = await Sfu.start({
      ...LOOPBACK_OPTS,
      workers: 2,
      logger: {
        info: () => undefined,
        debug: () => undefined,
        warn: () => undefined,
        error: (o) => errors.push(o),
      },
    });
    wire(sfu, bots);
    const exits: string[][] = [];
    sfu.on('workerExit', (ids) => exits.push(ids));
    await joinBot(sfu, bots, 'doomed', 'alice');
    await joinBot(sfu, bots, 'doomed', 'bob');
    const victim = sfu.workerOf('doomed');
    if (!victim) throw new Error('no worker');

    process.kill(victim.pid, 'SIGKILL');
    await until(() => exits.length === 1, 'workerExit');
    expect(exits[0]).toEqual(['doomed']);
    expect(errors.length).toBeGreaterThan(0);
    await expect(
      sfu.call('setReceiving', { meetingId: 'doomed', participantId: 'alice', allowed: true }),
    ).rejects.toThrow();
    await closeBots();

    const s = sfu;
    let stats = await s.stats();
    const t0 = Date.now();
    while (stats.length < 2 || stats.some((w) => w.pid === victim.pid)) {
      if (Date.now() - t0 > 10_000) throw new Error('worker not replaced');
      await sleep(100);
      stats = await s.stats();
    }
    expect(alive(victim.pid)).toBe(false);

    // New meetings work, on both workers (four of them spread over the pool).
    for (const m of ['after1', 'after2']) {
      const alice = await joinBot(s, bots, m, 'alice');
      const bob = await joinBot(s, bots, m, 'bob');
      await prime(alice, [bob]);
      const sent = await burst(alice, 5);
      await until(() => bob.framesFrom('alice', 'camera').length >= 5, `frames in ${m}`);
      expect(bob.framesFrom('alice', 'camera').map((f) => f.frame)).toEqual(sent.camera);
    }
    expect(new Set([s.workerOf('after1')?.worker, s.workerOf('after2')?.worker]).size).toBe(2);

    const pids = (await s.stats()).map((w) => w.pid);
    await s.close();
    sfu = undefined;
    for (const pid of pids) expect(alive(pid)).toBe(false);
  });
});
