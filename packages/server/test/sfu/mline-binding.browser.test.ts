/**
 * A subscriber's connection carries m-lines for what it is shown, not two per participant
 * (participant.ts, "bind"): real WebRTC over loopback, native bots publishing audio with levels
 * and video, every subscriber showing the last 2 speakers (its view given at join). Joins and
 * leaves of people nobody is shown renegotiate nobody else's connection; a new speaker gets an
 * m-line (one renegotiation per subscriber), and an m-line whose stream has been off for
 * RECLAIM_AFTER_MS carries the next new one instead of a further m-line.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { syntheticOpusFrame, syntheticVp8Frame } from '@conclave/client/media';
import type { MediaViewFields } from '@conclave/protocol';
import { Sfu, type MediaStatus } from '../../src/sfu/index.js';
import { RECLAIM_AFTER_MS } from '../../src/sfu/worker/participant.js';
import { Bot, LOOPBACK_OPTS, joinBot, sleep, until, wire } from './harness.js';

const SPEAKING_DBOV = -20;
const SILENT_DBOV = -127;
const VIEW: MediaViewFields = { lastN: 2, pinned: [], tiles: [], defaultHeight: 360 };

let sfu: Sfu;
const bots = new Map<string, Bot>();
const statuses = new Map<string, MediaStatus>();
let seq = 0;

beforeAll(async () => {
  sfu = await Sfu.start({ ...LOOPBACK_OPTS, portRange: [45000, 45999] });
  wire(sfu, bots);
  sfu.on('mediaStatus', (_m, p, status) => statuses.set(p, status));
});
afterEach(async () => {
  await Promise.allSettled([...bots.values()].map((b) => b.peer.close()));
  bots.clear();
});
afterAll(async () => {
  await sfu?.close();
});

/** Every bot of the meeting sends audio (25/s) and video (12.5/s, a key frame when asked and every 1.6 s). */
function pump(meetingBots: () => Bot[]): () => void {
  let i = 0;
  const asked = new Map<Bot, number>();
  const timer = setInterval(() => {
    i++;
    for (const b of meetingBots()) {
      void b.peer.sendFrame('audio', syntheticOpusFrame(60, i)).catch(() => undefined);
      if (i % 2 !== 0) continue;
      const key = i % 40 === 0 || b.keyFrameRequests !== (asked.get(b) ?? 0);
      asked.set(b, b.keyFrameRequests);
      void b.peer
        .sendFrame('camera', syntheticVp8Frame(700, key, i), { keyFrame: key })
        .catch(() => undefined);
    }
  }, 40);
  return () => clearInterval(timer);
}

const mLines = (b: Bot, kind: 'audio' | 'video'): number =>
  b.lastOffer.split('\r\n').filter((l) => l.startsWith(`m=${kind}`)).length;
const shown = (b: Bot, source: 'camera' | 'audio'): string[] =>
  b.lastStreams
    .filter((s) => s.source === source)
    .map((s) => s.participantId)
    .sort();
const cameraMid = (b: Bot, participantId: string): string | undefined =>
  b.lastStreams.find((s) => s.participantId === participantId && s.source === 'camera')?.mid;
const receives = (b: Bot, from: string): boolean => b.framesFrom(from, 'camera').length > 3;

describe('m-lines for what is shown', () => {
  it('joins and leaves of people not shown renegotiate nobody; a new speaker takes an m-line, a long-idle one is reused', async () => {
    const meetingId = `mlines-${++seq}`;
    const inMeeting = () => [...bots.values()].filter((b) => b.meetingId === meetingId);
    const stop = pump(inMeeting);
    const join = async (id: string, speaking: boolean): Promise<Bot> => {
      const b = await joinBot(sfu, bots, meetingId, id, true, 'native', VIEW);
      b.peer.setAudioLevel(speaking ? SPEAKING_DBOV : SILENT_DBOV);
      return b;
    };
    try {
      // Two speakers first, until the SFU ranks them.
      await join('p4', true);
      await join('p5', true);
      await until(
        () => ['p4', 'p5'].every((id) => statuses.get('p4')?.speakers.includes(id)),
        'p4 and p5 ranked as speakers',
        15_000,
      );
      // Four listeners join knowing their view: their connections get the speakers' cameras only.
      const listeners: Bot[] = [];
      for (const id of ['p0', 'p1', 'p2', 'p3']) listeners.push(await join(id, false));
      await until(
        () => listeners.every((b) => receives(b, 'p4') && receives(b, 'p5')),
        'the listeners receiving both speakers',
        20_000,
      );
      for (const b of listeners) {
        expect({ id: b.id, cameras: shown(b, 'camera') }).toEqual({ id: b.id, cameras: ['p4', 'p5'] });
        expect(mLines(b, 'video')).toBe(2);
        expect(mLines(b, 'audio')).toBe(3);
        expect(shown(b, 'audio')).toEqual(expect.arrayContaining(['p4', 'p5']));
      }
      const all = inMeeting();
      const [stats] = await sfu.stats();
      const offered = all.reduce((n, b) => n + mLines(b, 'audio') + mLines(b, 'video'), 0);
      expect(stats?.subscribeMLines).toBe(offered);
      expect(offered).toBeLessThan(all.length * (all.length - 1) * 2);

      // A silent newcomer: it gets the speakers; nobody else's connection is renegotiated.
      const offersBefore = new Map(all.map((b) => [b.id, b.offers]));
      const g = await join('g', false);
      await until(
        () => receives(g, 'p4') && receives(g, 'p5'),
        'the newcomer receiving the speakers',
        15_000,
      );
      expect(shown(g, 'camera')).toEqual(['p4', 'p5']);
      expect(g.lastStreams).toHaveLength(5);
      await sleep(1_000);
      await g.peer.close();
      bots.delete(`${meetingId}/g`);
      await sfu.leave(meetingId, 'g');
      await sleep(1_000);
      expect(new Map(all.map((b) => [b.id, b.offers]))).toEqual(offersBefore);

      // p1 speaks, p4 falls silent: p1's camera takes a new m-line (p4's has only just gone off).
      const [p0, p1, p2, p3] = listeners as [Bot, Bot, Bot, Bot];
      const p4 = all.find((b) => b.id === 'p4')!;
      p1.peer.setAudioLevel(SPEAKING_DBOV);
      p4.peer.setAudioLevel(SILENT_DBOV);
      const watchers = [p0, p2, p3];
      await until(
        () => watchers.every((b) => shown(b, 'camera').includes('p1') && receives(b, 'p1')),
        'p1 switched in',
        20_000,
      );
      const p4Mid = new Map(watchers.map((b) => [b, cameraMid(b, 'p4')]));
      for (const b of watchers) {
        expect(mLines(b, 'video')).toBe(3);
        expect(p4Mid.get(b)).toBeDefined();
      }

      // Once p4's camera has been off long enough, p2 speaking takes p4's m-line over.
      await sleep(RECLAIM_AFTER_MS + 500);
      p2.peer.setAudioLevel(SPEAKING_DBOV);
      p1.peer.setAudioLevel(SILENT_DBOV);
      await until(
        () => [p0, p3].every((b) => shown(b, 'camera').includes('p2') && receives(b, 'p2')),
        'p2 switched in',
        20_000,
      );
      for (const b of [p0, p3]) {
        expect(mLines(b, 'video')).toBe(3);
        expect(cameraMid(b, 'p2')).toBe(p4Mid.get(b));
        expect(cameraMid(b, 'p4')).toBeUndefined();
      }
    } finally {
      stop();
    }
  }, 90_000);
});
