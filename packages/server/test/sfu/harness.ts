/**
 * Test harness: an Sfu with loopback-only workers and NodeMediaPeer bots wired to it the way the
 * signaling hub wires browsers (offers, answers and candidates relayed in both directions).
 * Server tests may use the client's bot peer; server code never does.
 */
import type { MediaViewFields, StreamInfo } from '@conclave/protocol';
import { expect } from 'vitest';
import {
  RTCPeerConnection,
  RtcpPayloadSpecificFeedback,
  RtpHeader,
  useSdesMid,
  useSdesRTPStreamId,
  useVP8,
  type RTCRtpTransceiver,
} from 'werift';
import {
  NativeMediaPeer,
  NodeMediaPeer,
  syntheticOpusFrame,
  syntheticVp8Frame,
  type BotMediaPeer,
  type ReceivedFrame,
} from '@conclave/client/media';
import { Sfu, type SfuOptions, type TapRecord } from '../../src/sfu/index.js';

export const LOOPBACK_OPTS: SfuOptions = {
  workers: 1,
  announcedAddress: '127.0.0.1',
  portRange: [42000, 42999],
  loopbackOnly: true,
};

export class Bot {
  readonly frames: ReceivedFrame[] = [];
  keyFrameRequests = 0;
  offers = 0;
  lastStreams: StreamInfo[] = [];
  lastOffer = '';

  constructor(
    readonly sfu: Sfu,
    readonly meetingId: string,
    readonly id: string,
    readonly peer: BotMediaPeer = new NodeMediaPeer({ loopbackOnly: true }),
  ) {
    peer.onFrame((f) => this.frames.push(f));
    peer.onKeyFrameRequest(() => this.keyFrameRequests++);
    peer.onIce(
      (pc, c) =>
        void sfu.call('addIce', { meetingId, participantId: id, pc, candidate: c }).catch(() => undefined),
    );
  }

  framesFrom(participantId: string, source: string): ReceivedFrame[] {
    return this.frames.filter((f) => f.participantId === participantId && f.source === source);
  }
}

/** Connects the Sfu's events to the bots (the hub's job in the server); `answerDelayMs` holds every subscribe answer back that long. */
export function wire(sfu: Sfu, bots: Map<string, Bot>, answerDelayMs = 0): void {
  const key = (m: string, p: string): string => `${m}/${p}`;
  sfu.on('subscribeOffer', (m, p, sdp, streams) => {
    const bot = bots.get(key(m, p));
    if (!bot) return;
    bot.offers++;
    bot.lastStreams = streams;
    bot.lastOffer = sdp;
    bot.peer
      .handleSubscribeOffer(sdp, streams)
      .then(async (answer) => {
        if (answerDelayMs > 0) await sleep(answerDelayMs);
        await sfu.call('subscribeAnswer', { meetingId: m, participantId: p, sdp: answer });
      })
      .catch((err: unknown) => console.error('subscribe negotiation failed', err));
  });
  sfu.on(
    'ice',
    (m, p, pc, c) =>
      void bots
        .get(key(m, p))
        ?.peer.addIce(pc, c)
        .catch(() => undefined),
  );
}

export async function joinBot(
  sfu: Sfu,
  bots: Map<string, Bot>,
  meetingId: string,
  id: string,
  receiving = true,
  engine: 'werift' | 'native' = 'werift',
  view?: MediaViewFields,
): Promise<Bot> {
  const peer =
    engine === 'native'
      ? new NativeMediaPeer({ loopbackOnly: true })
      : new NodeMediaPeer({ loopbackOnly: true });
  const bot = new Bot(sfu, meetingId, id, peer);
  bots.set(`${meetingId}/${id}`, bot);
  await sfu.join(meetingId, id, view);
  if (receiving) await sfu.call('setReceiving', { meetingId, participantId: id, allowed: true });
  const answer = await sfu.call('publishOffer', {
    meetingId,
    participantId: id,
    sdp: await bot.peer.createPublishOffer(),
  });
  await bot.peer.applyPublishAnswer(answer);
  await bot.peer.waitConnected('publish');
  return bot;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls until `cond` holds, or fails with `what` after `timeoutMs`. */
export async function until(cond: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/**
 * Sends key frames (and audio) until every subscriber got video and audio from `pub`, then lets
 * the pipes drain and forgets what was received: what follows starts on a clean slate.
 */
export async function prime(pub: Bot, subs: Bot[]): Promise<void> {
  for (const s of subs) await s.peer.waitConnected('subscribe');
  const t0 = Date.now();
  let i = 0;
  while (
    !subs.every((s) => s.framesFrom(pub.id, 'camera').length > 0 && s.framesFrom(pub.id, 'audio').length > 0)
  ) {
    if (Date.now() - t0 > 10_000) throw new Error('subscribers never got media');
    await pub.peer.sendFrame('camera', syntheticVp8Frame(600, true, i), { keyFrame: true });
    await pub.peer.sendFrame('audio', syntheticOpusFrame(80, i));
    i++;
    await sleep(40);
  }
  await sleep(200);
  for (const s of subs) s.frames.length = 0;
  pub.keyFrameRequests = 0;
}

export interface Burst {
  camera: Uint8Array[];
  audio: Uint8Array[];
}

/** A key frame, then deltas (a key frame every 10), and one audio frame per video frame. */
export async function burst(pub: Bot, n: number, size = 2500): Promise<Burst> {
  const sent: Burst = { camera: [], audio: [] };
  for (let i = 0; i < n; i++) {
    const key = i % 10 === 0;
    const v = syntheticVp8Frame(size + i, key, 1000 + i);
    const a = syntheticOpusFrame(60 + i, 1000 + i);
    await pub.peer.sendFrame('camera', v, { keyFrame: key });
    await pub.peer.sendFrame('audio', a);
    sent.camera.push(v);
    sent.audio.push(a);
    await sleep(15);
  }
  return sent;
}

/** Waits until every subscriber got all of `sent` from `from`, then checks it is exactly that, in order. */
export async function expectExactFrames(subs: Bot[], from: string, sent: Burst): Promise<void> {
  const n = sent.camera.length;
  for (const sub of subs) {
    await until(
      () =>
        sub.framesFrom(from, 'camera').length >= n &&
        sub.framesFrom(from, 'audio').length >= sent.audio.length,
      `${sub.id}'s frames from ${from}`,
    );
    expect(sub.framesFrom(from, 'camera').map((f) => f.frame)).toEqual(sent.camera);
    expect(sub.framesFrom(from, 'audio').map((f) => f.frame)).toEqual(sent.audio);
  }
}

export function collectTaps(sfu: Sfu): TapRecord[] {
  const taps: TapRecord[] = [];
  sfu.on('tap', (r) => taps.push(r));
  return taps;
}

/**
 * A publisher that sends two simulcast layers (rids 'lo' and 'hi') on one video m-line, as a
 * browser does: werift cannot send simulcast, so the offer gets a=rid/a=simulcast lines and the
 * packets go straight to the DTLS transport with the rid header extension.
 */
export class SimulcastPublisher {
  readonly pc: RTCPeerConnection;
  private readonly video: RTCRtpTransceiver;
  private seq = { lo: 1000, hi: 30000 };
  keyFrameRequests: number[] = [];

  constructor() {
    this.pc = new RTCPeerConnection({
      iceServers: [],
      iceUseIpv6: false,
      bundlePolicy: 'max-bundle',
      iceAdditionalHostAddresses: ['127.0.0.1'],
      iceInterfaceAddresses: { udp4: '127.0.0.1' },
      codecs: { video: [useVP8({ payloadType: 96 })] },
      headerExtensions: { video: [useSdesMid(), useSdesRTPStreamId()] },
    });
    this.video = this.pc.addTransceiver('video', { direction: 'sendonly' });
    this.pc.dtlsTransports[0]?.onRtcp.subscribe((p) => {
      if (p instanceof RtcpPayloadSpecificFeedback && p.feedback.count === 1)
        this.keyFrameRequests.push(p.feedback.mediaSsrc);
    });
  }

  async offer(): Promise<string> {
    await this.pc.setLocalDescription(await this.pc.createOffer());
    const sdp = this.pc.localDescription?.sdp ?? '';
    return sdp
      .split('\r\n')
      .filter((l) => !l.startsWith('a=ssrc') && (!l.startsWith('a=candidate:') || l.includes(' 127.0.0.1 ')))
      .join('\r\n')
      .replace(/(a=mid:\S+\r\n)/, '$1a=rid:lo send\r\na=rid:hi send\r\na=simulcast:send lo;hi\r\n');
  }

  /** One frame on one layer: `size` bytes in one packet, VP8 descriptor + frame tag. */
  async send(rid: 'lo' | 'hi', ts: number, key: boolean, size: number, seed: number): Promise<Uint8Array> {
    const ext = (uri: string): number => {
      const e = this.video.headerExtensions.find((h) => h.uri === uri);
      if (!e) throw new Error(`${uri} not negotiated`);
      return e.id;
    };
    const frame = Buffer.alloc(size, seed & 0xff);
    frame[0] = key ? 0x00 : 0x01;
    const payload = Buffer.concat([Buffer.from([0x10]), frame]);
    const header = new RtpHeader({
      ssrc: rid === 'lo' ? 0x1111 : 0x2222,
      payloadType: 96,
      sequenceNumber: this.seq[rid]++ & 0xffff,
      timestamp: ts >>> 0,
      marker: true,
      extensions: [
        { id: ext('urn:ietf:params:rtp-hdrext:sdes:mid'), payload: Buffer.from(this.video.mid ?? '0') },
        { id: ext('urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id'), payload: Buffer.from(rid) },
      ],
    });
    await this.pc.dtlsTransports[0]?.sendRtp(payload, header);
    return new Uint8Array(frame);
  }
}
