import { describe, expect, it } from 'vitest';
import type { MediaSource } from '@conclave/protocol';
import {
  AUDIO_TOP_N,
  DEFAULT_VIEW,
  selectStreams,
  type SelectionInput,
  type StreamRef,
  type ViewSettings,
} from '../../src/sfu/worker/selection.js';

const publishers = ['p1', 'p2', 'p3', 'p4', 'p5', 'p6'];

/** Camera and microphone of each publisher, none muted. */
function streams(ids = publishers, extra: StreamRef[] = []): StreamRef[] {
  return [
    ...ids.flatMap((id) => [
      { publisherId: id, source: 'camera' as MediaSource, muted: false },
      { publisherId: id, source: 'audio' as MediaSource, muted: false },
    ]),
    ...extra,
  ];
}

function run(over: Partial<Omit<SelectionInput, 'view'>> & { view?: Partial<ViewSettings> } = {}) {
  const input: SelectionInput = {
    speakers: [],
    audioOrder: over.speakers ?? [],
    levelless: () => false,
    publishers,
    streams: streams(),
    ...over,
    view: { ...DEFAULT_VIEW, ...over.view },
  };
  const out = selectStreams(input);
  const pick = (source: MediaSource) =>
    Object.fromEntries(
      input.streams.flatMap((s, i) =>
        s.source === source
          ? [[s.publisherId, out[i]!.forwarded ? (out[i]!.reason ?? 'yes') : `no:${out[i]!.reason}`]]
          : [],
      ),
    );
  return {
    camera: pick('camera'),
    screen: pick('screen'),
    audio: input.streams.flatMap((s, i) =>
      s.source === 'audio' && out[i]!.forwarded ? [s.publisherId] : [],
    ),
    out,
  };
}

describe('video selection (last-N)', () => {
  it('without a view forwards every camera', () => {
    const { camera } = run({ speakers: ['p3'] });
    expect(camera).toEqual({
      p1: 'last_n',
      p2: 'last_n',
      p3: 'speaker',
      p4: 'last_n',
      p5: 'last_n',
      p6: 'last_n',
    });
  });

  it('forwards the lastN recent speakers, filling free places in meeting order', () => {
    expect(run({ view: { lastN: 2 }, speakers: ['p4', 'p2', 'p6'] }).camera).toEqual({
      p1: 'no:last_n',
      p2: 'speaker',
      p3: 'no:last_n',
      p4: 'speaker',
      p5: 'no:last_n',
      p6: 'no:last_n',
    });
    // One speaker so far: the second place goes to the first in the meeting's order.
    expect(run({ view: { lastN: 2 }, speakers: ['p5'] }).camera).toMatchObject({
      p1: 'last_n',
      p2: 'no:last_n',
      p5: 'speaker',
    });
    expect(Object.values(run({ view: { lastN: 0 }, speakers: ['p5'] }).camera)).toEqual(
      Array(6).fill('no:last_n'),
    );
  });

  it('orders by the speakers, then by the meeting order of that tick, whatever came before', () => {
    // The same speaker array with two meeting orders (places are worked out once per pair).
    const speakers = ['p4'];
    const reversed = [...publishers].reverse();
    expect(run({ view: { lastN: 2 }, speakers }).camera).toMatchObject({ p4: 'speaker', p1: 'last_n' });
    const other = run({ view: { lastN: 2 }, speakers, publishers: reversed }).camera;
    expect(other).toMatchObject({ p4: 'speaker', p6: 'last_n', p1: 'no:last_n' });
    // A camera whose publisher is in neither order (it is leaving) comes last.
    const gone: StreamRef = { publisherId: 'gone', source: 'camera', muted: false };
    const all = run({ view: { lastN: 6 }, speakers: ['p2'], streams: streams(publishers, [gone]) });
    expect(all.camera).toMatchObject({ p2: 'speaker', p6: 'last_n', gone: 'no:last_n' });
  });

  it('adds pinned participants and screens on top of lastN', () => {
    const screen: StreamRef = { publisherId: 'p6', source: 'screen', muted: false };
    const { camera, screen: screens } = run({
      view: { lastN: 1, pinned: ['p1', 'p1'] },
      speakers: ['p3', 'p4'],
      streams: streams(publishers, [screen]),
    });
    expect(camera).toEqual({
      p1: 'pinned',
      p2: 'no:last_n',
      p3: 'speaker',
      p4: 'no:last_n',
      p5: 'no:last_n',
      p6: 'no:last_n',
    });
    expect(screens).toEqual({ p6: 'pinned' });
  });

  it('does not forward muted video or tiles of height 0, and they take no place', () => {
    const { camera, out } = run({
      view: {
        lastN: 2,
        pinned: ['p2'],
        defaultHeight: 180,
        tiles: [
          { participantId: 'p1', source: 'camera', height: 0 },
          { participantId: 'p3', source: 'camera', height: 720 },
        ],
      },
      speakers: ['p1', 'p2', 'p3', 'p4', 'p5'],
      streams: streams().map((s) =>
        s.publisherId === 'p4' && s.source === 'camera' ? { ...s, muted: true } : s,
      ),
    });
    expect(camera).toEqual({
      p1: 'no:not_shown',
      p2: 'pinned',
      p3: 'speaker',
      p4: 'no:muted',
      p5: 'speaker',
      p6: 'no:last_n',
    });
    // Each video stream carries its tile height (the default without a tile) and speaker rank.
    expect(out[4]).toMatchObject({ height: 720, speakerRank: 2 });
    expect(out[8]).toMatchObject({ height: 180, speakerRank: 4 });
    expect(out[10]).toMatchObject({ height: 180, speakerRank: Infinity });
    // defaultHeight 0: only what has a tile is shown.
    expect(
      run({ view: { defaultHeight: 0, tiles: [{ participantId: 'p2', source: 'camera', height: 90 }] } })
        .camera,
    ).toMatchObject({
      p1: 'no:not_shown',
      p2: 'last_n',
    });
  });
});

describe('audio selection (top speakers)', () => {
  it('forwards the microphones of the top 3 in the audio order', () => {
    expect(AUDIO_TOP_N).toBe(3);
    expect(run({ speakers: ['p5', 'p2', 'p6', 'p1'], audioOrder: ['p5', 'p2', 'p6', 'p1'] }).audio).toEqual([
      'p2',
      'p5',
      'p6',
    ]);
    // An onset ranks where the audio order puts it.
    expect(run({ speakers: ['p5', 'p2'], audioOrder: ['p3', 'p5', 'p2'] }).audio).toEqual(['p2', 'p3', 'p5']);
  });

  it('fills the places nobody spoke for in meeting order, and skips muted microphones', () => {
    expect(run({ speakers: ['p4'] }).audio).toEqual(['p1', 'p2', 'p4']);
    const muted = streams().map((s) =>
      s.publisherId === 'p1' && s.source === 'audio' ? { ...s, muted: true } : s,
    );
    expect(run({ speakers: ['p4'], streams: muted }).audio).toEqual(['p2', 'p3', 'p4']);
  });

  it('forwards everybody whose audio carries no level, besides the top 3', () => {
    const levels = new Set(['p1', 'p2', 'p3', 'p4']);
    const { audio } = run({ speakers: ['p4', 'p3', 'p2', 'p1'], levelless: (id) => !levels.has(id) });
    expect(audio).toEqual(['p2', 'p3', 'p4', 'p5', 'p6']);
    // Until anyone's levels are known: everyone.
    expect(run({ levelless: () => true }).audio).toEqual(publishers);
  });

  it('always forwards screen audio', () => {
    const extra: StreamRef = { publisherId: 'p6', source: 'screenAudio', muted: false };
    const input = { speakers: ['p1', 'p2', 'p3'], streams: streams(publishers, [extra]) };
    const { out } = run(input);
    expect(out[out.length - 1]).toMatchObject({ forwarded: true, reason: undefined });
  });
});
