/**
 * Forwarding logic without a network: a real PublishedStream, Forwarder and EgressTrack (so the
 * sequence/timestamp rewriting is the real one) on a stand-in for node-datachannel's track that
 * records the packets it would encrypt and send.
 */
import { describe, expect, it } from 'vitest';
import { RtpHeader, RtpPacket } from 'werift';
import type { Track } from 'node-datachannel';
import type { WorkerContext } from '../../src/sfu/worker/context.js';
import { EgressTrack } from '../../src/sfu/worker/egress-track.js';
import { Forwarder } from '../../src/sfu/worker/forwarder.js';
import { chooseLayer } from '../../src/sfu/worker/layer-policy.js';
import { PublishedStream } from '../../src/sfu/worker/published-stream.js';
import { context, publishTransceiver } from './worker-stand-ins.js';

interface Sent {
  seq: number;
  ts: number;
  payload: Buffer;
}

/**
 * The subscribe side: a real egress track on a track stand-in that records what it sends;
 * `open.now` says whether libdatachannel has opened it (the default: yes).
 */
function subscribeTrack(sent: Sent[], open = { now: true }): EgressTrack {
  const egress = new EgressTrack('0', 'video', {
    keyFrameRequest: () => undefined,
    report: () => undefined,
    open: () => undefined,
  });
  const track = {
    isOpen: () => open.now,
    onMessage: () => undefined,
    onOpen: () => undefined,
    sendMessageBinary: (packet: Buffer) => {
      // A copy, as libdatachannel makes: the egress track reuses its buffer for the next packet.
      sent.push({
        seq: packet.readUInt16BE(2),
        ts: packet.readUInt32BE(4),
        payload: Buffer.from(packet.subarray(12)),
      });
      return true;
    },
  };
  // Only isOpen, onMessage and sendMessageBinary are used by EgressTrack.
  egress.attach(track as unknown as Track);
  return egress;
}

/** A VP8 packet: 1-byte descriptor (S on the first packet of a frame), then the frame tag byte. */
function vp8(
  ssrc: number,
  seq: number,
  ts: number,
  opts: { key?: boolean; start?: boolean; size?: number } = {},
): RtpPacket {
  const start = opts.start ?? true;
  const payload = Buffer.alloc(opts.size ?? 100, 0xab);
  payload[0] = start ? 0x10 : 0x00;
  payload[1] = opts.key ? 0x00 : 0x01;
  return new RtpPacket(
    new RtpHeader({
      ssrc,
      sequenceNumber: seq & 0xffff,
      timestamp: ts >>> 0,
      payloadType: 100,
      marker: true,
    }),
    payload,
  );
}

/** alice's camera as the worker holds it; the PLIs it sends her land in `plis`. */
function aliceCamera(plis: number[], ctx: WorkerContext): PublishedStream {
  return new PublishedStream(
    { id: 'alice', muted: { audio: false, video: false } },
    '1',
    'video',
    'camera',
    publishTransceiver(plis),
    ctx,
  );
}

function setup(): { stream: PublishedStream; forwarder: Forwarder; sent: Sent[]; plis: number[] } {
  const plis: number[] = [];
  const sent: Sent[] = [];
  const ctx = context();
  const stream = aliceCamera(plis, ctx);
  const forwarder = new Forwarder(
    stream,
    { id: 'bob', meetingId: 'm1', receiving: true },
    subscribeTrack(sent),
    ctx,
  );
  forwarder.activate();
  return { stream, forwarder, sent, plis };
}

describe('simulcast layer policy', () => {
  it('picks the preferred layer, else the highest active one, without flapping', () => {
    const layers = [
      { rid: 'l', rate: 20_000, active: true },
      { rid: 'h', rate: 200_000, active: true },
    ];
    expect(chooseLayer(layers, undefined, null)).toBe('h');
    expect(chooseLayer(layers, 'h', 'l')).toBe('l');
    expect(
      chooseLayer(
        [
          { rid: 'l', rate: 20_000, active: true },
          { rid: 'h', rate: 200_000, active: false },
        ],
        'h',
        null,
      ),
    ).toBe('l');
    expect(
      chooseLayer(
        [
          { rid: 'a', rate: 100, active: true },
          { rid: 'b', rate: 120, active: true },
        ],
        'a',
        null,
      ),
    ).toBe('a');
    expect(chooseLayer([], 'h', null)).toBe('h');
  });
});

describe('Forwarder', () => {
  it('starts at a key frame, then forwards with continuous sequence numbers', () => {
    const { stream, sent, plis } = setup();
    stream.onRtp('', vp8(1, 10, 1000));
    stream.onRtp('', vp8(1, 11, 4000));
    expect(sent).toHaveLength(0);
    expect(plis).toEqual([1]); // asked once, throttled afterwards
    stream.onRtp('', vp8(1, 12, 7000, { key: true }));
    stream.onRtp('', vp8(1, 13, 7000, { start: false }));
    stream.onRtp('', vp8(1, 14, 10000));
    // Our own sequence line (random start), one step per packet, the payloads unchanged.
    const first = sent[0]?.seq ?? 0;
    expect(sent.map((s) => s.seq)).toEqual([first, (first + 1) & 0xffff, (first + 2) & 0xffff]);
    expect(sent.map((s) => s.payload[1])).toEqual([0x00, 0x01, 0x01]);
  });

  it('switches simulcast layers only at a key frame of the target, keeping sequence and time lines', () => {
    const { stream, forwarder, sent, plis } = setup();
    let seqL = 100;
    let seqH = 5000;
    let ts = 0;
    const frame = (keyL = false, keyH = false): void => {
      ts += 3000;
      stream.onRtp('l', vp8(11, seqL++, 1_000_000 + ts, { key: keyL, size: 200 }));
      stream.onRtp('h', vp8(22, seqH++, 9_000_000 + ts, { key: keyH, size: 1000 }));
    };
    frame(true, true); // only layer l is known when its key frame arrives: it starts there
    stream.tick(500);
    const beforeUp = sent.length;
    frame(); // h is now the highest: l keeps flowing until h's key frame
    expect(sent.slice(beforeUp).map((s) => s.payload.length)).toEqual([200]);
    frame(false, true);
    frame();
    const afterStart = sent.length;
    // That frame's l packet came first; from h's key frame on, only h.
    expect(sent.slice(beforeUp + 1).map((s) => s.payload.length)).toEqual([200, 1000, 1000]);

    plis.length = 0;
    forwarder.setPreferredLayer('l');
    expect(plis).toEqual([11]); // key frame asked on the new target
    frame();
    frame(); // still on h: no key frame on l yet
    expect(sent.slice(afterStart).every((s) => s.payload.length === 1000)).toBe(true);
    const beforeSwitch = sent.length;
    frame(true, false);
    frame();
    const switched = sent.slice(beforeSwitch);
    expect(switched.every((s) => s.payload.length === 200)).toBe(true);
    // One sequence line and increasing timestamps for the subscriber across the switch.
    const seqs = sent.map((s) => s.seq);
    for (let i = 1; i < seqs.length; i++) expect(seqs[i]).toBe(((seqs[i - 1] ?? 0) + 1) & 0xffff);
    const tss = sent.map((s) => s.ts);
    for (let i = 1; i < tss.length; i++)
      expect(((tss[i] ?? 0) - (tss[i - 1] ?? 0)) >>> 0 < 0x80000000).toBe(true);
  });

  it('starts a single-layer stream whose last window was silent once packets come again (slow video)', () => {
    const plis: number[] = [];
    const sent: Sent[] = [];
    const ctx = context();
    const stream = aliceCamera(plis, ctx);
    stream.onRtp('', vp8(1, 1, 1000, { key: true }));
    stream.tick(500);
    stream.tick(500); // a window without a packet: the only layer is inactive
    const f = new Forwarder(
      stream,
      { id: 'bob', meetingId: 'm1', receiving: true },
      subscribeTrack(sent),
      ctx,
    );
    f.activate();
    stream.onRtp('', vp8(1, 2, 4000, { key: true }));
    stream.tick(500);
    stream.onRtp('', vp8(1, 3, 7000, { key: true }));
    expect(sent).toHaveLength(1);
  });

  it('asks for a key frame only once the m-line is open, so the open event’s ask is not throttled away', () => {
    const plis: number[] = [];
    const sent: Sent[] = [];
    const ctx = context();
    const stream = aliceCamera(plis, ctx);
    stream.onRtp('', vp8(9, 1, 1000, { key: true }));
    const open = { now: false };
    const f = new Forwarder(
      stream,
      { id: 'bob', meetingId: 'm1', receiving: true },
      subscribeTrack(sent, open),
      ctx,
    );
    // The answer is applied and the connection is up, but libdatachannel has not opened the track.
    f.activate();
    f.restartVideo();
    stream.onRtp('', vp8(9, 2, 4000, { key: true })); // lost: nowhere to send it yet
    expect(plis).toEqual([]);
    expect(sent).toHaveLength(0);
    // The track opens (its 'open' event restarts the video): the ask goes out at once.
    open.now = true;
    f.restartVideo();
    expect(plis).toEqual([9]);
    stream.onRtp('', vp8(9, 3, 7000, { key: true }));
    expect(sent).toHaveLength(1);
  });

  it('relays at most one key-frame request per 500 ms per layer', async () => {
    const { stream, plis } = setup();
    stream.onRtp('', vp8(7, 1, 1000, { key: true }));
    plis.length = 0;
    for (let i = 0; i < 50; i++) stream.requestKeyFrame('');
    expect(plis).toEqual([7]);
    await new Promise((r) => setTimeout(r, 520));
    for (let i = 0; i < 50; i++) stream.requestKeyFrame('');
    expect(plis).toEqual([7, 7]);
  });

  it('forwards nothing while the publisher is muted or the subscriber may not receive', () => {
    const plis: number[] = [];
    const sent: Sent[] = [];
    const ctx = context();
    const publisher = { id: 'alice', muted: { audio: false, video: false } };
    const subscriber = { id: 'bob', meetingId: 'm1', receiving: false };
    const stream = new PublishedStream(publisher, '1', 'video', 'camera', publishTransceiver(plis), ctx);
    const f = new Forwarder(stream, subscriber, subscribeTrack(sent), ctx);
    f.activate();
    stream.onRtp('', vp8(1, 1, 1000, { key: true }));
    expect(sent).toHaveLength(0);
    subscriber.receiving = true;
    publisher.muted.video = true;
    stream.onRtp('', vp8(1, 2, 4000, { key: true }));
    expect(sent).toHaveLength(0);
    publisher.muted.video = false;
    stream.onRtp('', vp8(1, 3, 7000, { key: true }));
    expect(sent).toHaveLength(1);
    expect(ctx.counters).toEqual({ packetsIn: 3, packetsForwarded: 1, subscribeOffers: 0 });
  });
});
