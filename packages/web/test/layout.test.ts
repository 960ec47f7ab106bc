import { describe, expect, it } from 'vitest';
import type { ForwardedVideo, ForwardingStatus } from '@conclave/client';
import {
  arrangeStage,
  GRID_VIDEOS,
  initialView,
  layerName,
  qualityText,
  tileKey,
  viewOf,
  type StageInput,
} from '../src/meeting/layout.js';
import type { Person, RemoteStream } from '../src/meeting/snapshot.js';
import { withStartBitrate } from '@conclave/client/browser';

function person(id: string, over: Partial<Person> = {}): Person {
  return {
    key: `p-${id}`,
    participantId: id,
    displayName: id.toUpperCase(),
    kind: 'guest',
    verification: undefined,
    inGroup: true,
    leafIndex: undefined,
    keyFingerprint: undefined,
    role: 'participant',
    audio: true,
    video: true,
    isSelf: false,
    media: undefined,
    forwarding: undefined,
    ...over,
  };
}

function video(participantId: string, over: Partial<ForwardedVideo> = {}): ForwardedVideo {
  return {
    participantId,
    source: 'camera',
    forwarded: true,
    reason: 'speaker',
    layer: 2,
    layers: 3,
    limit: null,
    ...over,
  };
}

/** People with what the SFU says of their cameras (as the SDK's people() attaches it). */
function withStatus(people: Person[], status: ForwardingStatus): Person[] {
  return people.map((p) =>
    p.isSelf
      ? p
      : {
          ...p,
          forwarding: {
            audio: status.audio.includes(p.participantId!),
            camera: status.video.find((v) => v.participantId === p.participantId && v.source === 'camera'),
            screen: undefined,
          },
        },
  );
}

function stream(participantId: string, source: RemoteStream['source'], flowing = true): RemoteStream {
  return {
    mid: `${participantId}-${source}`,
    participantId,
    source,
    kind: source === 'audio' ? 'audio' : 'video',
    track: { id: `${participantId}-${source}` } as MediaStreamTrack,
    flowing,
    sender: undefined,
    claimedName: participantId,
    mismatch: false,
  };
}

const status = (over: Partial<ForwardingStatus>): ForwardingStatus => ({
  speakers: [],
  audio: [],
  video: [],
  downlinkBps: null,
  lossFraction: null,
  rttMs: null,
  ...over,
});

function input(over: Partial<StageInput>): StageInput {
  return {
    layout: 'grid',
    people: [],
    remote: [],
    forwarding: undefined,
    pins: [],
    localSpeaker: undefined,
    previousMain: undefined,
    filmstripSlots: 3,
    ...over,
  };
}

const self = person('me', { isSelf: true });
const ids = ['ann', 'bob', 'cat', 'dan', 'eve'];
const others = ids.map((id) => person(id));

describe('the grid', () => {
  it('shows everyone else, pinned first, and asks for as many videos as it shows (at most 9)', () => {
    const stage = arrangeStage(input({ people: [self, ...others], pins: ['dan', 'bob'] }));
    expect(stage.main).toBeUndefined();
    expect(stage.tiles.map((t) => t.participantId)).toEqual(['dan', 'bob', 'ann', 'cat', 'eve']);
    expect(stage.tiles.map((t) => t.pinned)).toEqual([true, true, false, false, false]);
    expect(stage.lastN).toBe(5);
    const many = Array.from({ length: 14 }, (_, i) => person(`p${i}xx`));
    expect(arrangeStage(input({ people: [self, ...many] })).lastN).toBe(GRID_VIDEOS);
    expect(arrangeStage(input({ people: [self] })).lastN).toBe(0);
  });

  it('a tile shows video while its frames arrive, else why not', () => {
    const st = status({
      video: [
        video('ann'),
        video('bob', { forwarded: false, reason: 'last_n', layer: null }),
        video('cat', { forwarded: false, reason: 'muted', layer: null }),
        video('dan', { reason: 'pinned', layer: 0, limit: 'bandwidth' }),
      ],
    });
    const people = withStatus([self, ...others.slice(0, 4), person('eve', { video: false })], st);
    const stage = arrangeStage(
      input({
        people,
        forwarding: st,
        remote: [stream('ann', 'camera'), stream('bob', 'camera', false), stream('dan', 'camera', false)],
      }),
    );
    const by = new Map(stage.tiles.map((t) => [t.participantId, t]));
    expect(by.get('ann')).toMatchObject({ showVideo: true, why: undefined, quality: 'high' });
    expect(by.get('bob')).toMatchObject({
      showVideo: false,
      why: 'Not a recent speaker',
      quality: undefined,
    });
    expect(by.get('cat')?.why).toBe('Camera off');
    // forwarded, but no frame yet
    expect(by.get('dan')).toMatchObject({ showVideo: false, why: 'Connecting video…' });
    // camera off as they told the server, whatever the SFU said
    expect(by.get('eve')?.why).toBe('Camera off');
  });

  it('screen shares that flow come first', () => {
    const stage = arrangeStage(
      input({ people: [self, ...others], remote: [stream('bob', 'screen'), stream('cat', 'screen', false)] }),
    );
    expect(stage.screens.map((s) => s.participantId)).toEqual(['bob']);
  });
});

describe('the speaker view', () => {
  it('shows the first forwarded of the SFU’s speakers large, the rest in the filmstrip by speaker rank', () => {
    const st = status({
      speakers: ['eve', 'cat', 'ann'],
      video: [
        video('eve', { forwarded: false, reason: 'muted', layer: null }),
        video('cat'),
        video('ann'),
        video('bob', { forwarded: false, reason: 'last_n', layer: null }),
        video('dan', { forwarded: false, reason: 'last_n', layer: null }),
      ],
    });
    const stage = arrangeStage(
      input({
        layout: 'speaker',
        people: withStatus([self, ...others], st),
        forwarding: st,
        filmstripSlots: 2,
      }),
    );
    // Eve speaks, but her camera is off: Cat (the next speaker with video) is large.
    expect(stage.main?.kind === 'person' && stage.main.tile.participantId).toBe('cat');
    expect(stage.tiles.map((t) => t.participantId)).toEqual(['eve', 'ann', 'bob', 'dan']);
    // the large tile and the two filmstrip places that fit
    expect(stage.lastN).toBe(3);
  });

  it('a pinned person is large; then this page’s own guess; then whoever was large before', () => {
    const people = [self, ...others];
    const pinned = arrangeStage(input({ layout: 'speaker', people, pins: ['dan'], localSpeaker: 'bob' }));
    expect(pinned.main?.kind === 'person' && pinned.main.tile.participantId).toBe('dan');
    expect(pinned.tiles.some((t) => t.participantId === 'dan')).toBe(false);
    const guess = arrangeStage(
      input({ layout: 'speaker', people, localSpeaker: 'bob', previousMain: 'cat' }),
    );
    expect(guess.main?.kind === 'person' && guess.main.tile.participantId).toBe('bob');
    const sticky = arrangeStage(input({ layout: 'speaker', people, previousMain: 'cat' }));
    expect(sticky.main?.kind === 'person' && sticky.main.tile.participantId).toBe('cat');
    const first = arrangeStage(input({ layout: 'speaker', people, previousMain: 'gone' }));
    expect(first.main?.kind === 'person' && first.main.tile.participantId).toBe('ann');
    // alone: nothing large, nothing asked for
    const alone = arrangeStage(input({ layout: 'speaker', people: [self] }));
    expect(alone.main).toBeUndefined();
    expect(alone.lastN).toBe(0);
  });

  it('a screen share takes the large tile', () => {
    const stage = arrangeStage(
      input({ layout: 'speaker', people: [self, ...others], remote: [stream('bob', 'screen')] }),
    );
    expect(stage.main?.kind).toBe('screen');
    expect(stage.tiles).toHaveLength(5);
    expect(stage.lastN).toBe(3);
  });
});

describe('the view sent to the SFU', () => {
  it('has the stage’s lastN, the pins still present and every measured tile', () => {
    const stage = arrangeStage(input({ layout: 'speaker', people: [self, ...others], pins: ['bob'] }));
    const heights = new Map([
      [tileKey('bob', 'camera'), 540.4],
      [tileKey('ann', 'camera'), 120],
      [tileKey('ann', 'screen'), 99_999],
    ]);
    const view = viewOf(stage, ['bob', 'left-already'], heights);
    expect(view).toEqual({
      lastN: 4,
      pinned: ['bob'],
      tiles: [
        { participantId: 'bob', source: 'camera', height: 540 },
        { participantId: 'ann', source: 'camera', height: 120 },
        { participantId: 'ann', source: 'screen', height: 4320 },
      ],
    });
  });

  it('before the join: as many videos as the layout can show, what the first stage then asks for at most', () => {
    expect(initialView('grid', 3)).toEqual({ lastN: GRID_VIDEOS });
    expect(initialView('speaker', 5)).toEqual({ lastN: 6 });
    expect(initialView('speaker', 0)).toEqual({ lastN: 2 });
    expect(initialView('speaker', 500).lastN).toBeLessThanOrEqual(49);
    const crowd = Array.from({ length: 30 }, (_, i) => person(`p${i}`));
    for (const [layout, slots] of [
      ['grid', 3],
      ['speaker', 5],
    ] as const) {
      const stage = arrangeStage(input({ layout, people: [self, ...crowd], filmstripSlots: slots }));
      expect(stage.lastN).toBe(initialView(layout, slots).lastN);
    }
  });
});

describe('quality indicator', () => {
  it('names the layer and what limits it', () => {
    expect(layerName(0, 3)).toBe('low');
    expect(layerName(1, 3)).toBe('medium');
    expect(layerName(2, 3)).toBe('high');
    expect(layerName(1, 2)).toBe('high');
    expect(qualityText(video('x', { layer: 0, limit: 'bandwidth' }))).toBe('low · bandwidth');
    expect(qualityText(video('x', { layer: 1, limit: 'tile' }))).toBe('medium · tile size');
    expect(qualityText(video('x', { layer: 2, limit: null }))).toBe('high');
    // nothing to say for a single layer, or video not forwarded
    expect(qualityText(video('x', { layer: 0, layers: 1 }))).toBeUndefined();
    expect(qualityText(video('x', { forwarded: false, layer: null }))).toBeUndefined();
  });
});

describe('the publish answer’s start bitrate (Chromium)', () => {
  const answer = [
    'v=0',
    'm=audio 9 UDP/TLS/RTP/SAVPF 111',
    'a=rtpmap:111 opus/48000/2',
    'a=fmtp:111 minptime=10;useinbandfec=1',
    'm=video 9 UDP/TLS/RTP/SAVPF 96 97',
    'a=rtpmap:96 VP8/90000',
    'a=rtcp-fb:96 nack',
    'a=rtpmap:97 rtx/90000',
    'a=fmtp:97 apt=96',
    'm=video 9 UDP/TLS/RTP/SAVPF 100',
    'a=rtpmap:100 VP8/90000',
    'a=fmtp:100 max-fr=30',
    '',
  ].join('\r\n');

  it('adds x-google-start-bitrate to every VP8 payload type and nothing else', () => {
    const out = withStartBitrate(answer, 1550).split('\r\n');
    expect(out).toContain('a=fmtp:96 x-google-start-bitrate=1550');
    expect(out.indexOf('a=fmtp:96 x-google-start-bitrate=1550')).toBe(
      out.indexOf('a=rtpmap:96 VP8/90000') + 1,
    );
    expect(out).toContain('a=fmtp:100 max-fr=30;x-google-start-bitrate=1550');
    expect(out).toContain('a=fmtp:111 minptime=10;useinbandfec=1');
    expect(out).toContain('a=fmtp:97 apt=96');
    expect(out.filter((l) => l.includes('x-google'))).toHaveLength(2);
    // applied twice: unchanged
    expect(withStartBitrate(withStartBitrate(answer, 1550), 1550)).toBe(withStartBitrate(answer, 1550));
    // no VP8: the answer as it was
    const audioOnly = answer.split('m=video')[0]!;
    expect(withStartBitrate(audioOnly, 1550)).toBe(audioOnly);
  });
});
