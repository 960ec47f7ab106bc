/**
 * Test harness: an Sfu with loopback-only workers and NodeMediaPeer bots wired to it the way the
 * signaling hub wires browsers (offers, answers and candidates relayed in both directions).
 * Server tests may use the client's bot peer; server code never does.
 */
import type { StreamInfo } from '@conclave/protocol';
import { NodeMediaPeer, type ReceivedFrame } from '../../../client/src/media/index.js';
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

  constructor(
    readonly sfu: Sfu,
    readonly meetingId: string,
    readonly id: string,
    readonly peer: NodeMediaPeer = new NodeMediaPeer({ loopbackOnly: true }),
  ) {
    peer.onFrame((f) => this.frames.push(f));
    peer.onKeyFrameRequest(() => this.keyFrameRequests++);
    peer.onIce((pc, c) => void sfu.addIceCandidate(meetingId, id, pc, c).catch(() => undefined));
  }

  framesFrom(participantId: string, source: string): ReceivedFrame[] {
    return this.frames.filter((f) => f.participantId === participantId && f.source === source);
  }
}

/** Connects the Sfu's events to the bots (the hub's job in the server). */
export function wire(sfu: Sfu, bots: Map<string, Bot>): void {
  const key = (m: string, p: string): string => `${m}/${p}`;
  sfu.on('subscribeOffer', (m, p, sdp, streams) => {
    const bot = bots.get(key(m, p));
    if (!bot) return;
    bot.offers++;
    bot.lastStreams = streams;
    bot.peer
      .handleSubscribeOffer(sdp, streams)
      .then((answer) => sfu.subscribeAnswer(m, p, answer))
      .catch((err: unknown) => console.error('subscribe negotiation failed', err));
  });
  sfu.on('ice', (m, p, pc, c) => void bots.get(key(m, p))?.peer.addIce(pc, c).catch(() => undefined));
}

export async function joinBot(sfu: Sfu, bots: Map<string, Bot>, meetingId: string, id: string, receiving = true): Promise<Bot> {
  const bot = new Bot(sfu, meetingId, id);
  bots.set(`${meetingId}/${id}`, bot);
  await sfu.join(meetingId, id);
  if (receiving) await sfu.setReceiving(meetingId, id, true);
  const answer = await sfu.publishOffer(meetingId, id, await bot.peer.createPublishOffer());
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

export function collectTaps(sfu: Sfu): TapRecord[] {
  const taps: TapRecord[] = [];
  sfu.on('tap', (r) => taps.push(r));
  return taps;
}
