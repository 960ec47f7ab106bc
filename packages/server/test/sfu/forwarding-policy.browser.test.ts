/**
 * The forwarding policy's layer choice over real WebRTC on loopback (the network-namespace
 * suite): a publisher sending three simulcast layers whose key frames announce 320×180,
 * 640×360 and 1280×720, a NodeMediaPeer subscriber, the worker's own policy. Frame sizes tell
 * the layers apart at the subscriber. The narrow downlink is real: a 400 kbit/s htb class on
 * the namespace's loopback for packets leaving the SFU's subscribe ports drops what does not fit,
 * and the subscriber's receiver reports carry the loss to the estimator.
 */
import { execFileSync } from 'node:child_process';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  RTCPeerConnection,
  RtcpPayloadSpecificFeedback,
  RtpHeader,
  useSdesMid,
  useSdesRTPStreamId,
  useVP8,
  type RTCRtpTransceiver,
} from 'werift';
import { Sfu, type MediaStatus, type SfuOptions } from '../../src/sfu/index.js';
import { Bot, joinBot, until, wire } from './harness.js';

/** 64 ports for one worker: werift's publish half 44000-44031, libjuice's subscribe half 44032-44063. */
const OPTS: SfuOptions = {
  workers: 1,
  announcedAddress: '127.0.0.1',
  portRange: [44000, 44063],
  loopbackOnly: true,
};
const SUBSCRIBE_PORTS = { first: 44032, mask: 0xffe0 }; // 44032..44063

const LAYERS = [
  { rid: 'q', width: 320, height: 180, size: 150, ssrc: 0x1111 },
  { rid: 'h', width: 640, height: 360, size: 450, ssrc: 0x2222 },
  { rid: 'f', width: 1280, height: 720, size: 1100, ssrc: 0x3333 },
] as const;
type Rid = (typeof LAYERS)[number]['rid'];
const sizeOf = (rid: Rid): number => LAYERS.find((l) => l.rid === rid)!.size;

/**
 * A browser-like publisher of three VP8 layers on one m-line (werift cannot send simulcast: the
 * offer gets a=rid/a=simulcast lines and packets go straight to the DTLS transport with the
 * rid extension). Every frame is one packet; key frames carry the VP8 header with the layer's size.
 */
class ThreeLayerPublisher {
  readonly pc: RTCPeerConnection;
  private readonly video: RTCRtpTransceiver;
  private readonly seq: Record<Rid, number> = { q: 100, h: 20_000, f: 40_000 };
  private ts = 0;
  private n = 0;
  private forceKey = true;
  private timer: NodeJS.Timeout | undefined;

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
      if (p instanceof RtcpPayloadSpecificFeedback && p.feedback.count === 1) this.forceKey = true;
    });
  }

  async offer(): Promise<string> {
    await this.pc.setLocalDescription(await this.pc.createOffer());
    const sdp = this.pc.localDescription?.sdp ?? '';
    return sdp
      .split('\r\n')
      .filter((l) => !l.startsWith('a=ssrc') && (!l.startsWith('a=candidate:') || l.includes(' 127.0.0.1 ')))
      .join('\r\n')
      .replace(
        /(a=mid:\S+\r\n)/,
        '$1a=rid:q send\r\na=rid:h send\r\na=rid:f send\r\na=simulcast:send q;h;f\r\n',
      );
  }

  /** 60 frames a second on every layer, a key frame every 30 and on each PLI. */
  start(): void {
    this.timer = setInterval(() => void this.frame(), 1000 / 60);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private async frame(): Promise<void> {
    const key = this.forceKey || this.n % 30 === 0;
    this.forceKey = false;
    this.n++;
    this.ts += 1500;
    const ext = (uri: string): number => {
      const e = this.video.headerExtensions.find((h) => h.uri === uri);
      if (!e) throw new Error(`${uri} not negotiated`);
      return e.id;
    };
    for (const l of LAYERS) {
      const frame = Buffer.alloc(l.size, this.n & 0xff);
      if (key) {
        // frame tag (key frame: bit 0 clear), start code, 14-bit width and height (RFC 6386 §9.1)
        Buffer.from([0x50, 0x00, 0x00, 0x9d, 0x01, 0x2a]).copy(frame, 0);
        frame.writeUInt16LE(l.width, 6);
        frame.writeUInt16LE(l.height, 8);
      } else {
        frame[0] = 0x51;
      }
      const header = new RtpHeader({
        ssrc: l.ssrc,
        payloadType: 96,
        sequenceNumber: this.seq[l.rid]++ & 0xffff,
        timestamp: this.ts >>> 0,
        marker: true,
        extensions: [
          { id: ext('urn:ietf:params:rtp-hdrext:sdes:mid'), payload: Buffer.from(this.video.mid ?? '0') },
          { id: ext('urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id'), payload: Buffer.from(l.rid) },
        ],
      });
      await this.pc.dtlsTransports[0]?.sendRtp(Buffer.concat([Buffer.from([0x10]), frame]), header);
    }
  }
}

let sfu: Sfu;
const bots = new Map<string, Bot>();
const statuses: Array<{ to: string; status: MediaStatus }> = [];
let meetingSeq = 0;

beforeAll(async () => {
  sfu = await Sfu.start(OPTS);
  wire(sfu, bots);
  sfu.on('mediaStatus', (_m, to, status) => statuses.push({ to, status }));
});
afterEach(async () => {
  await Promise.allSettled([...bots.values()].map((b) => b.peer.close()));
  bots.clear();
  statuses.length = 0;
});
afterAll(async () => {
  await sfu?.close();
});

/** simon publishes three layers; bob subscribes. */
async function setup() {
  const meetingId = `policy-${++meetingSeq}`;
  const pub = new ThreeLayerPublisher();
  await sfu.join(meetingId, 'simon');
  await pub.pc.setRemoteDescription({
    type: 'answer',
    sdp: await sfu.call('publishOffer', { meetingId, participantId: 'simon', sdp: await pub.offer() }),
  });
  const bob = await joinBot(sfu, bots, meetingId, 'bob');
  await bob.peer.waitConnected('subscribe');
  pub.start();
  await until(() => bob.framesFrom('simon', 'camera').length > 10, 'simulcast frames at bob', 15_000);
  const tile = (height: number) =>
    sfu.call('setView', {
      meetingId,
      participantId: 'bob',
      lastN: 9,
      pinned: [],
      tiles: [{ participantId: 'simon', source: 'camera', height }],
      defaultHeight: 360,
    });
  const sizes = (since: number) =>
    bob
      .framesFrom('simon', 'camera')
      .slice(since)
      .map((f) => f.frame.length);
  const status = () =>
    statuses
      .filter((s) => s.to === 'bob')
      .at(-1)
      ?.status.video.find((v) => v.participantId === 'simon');
  return { meetingId, pub, bob, tile, sizes, status };
}

/** Waits until the newest frames all come from `rid`; returns the frames received meanwhile. */
async function settleOn(s: Awaited<ReturnType<typeof setup>>, rid: Rid, what: string): Promise<number[]> {
  const start = s.bob.framesFrom('simon', 'camera').length;
  await until(
    () => {
      const got = s.sizes(start);
      return got.length >= 20 && got.slice(-20).every((n) => n === sizeOf(rid));
    },
    what,
    15_000,
  );
  return s.sizes(start);
}

describe('the SFU forwarding policy over loopback WebRTC', () => {
  it('picks the simulcast layer whose key-frame resolution fits the tile, switching at key frames', async () => {
    const s = await setup();
    try {
      // No view yet: the top layer.
      await settleOn(s, 'f', 'the top layer without a view');
      await s.tile(170);
      const down = await settleOn(s, 'q', 'the 180p layer for a 170 px tile');
      // The switch happened at a key frame: the first small frame is one.
      const firstQ = s.bob.framesFrom('simon', 'camera').find((f) => f.frame.length === sizeOf('q'));
      expect((firstQ?.frame[0] ?? 1) & 1).toBe(0);
      expect(down.filter((n) => n !== sizeOf('q') && n !== sizeOf('f'))).toEqual([]);
      await until(() => s.status()?.layer === 0, 'media_status: layer 0');
      expect(s.status()).toMatchObject({ forwarded: true, layer: 0, layers: 3, limit: 'tile' });
      await s.tile(360);
      await settleOn(s, 'h', 'the 360p layer for a 360 px tile');
      await s.tile(700);
      await settleOn(s, 'f', 'the 720p layer for a 700 px tile');
      await until(() => s.status()?.layer === 2, 'media_status: layer 2');
      expect(s.status()).toMatchObject({ layer: 2, layers: 3, limit: null });
    } finally {
      s.pub.stop();
      await s.pub.pc.close();
    }
  });

  const inNetns = process.env.CONCLAVE_IN_NETNS === '1' && process.getuid?.() === 0;
  it.skipIf(!inNetns)(
    'brings the layer down when the downlink loses packets, and says it is the bandwidth',
    async () => {
      const s = await setup();
      const tc = (cmd: string) => execFileSync('tc', cmd.split(' '), { stdio: 'pipe' });
      try {
        await s.tile(720);
        await settleOn(s, 'f', 'the top layer');
        await until(
          () => (statuses.filter((x) => x.to === 'bob').at(-1)?.status.downlinkBps ?? null) !== null,
          'a first estimate',
        );
        // Only this namespace's loopback: what leaves the SFU's subscribe ports goes through a
        // 400 kbit/s link with a short queue (htb and pfifo: the container's kernel has no
        // netem), while the top layer alone needs about 530 kbit/s.
        const { first, mask } = SUBSCRIBE_PORTS;
        tc('qdisc add dev lo root handle 1: htb default 10');
        tc('class add dev lo parent 1: classid 1:10 htb rate 1gbit');
        tc('class add dev lo parent 1: classid 1:20 htb rate 400kbit ceil 400kbit');
        tc('qdisc add dev lo parent 1:20 handle 20: pfifo limit 20');
        tc(
          `filter add dev lo parent 1: protocol ip prio 1 u32 match ip protocol 17 0xff ` +
            `match ip sport ${first} 0x${mask.toString(16)} flowid 1:20`,
        );
        const shapedAt = Date.now();
        await until(
          () => s.status()?.limit === 'bandwidth' && (s.status()?.layer ?? 2) < 2,
          'media_status: a lower layer, limited by bandwidth',
          20_000,
        );
        const last = statuses.filter((x) => x.to === 'bob').at(-1)!.status;
        console.log(
          `400 kbit/s downlink: layer ${s.status()?.layer} after ${Date.now() - shapedAt} ms, ` +
            `loss ${last.lossFraction}, estimate ${last.downlinkBps} bit/s, rtt ${last.rttMs} ms`,
        );
        expect(last.lossFraction).toBeGreaterThan(0.05);
        expect(last.downlinkBps).toBeLessThan(LAYERS[2].size * 60 * 8 * 1.15); // the top layer no longer fits
        // And the subscriber really gets a lower layer now.
        const lower = s.status()!.layer === 0 ? 'q' : 'h';
        const start = s.bob.framesFrom('simon', 'camera').length;
        await until(
          () => s.sizes(start).filter((n) => n === sizeOf(lower)).length > 10,
          'frames of the lower layer',
        );
      } finally {
        try {
          tc('qdisc del dev lo root');
        } catch {
          /* never added */
        }
        s.pub.stop();
        await s.pub.pc.close();
      }
    },
  );
});
