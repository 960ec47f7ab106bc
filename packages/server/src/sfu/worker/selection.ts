/**
 * Which of the others' streams one subscriber receives, and why (pure: no clock, no I/O).
 *
 * Video (cameras and screens), in this order of rules:
 * - `muted`: the publisher's video is muted — nothing to forward;
 * - `not_shown`: its tile is 0 pixels high (a tile of height 0, or none with `defaultHeight` 0);
 * - `pinned`: the subscriber pinned the publisher, or it is a screen share (screens count as
 *   pinned): always forwarded;
 * - cameras of the others compete for `lastN` places: the recent-speaker order first, then the
 *   rest in the meeting's order. Forwarded with `speaker` when the publisher is in the speaker
 *   order, `last_n` when it fills a free place; beyond the `lastN` places: not forwarded, `last_n`.
 * Without a view (the subscriber sent none yet) every camera has a place.
 *
 * Audio: microphones of the AUDIO_TOP_N first others in the audio order (speakers, then those
 * just starting to speak, then — while fewer have spoken — the rest in the meeting's order),
 * plus every publisher whose audio arrives without levels (`levelless`: it cannot be ranked);
 * screen audio always. Muted: never. A microphone that has sent nothing yet is not levelless:
 * it is ranked, as a silent one.
 */
import type { MediaSource, ViewTile } from '@conclave/protocol';

/** Microphones forwarded to each subscriber: the top speakers. */
export const AUDIO_TOP_N = 3;

/** A subscriber's view as the worker keeps it (the wire's `media_view`, defaults applied). */
export interface ViewSettings {
  readonly lastN: number;
  readonly pinned: readonly string[];
  readonly tiles: readonly ViewTile[];
  readonly defaultHeight: number;
}

/**
 * The view of a subscriber that described none: every camera, at the best layer its downlink
 * allows (tiles as tall as the wire allows: the top layer fits).
 */
export const DEFAULT_VIEW: ViewSettings = {
  lastN: Number.POSITIVE_INFINITY,
  pinned: [],
  tiles: [],
  defaultHeight: 4320,
};

export type VideoReason = 'pinned' | 'speaker' | 'last_n' | 'not_shown' | 'muted';

/** One stream of another participant, as the selection sees it. */
export interface StreamRef {
  publisherId: string;
  source: MediaSource;
  /** The publisher muted this kind (its packets are not forwarded to anybody). */
  muted: boolean;
}

export interface SelectionInput {
  view: ViewSettings;
  /** The recent-speaker order (speakers.ts). */
  speakers: readonly string[];
  /** The order for audio (speakers.ts, `audioOrder`). */
  audioOrder: readonly string[];
  /** Whether the publisher's audio arrives without levels (it cannot be ranked: forwarded to all). */
  levelless: (publisherId: string) => boolean;
  /** Every publisher in the meeting's order (join order): fills last-N places nobody spoke for. */
  publishers: readonly string[];
  streams: readonly StreamRef[];
}

export interface StreamDecision {
  forwarded: boolean;
  /** Video only (audio: undefined). */
  reason: VideoReason | undefined;
  /** Video: the tile height it is drawn at (device pixels). */
  height: number;
  /** Video: position in the speaker order (Infinity: not a speaker). */
  speakerRank: number;
}

const isVideo = (s: MediaSource): s is 'camera' | 'screen' => s === 'camera' || s === 'screen';

/**
 * Each id's position in an order. A meeting hands the same order arrays to all its
 * subscribers on a tick, so the map is made once per array, not once per subscriber.
 */
const ranks = new WeakMap<readonly string[], ReadonlyMap<string, number>>();
function rankOf(order: readonly string[]): ReadonlyMap<string, number> {
  let m = ranks.get(order);
  if (!m) {
    m = new Map(order.map((id, i) => [id, i] as const));
    ranks.set(order, m);
  }
  return m;
}

/**
 * Each id's place when `first` goes first and the rest follow in `then`'s order (the ids of
 * `first` not repeated): the order cameras compete in for last-N places, and microphones for
 * the top speakers. Made once per pair of arrays, like `rankOf`, so sorting a subscriber's
 * streams compares one number per stream instead of two ranks looked up on every comparison.
 */
const places = new WeakMap<readonly string[], WeakMap<readonly string[], ReadonlyMap<string, number>>>();
function placeOf(first: readonly string[], then: readonly string[]): ReadonlyMap<string, number> {
  let byThen = places.get(first);
  if (!byThen) {
    byThen = new WeakMap();
    places.set(first, byThen);
  }
  let m = byThen.get(then);
  if (!m) {
    const built = new Map<string, number>();
    for (const id of first) if (!built.has(id)) built.set(id, built.size);
    for (const id of then) if (!built.has(id)) built.set(id, built.size);
    m = built;
    byThen.set(then, m);
  }
  return m;
}

/** Stream indices `at`, in the order of `place` of their publishers (unknown ones last, then by index). */
function sortByPlace(at: number[], streams: readonly StreamRef[], place: ReadonlyMap<string, number>): void {
  const key = new Float64Array(streams.length);
  for (const i of at) key[i] = place.get(streams[i]!.publisherId) ?? Number.POSITIVE_INFINITY;
  at.sort((a, b) => (key[a] === key[b] ? a - b : key[a]! - key[b]!));
}

/**
 * A view's tile heights by publisher and source, and its pinned set: made once per view (a
 * subscriber's view changes when it says so, its policy ticks five times a second).
 */
interface ViewIndex {
  heights: ReadonlyMap<string, ReadonlyMap<MediaSource, number>>;
  pinned: ReadonlySet<string>;
}
const viewIndexes = new WeakMap<ViewSettings, ViewIndex>();
function viewIndex(view: ViewSettings): ViewIndex {
  let index = viewIndexes.get(view);
  if (!index) {
    const heights = new Map<string, Map<MediaSource, number>>();
    for (const t of view.tiles) {
      let bySource = heights.get(t.participantId);
      if (!bySource) {
        bySource = new Map();
        heights.set(t.participantId, bySource);
      }
      bySource.set(t.source, t.height);
    }
    index = { heights, pinned: new Set(view.pinned) };
    viewIndexes.set(view, index);
  }
  return index;
}

/** One decision per stream of `input.streams`, in the same order. */
export function selectStreams(input: SelectionInput): StreamDecision[] {
  const { view } = input;
  const { heights, pinned } = viewIndex(view);
  const speakerRank = rankOf(input.speakers);
  const heightOf = (s: StreamRef): number => heights.get(s.publisherId)?.get(s.source) ?? view.defaultHeight;

  const decisions: StreamDecision[] = input.streams.map((s) => ({
    forwarded: false,
    reason: undefined,
    height: isVideo(s.source) ? heightOf(s) : 0,
    speakerRank: speakerRank.get(s.publisherId) ?? Number.POSITIVE_INFINITY,
  }));

  // Video: the fixed rules, then cameras competing for the last-N places.
  const contenders: number[] = [];
  input.streams.forEach((s, i) => {
    if (!isVideo(s.source)) return;
    const d = decisions[i]!;
    if (s.muted) d.reason = 'muted';
    else if (d.height === 0) d.reason = 'not_shown';
    else if (s.source === 'screen' || pinned.has(s.publisherId)) {
      d.reason = 'pinned';
      d.forwarded = true;
    } else contenders.push(i);
  });
  sortByPlace(contenders, input.streams, placeOf(input.speakers, input.publishers));
  contenders.forEach((i, place) => {
    const d = decisions[i]!;
    d.forwarded = place < view.lastN;
    d.reason = d.forwarded && speakerRank.has(input.streams[i]!.publisherId) ? 'speaker' : 'last_n';
  });

  // Audio.
  const mics: number[] = [];
  input.streams.forEach((s, i) => {
    if (isVideo(s.source) || s.muted) return;
    const d = decisions[i]!;
    if (s.source === 'screenAudio' || input.levelless(s.publisherId)) d.forwarded = true;
    else mics.push(i);
  });
  sortByPlace(mics, input.streams, placeOf(input.audioOrder, input.publishers));
  for (const i of mics.slice(0, AUDIO_TOP_N)) decisions[i]!.forwarded = true;
  return decisions;
}
