/**
 * The media-port pool over real WebRTC: a 10-port range on one worker, NodeMediaPeer bots that
 * publish, and the UDP sockets the worker actually binds (read from /proc/net/udp) against what
 * the pool says. Run inside the loopback-only network namespace:
 *   node scripts/netns.mjs npx vitest run --config vitest.browser.config.ts packages/server/test/sfu/media-capacity.browser.test.ts
 */
import { readFileSync } from 'node:fs';
import { healthResponse } from '@conclave/protocol';
import { RTCPeerConnection } from 'werift';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { botPeerConfig, syntheticOpusFrame, syntheticVp8Frame } from '@conclave/client/media';
import { startConclave } from '../../src/conclave.js';
import {
  MEDIA_PORTS_PER_PARTICIPANT,
  MediaCapacityError,
  Sfu,
  type SfuOptions,
} from '../../src/sfu/index.js';
import { memoryLogger, tempDir, testConfig } from '../helpers.js';
import { Bot, joinBot, sleep, until, wire } from './harness.js';

/** Below the ephemeral range (32768-), so the bots' own sockets never land in it. */
const RANGE: [number, number] = [20200, 20209];
const OPTS: SfuOptions = {
  workers: 1,
  announcedAddress: '127.0.0.1',
  portRange: RANGE,
  loopbackOnly: true,
  logger: { info: () => undefined, debug: () => undefined, warn: () => undefined, error: () => undefined },
};

/** UDP sockets bound to a port of [lo, hi] in this network namespace (any process). */
function boundPorts([lo, hi]: [number, number]): number {
  let n = 0;
  for (const file of ['/proc/net/udp', '/proc/net/udp6']) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const local = line.trim().split(/\s+/)[1];
      const port = local ? parseInt(local.split(':')[1] ?? '', 16) : NaN;
      if (port >= lo && port <= hi) n++;
    }
  }
  return n;
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

/** Key frames and audio from `pub` until every subscriber has some of both. */
async function mediaFlows(pub: Bot, subs: Bot[]): Promise<void> {
  for (const s of subs) s.frames.length = 0;
  const t0 = Date.now();
  for (let i = 0; ; i++) {
    if (
      subs.every((s) => s.framesFrom(pub.id, 'camera').length > 0 && s.framesFrom(pub.id, 'audio').length > 0)
    )
      return;
    if (Date.now() - t0 > 15_000) {
      const missing = subs.filter((s) => s.framesFrom(pub.id, 'camera').length === 0).map((s) => s.id);
      throw new Error(`no media from ${pub.id} at ${missing.join(', ')}`);
    }
    await pub.peer.sendFrame('camera', syntheticVp8Frame(600, true, i), { keyFrame: true });
    await pub.peer.sendFrame('audio', syntheticOpusFrame(80, i));
    await sleep(40);
  }
}

const keepLoopback = (sdp: string): string =>
  sdp
    .split('\r\n')
    .filter((l) => !l.startsWith('a=candidate:') || l.includes(' 127.0.0.1 '))
    .join('\r\n');

describe('SFU media-port pool over loopback WebRTC', () => {
  let sfu: Sfu;
  const bots = new Map<string, Bot>();
  const closeBots = async (): Promise<void> => {
    await Promise.allSettled([...bots.values()].map((b) => b.peer.close()));
    bots.clear();
  };

  beforeAll(async () => {
    sfu = await Sfu.start(OPTS);
    wire(sfu, bots);
  });
  afterEach(async () => {
    const meetings = new Set([...bots.values()].map((b) => b.meetingId));
    await closeBots();
    for (const m of meetings) await sfu.closeMeeting(m);
    expect(sfu.portPool().used).toBe(0);
    await until(() => boundPorts(RANGE) === 0, 'every port closed');
  });
  afterAll(async () => {
    await closeBots();
    await sfu.close();
  });

  it('fills the range with publishers, refuses the next join with media_capacity, keeps media flowing, and takes joins again after leaves', async () => {
    const { total, perParticipant } = sfu.portPool();
    expect(total).toBe(RANGE[1] - RANGE[0] + 1);
    expect(perParticipant).toBe(MEDIA_PORTS_PER_PARTICIPANT);
    const capacity = Math.floor(total / perParticipant);
    const m = 'full';
    const members: Bot[] = [];
    for (let i = 0; i < capacity; i++) {
      members.push(await joinBot(sfu, bots, m, `p${i}`));
      expect(sfu.portPool().used).toBe((i + 1) * perParticipant);
    }
    // Every participant publishes and receives: both its connections have their port.
    for (const b of members) await b.peer.waitConnected('subscribe');
    expect(sfu.portPool()).toEqual({
      total,
      used: capacity * perParticipant,
      free: total % perParticipant,
      perParticipant,
    });
    expect(boundPorts(RANGE)).toBe(sfu.portPool().used);

    const before = sfu.portPool();
    const err = await rejection(sfu.join(m, 'late'));
    expect(err).toBeInstanceOf(MediaCapacityError);
    expect((err as MediaCapacityError).code).toBe('media_capacity');
    expect((err as Error).message).toBe(
      `the server has no free media ports (${before.used} in use of ${before.total}): try again later`,
    );
    await expect(sfu.join('another', 'x')).rejects.toBeInstanceOf(MediaCapacityError);
    expect(sfu.portPool()).toEqual(before);
    expect(sfu.workerOf('another')).toBeUndefined();

    // The participants already in still get each other's media.
    const [first, second] = members;
    if (!first || !second) throw new Error('too few members');
    await mediaFlows(first, members.slice(1));
    await mediaFlows(
      second,
      members.filter((b) => b !== second),
    );

    // Two leave: their four ports come back, in the pool and on the machine.
    for (const b of members.slice(-2)) {
      bots.delete(`${m}/${b.id}`);
      await b.peer.close();
      await sfu.leave(m, b.id);
    }
    const stayed = members.slice(0, -2);
    expect(sfu.portPool().used).toBe(stayed.length * perParticipant);
    await until(() => boundPorts(RANGE) === sfu.portPool().used, 'the leavers’ sockets closed');

    // A newcomer fits, publishes and receives; the others receive it.
    const late = await joinBot(sfu, bots, m, 'late');
    await late.peer.waitConnected('subscribe');
    expect(sfu.portPool().used).toBe((stayed.length + 1) * perParticipant);
    await mediaFlows(first, [late]);
    await mediaFlows(late, stayed);
    expect(boundPorts(RANGE)).toBe(sfu.portPool().used);
  });

  it("one participant's repeated offers and ICE restarts bind no port beyond its reservation", async () => {
    await sfu.join('reoffer', 'p');
    const pc = new RTCPeerConnection(botPeerConfig(true));
    try {
      pc.addTransceiver('audio', { direction: 'sendonly' });
      pc.addTransceiver('video', { direction: 'sendonly' });
      const negotiate = async (opts: { iceRestart?: boolean } = {}, mangle = (s: string) => s) => {
        await pc.setLocalDescription(await pc.createOffer(opts));
        const sdp = mangle(keepLoopback(pc.localDescription?.sdp ?? ''));
        await pc.setRemoteDescription({
          type: 'answer',
          sdp: await sfu.call('publishOffer', { meetingId: 'reoffer', participantId: 'p', sdp }),
        });
      };
      await negotiate();
      await until(() => pc.connectionState === 'connected', 'the publish connection');
      expect(boundPorts(RANGE)).toBe(1); // no forwarders: the subscribe connection has not gathered
      for (let i = 0; i < 3; i++) await negotiate();
      for (let i = 0; i < 3; i++) {
        pc.addTransceiver(i % 2 ? 'audio' : 'video', { direction: 'sendonly' });
        await negotiate({ iceRestart: true });
      }
      await until(() => pc.connectionState === 'connected', 'the connection after the ICE restarts');
      // An offer without BUNDLE, from another connection of the same participant.
      const other = new RTCPeerConnection(botPeerConfig(true));
      for (let i = 0; i < 4; i++) other.addTransceiver(i % 2 ? 'video' : 'audio', { direction: 'sendonly' });
      await other.setLocalDescription(await other.createOffer());
      const unbundled = keepLoopback(other.localDescription?.sdp ?? '').replace(
        /a=group:BUNDLE[^\r]*\r\n/,
        '',
      );
      await sfu
        .call('publishOffer', { meetingId: 'reoffer', participantId: 'p', sdp: unbundled })
        .catch(() => undefined);
      await other.close();
      expect(boundPorts(RANGE)).toBe(1);
      expect(boundPorts(RANGE)).toBeLessThanOrEqual(sfu.portPool().used);
    } finally {
      await pc.close();
      await sfu.leave('reoffer', 'p');
    }
  });

  it('a DTLS alert on the publish connection cannot make a later unbundled offer bind another port', async () => {
    await sfu.join('alert', 'p');
    const pc = new RTCPeerConnection(botPeerConfig(true));
    try {
      pc.addTransceiver('audio', { direction: 'sendonly' });
      pc.addTransceiver('video', { direction: 'sendonly' });
      const offer = async (): Promise<string> => {
        await pc.setLocalDescription(await pc.createOffer());
        return keepLoopback(pc.localDescription?.sdp ?? '').replace(/a=group:BUNDLE[^\r]*\r\n/, '');
      };
      await pc.setRemoteDescription({
        type: 'answer',
        sdp: await sfu.call('publishOffer', { meetingId: 'alert', participantId: 'p', sdp: await offer() }),
      });
      await until(() => pc.connectionState === 'connected', 'the publish connection');
      expect(boundPorts(RANGE)).toBe(1);
      // A plaintext DTLS close_notify record (epoch 0): werift closes the DTLS transport on it.
      const alert = Buffer.from([21, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 99, 0, 2, 1, 0]);
      const ice = pc.dtlsTransports[0]?.iceTransport.connection;
      if (!ice) throw new Error('no ICE connection');
      for (let i = 0; i < 3; i++) {
        await ice.send(alert);
        await sleep(200);
        pc.addTransceiver('audio', { direction: 'sendonly' });
        const result = await sfu
          .call('publishOffer', { meetingId: 'alert', participantId: 'p', sdp: await offer() })
          .then(
            () => 'answered',
            (err: unknown) => String(err),
          );
        expect(boundPorts(RANGE)).toBe(1);
        expect(result).toMatch(/DTLS transport was closed/);
      }
    } finally {
      await pc.close();
      await sfu.leave('alert', 'p');
    }
  });
});

describe('/healthz and the media-port pool', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.reverse()) await c();
    cleanups.length = 0;
  });

  it('startConclave reports the SFU pool, and it follows joins and leaves', async () => {
    const dir = tempDir();
    cleanups.push(dir.remove);
    const config = testConfig(dir.path, { mediaPorts: { min: 20300, max: 20309 }, sfuWorkers: 1 });
    const server = await startConclave(config, {
      loopbackOnly: true,
      logger: memoryLogger().logger,
      webRoot: null,
    });
    cleanups.push(() => server.close());
    const health = async () => {
      const res = await fetch(`${server.url}/healthz`);
      expect(res.status).toBe(200);
      return healthResponse.parse(await res.json()).media;
    };
    const empty = await health();
    const per = MEDIA_PORTS_PER_PARTICIPANT;
    expect(empty).toEqual({
      ports: { total: 10, used: 0, free: 10 },
      perParticipant: per,
      participantCapacity: Math.floor(10 / per),
    });

    await server.sfu.join('m', 'a');
    await server.sfu.join('m', 'b');
    expect((await health())?.ports).toEqual({ total: 10, used: 2 * per, free: 10 - 2 * per });
    const { total, used, free } = server.sfu.portPool();
    expect((await health())?.ports).toEqual({ total, used, free });
    await server.sfu.leave('m', 'a');
    expect((await health())?.ports).toEqual({ total: 10, used: per, free: 10 - per });
    await server.sfu.closeMeeting('m');
    expect((await health())?.ports.used).toBe(0);
  });

  it('startConclave without media workers has no media field', async () => {
    const dir = tempDir();
    cleanups.push(dir.remove);
    const server = await startConclave(testConfig(dir.path), {
      media: false,
      logger: memoryLogger().logger,
      webRoot: null,
    });
    cleanups.push(() => server.close());
    const body: unknown = await (await fetch(`${server.url}/healthz`)).json();
    expect(healthResponse.parse(body).status).toBe('ok');
    expect(body).not.toHaveProperty('media');
  });
});
