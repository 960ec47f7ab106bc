/**
 * The per-subscriber policy over stand-in forwarders and streams: what it turns on and off,
 * which layer it asks for, and what `media_status` it sends, when.
 */
import { describe, expect, it } from 'vitest';
import type { MediaSource } from '@conclave/protocol';
import type { MediaKind } from '../../src/sfu/ipc.js';
import type { LayerView } from '../../src/sfu/worker/layer-policy.js';
import {
  STATUS_INTERVAL_MS,
  ViewPolicy,
  tickSpeakers,
  type DownlinkReport,
  type MediaStatus,
  type MeetingSpeakers,
  type PolicyForwarder,
} from '../../src/sfu/worker/view-policy.js';
import { DEFAULT_VIEW } from '../../src/sfu/worker/selection.js';

const SIMULCAST: LayerView[] = [
  { rid: 'f', rate: 190_000, active: true, width: 1280, height: 720 },
  { rid: 'q', rate: 20_000, active: true, width: 320, height: 180 },
  { rid: 'h', rate: 60_000, active: true, width: 640, height: 360 },
];

class FakeForwarder implements PolicyForwarder {
  enabled = true;
  preferred: string | null = null;
  enabledCalls = 0;
  currentRid: string | undefined;
  readonly sent = { packets: 0, bytes: 0 };
  readonly stream: PolicyForwarder['stream'];

  constructor(
    publisher: { id: string; muted: Record<MediaKind, boolean> },
    source: MediaSource,
    layers: LayerView[],
  ) {
    const kind: MediaKind = source === 'camera' || source === 'screen' ? 'video' : 'audio';
    this.stream = { publisher, kind, source, layerViews: () => layers.map((l) => ({ ...l })) };
    this.currentRid = layers.length === 1 ? layers[0]!.rid : undefined;
  }

  setEnabled(on: boolean): void {
    this.enabled = on;
    this.enabledCalls++;
  }

  setPreferredLayer(rid: string | null): void {
    this.preferred = rid;
    // The forwarder switches at the next key frame: here at once.
    if (rid !== null) this.currentRid = rid;
  }
}

/** A subscriber seeing publishers p1..pN (camera + microphone each; p1 sends simulcast). */
function setup(n: number) {
  const muted: Record<string, Record<MediaKind, boolean>> = {};
  const forwarders = new Map<string, FakeForwarder>();
  const ids = Array.from({ length: n }, (_, i) => `p${i + 1}`);
  for (const id of ids) {
    muted[id] = { audio: false, video: false };
    const publisher = { id, muted: muted[id] };
    const camera = id === 'p1' ? SIMULCAST : [{ rid: '', rate: 60_000, active: true }];
    forwarders.set(`${id}/camera`, new FakeForwarder(publisher, 'camera', camera));
    forwarders.set(
      `${id}/audio`,
      new FakeForwarder(publisher, 'audio', [{ rid: '', rate: 4_000, active: true }]),
    );
  }
  const downlink: { -readonly [K in keyof DownlinkReport]: DownlinkReport[K] } = {
    lossFraction: null,
    rttMs: null,
    reportedAt: null,
  };
  const sent: MediaStatus[] = [];
  const subscriber = { id: 'me', receiving: true, downlink, forwarders };
  const policy = new ViewPolicy(subscriber, (s) => sent.push(s));
  let speakers: string[] = [];
  const meeting = (): MeetingSpeakers => ({
    speakers,
    audioOrder: speakers,
    levelless: () => false,
    publishers: ids,
  });
  let now = 1000;
  return {
    policy,
    subscriber,
    forwarders,
    downlink,
    muted,
    sent,
    get: (key: string) => forwarders.get(key)!,
    speak: (order: string[]) => (speakers = order),
    /** `ms` of policy ticks, 200 ms apart. */
    run(ms = 200) {
      for (let t = 0; t < ms; t += 200) {
        now += 200;
        policy.tick(meeting(), now);
      }
    },
    get now() {
      return now;
    },
    enabledVideo: () =>
      [...forwarders.entries()].flatMap(([k, f]) =>
        k.endsWith('/camera') && f.enabled ? [k.split('/')[0]] : [],
      ),
    enabledAudio: () =>
      [...forwarders.entries()].flatMap(([k, f]) =>
        k.endsWith('/audio') && f.enabled ? [k.split('/')[0]] : [],
      ),
  };
}

describe('forwarding policy of one subscriber', () => {
  it('forwards video of the lastN speakers and audio of the top 3, and says so', () => {
    const s = setup(5);
    s.policy.setView({ ...DEFAULT_VIEW, lastN: 2 });
    s.speak(['p4', 'p2']);
    s.run();
    expect(s.enabledVideo()).toEqual(['p2', 'p4']);
    expect(s.enabledAudio()).toEqual(['p1', 'p2', 'p4']);
    const status = s.sent.at(-1)!;
    expect(status.speakers).toEqual(['p4', 'p2']);
    expect(status.audio).toEqual(['p1', 'p2', 'p4']);
    expect(status.video.find((v) => v.participantId === 'p3')).toEqual({
      participantId: 'p3',
      source: 'camera',
      forwarded: false,
      reason: 'last_n',
      layer: null,
      layers: 1,
      limit: null,
    });
    expect(status.video.find((v) => v.participantId === 'p4')).toMatchObject({
      forwarded: true,
      reason: 'speaker',
      layer: 0,
    });
    // A new speaker: p5 in, p2 out (its forwarder is turned off; p4 untouched).
    const p4Calls = s.get('p4/camera').enabledCalls;
    s.speak(['p5', 'p4', 'p2']);
    s.run(STATUS_INTERVAL_MS);
    expect(s.enabledVideo()).toEqual(['p4', 'p5']);
    expect(s.get('p4/camera').enabledCalls).toBe(p4Calls);
    expect(s.sent.at(-1)!.video.find((v) => v.participantId === 'p2')).toMatchObject({
      forwarded: false,
      reason: 'last_n',
    });
  });

  it('follows mutes and pins', () => {
    const s = setup(4);
    s.policy.setView({ ...DEFAULT_VIEW, lastN: 1, pinned: ['p3'] });
    s.speak(['p2']);
    s.muted.p2!.video = true;
    s.run();
    expect(s.enabledVideo()).toEqual(['p1', 'p3']);
    const v = s.sent.at(-1)!.video;
    expect(v.find((x) => x.participantId === 'p2')).toMatchObject({ forwarded: false, reason: 'muted' });
    expect(v.find((x) => x.participantId === 'p3')).toMatchObject({ forwarded: true, reason: 'pinned' });
  });

  it('sends media_status only when it changed, and at most twice a second', () => {
    const s = setup(3);
    s.run();
    expect(s.sent).toHaveLength(1);
    s.run(3000);
    expect(s.sent).toHaveLength(1); // nothing changed
    const times: number[] = [];
    for (let i = 0; i < 10; i++) {
      s.speak([`p${(i % 3) + 1}`]);
      const before = s.sent.length;
      s.run();
      if (s.sent.length > before) times.push(s.now);
    }
    for (let i = 1; i < times.length; i++)
      expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(STATUS_INTERVAL_MS);
    // The last change is not lost: it goes out once the interval has passed.
    s.run(STATUS_INTERVAL_MS);
    expect(s.sent.at(-1)!.speakers).toEqual(['p1']);
  });

  it('tells a subscriber nothing while media may not reach it', () => {
    const s = setup(3);
    s.subscriber.receiving = false;
    s.speak(['p2']);
    s.run(2000);
    expect(s.sent).toEqual([]);
    // Let in (E2EE: it joined the MLS group): it gets the current status at once.
    s.subscriber.receiving = true;
    s.run();
    expect(s.sent).toHaveLength(1);
    expect(s.sent[0]!.speakers).toEqual(['p2']);
  });

  it('picks the simulcast layer by tile height', () => {
    const s = setup(2);
    const tile = (height: number) =>
      s.policy.setView({ ...DEFAULT_VIEW, tiles: [{ participantId: 'p1', source: 'camera', height }] });
    tile(170);
    s.run();
    expect(s.get('p1/camera').preferred).toBe('q');
    s.run(STATUS_INTERVAL_MS);
    expect(s.sent.at(-1)!.video[0]).toMatchObject({ layer: 0, layers: 3, limit: 'tile' });
    tile(700);
    s.run(STATUS_INTERVAL_MS);
    expect(s.get('p1/camera').preferred).toBe('f');
    expect(s.sent.at(-1)!.video[0]).toMatchObject({ layer: 2, layers: 3, limit: null });
    // Single-layer streams get no preference at all.
    expect(s.get('p2/camera').preferred).toBeNull();
  });

  it('caps layers by the downlink estimate from the receiver reports', () => {
    const s = setup(2);
    s.policy.setView({
      ...DEFAULT_VIEW,
      tiles: [{ participantId: 'p1', source: 'camera', height: 720 }],
    });
    s.run();
    expect(s.get('p1/camera').preferred).toBe('f');
    expect(s.sent.at(-1)!.downlinkBps).toBeNull();
    // About 2 Mbit/s flows; then reports of heavy loss, one a second.
    const f = s.get('p1/camera');
    for (let i = 0; i < 30; i++) {
      f.sent.bytes += 2_000_000 / 8 / 5;
      if (i % 5 === 4) {
        s.downlink.lossFraction = i < 5 ? 0 : 0.4;
        s.downlink.rttMs = 30;
        s.downlink.reportedAt = s.now;
      }
      s.run();
    }
    expect(s.policy.downlinkBps).toBeLessThan(1_000_000);
    expect(f.preferred).not.toBe('f');
    s.run(STATUS_INTERVAL_MS);
    const last = s.sent.at(-1)!;
    expect(last.video[0]).toMatchObject({ limit: 'bandwidth' });
    expect(last.lossFraction).toBe(0.4);
    expect(last.rttMs).toBe(30);
    expect(last.downlinkBps).toBeLessThan(1_000_000);
  });

  it('keeps a layer fixed by the setPreferredLayer op', () => {
    const s = setup(2);
    s.policy.setView({ ...DEFAULT_VIEW, tiles: [{ participantId: 'p1', source: 'camera', height: 720 }] });
    s.policy.setOverride('p1', 'q');
    s.run();
    expect(s.get('p1/camera').preferred).toBe('q');
    s.policy.setOverride('p1', null);
    s.run();
    expect(s.get('p1/camera').preferred).toBe('f');
  });

  it('ranks each stream’s layers once per meeting tick, for all subscribers', () => {
    let calls = 0;
    const stream = {
      publisher: { id: 'p1', muted: { audio: false, video: false } },
      kind: 'video' as const,
      source: 'camera' as const,
      layerViews: () => (calls++, SIMULCAST.map((l) => ({ ...l }))),
    };
    const tick = tickSpeakers({ speakers: [], audioOrder: [], levelless: () => false, publishers: ['p1'] });
    const first = tick.rankedLayers!(stream);
    expect(first.map((l) => l.rid)).toEqual(['q', 'h', 'f']);
    expect(tick.rankedLayers!(stream)).toBe(first);
    expect(calls).toBe(1);
    // The next tick ranks afresh (rates and sizes move).
    tickSpeakers({ speakers: [], audioOrder: [], levelless: () => false, publishers: ['p1'] }).rankedLayers!(
      stream,
    );
    expect(calls).toBe(2);
  });
});
