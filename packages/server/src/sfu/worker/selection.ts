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
  lastN: number;
  pinned: readonly string[];
  tiles: readonly ViewTile[];
  defaultHeight: number;
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

/** One decision per stream of `input.streams`, in the same order. */
export function selectStreams(input: SelectionInput): StreamDecision[] {
  const { view } = input;
  const pinned = new Set(view.pinned);
  const tileHeight = new Map<string, number>();
  for (const t of view.tiles) tileHeight.set(`${t.participantId}/${t.source}`, t.height);
  const speakerRank = rankOf(input.speakers);
  const joinRank = rankOf(input.publishers);
  const heightOf = (s: StreamRef): number =>
    tileHeight.get(`${s.publisherId}/${s.source}`) ?? view.defaultHeight;

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
  const placeOf = (i: number): [number, number] => {
    const id = input.streams[i]!.publisherId;
    return [speakerRank.get(id) ?? Number.POSITIVE_INFINITY, joinRank.get(id) ?? Number.POSITIVE_INFINITY];
  };
  contenders.sort((a, b) => {
    const [sa, ja] = placeOf(a);
    const [sb, jb] = placeOf(b);
    return sa - sb || ja - jb || a - b;
  });
  contenders.forEach((i, place) => {
    const d = decisions[i]!;
    d.forwarded = place < view.lastN;
    d.reason = d.forwarded && speakerRank.has(input.streams[i]!.publisherId) ? 'speaker' : 'last_n';
  });

  // Audio.
  const audioRank = rankOf(input.audioOrder);
  const mics: number[] = [];
  input.streams.forEach((s, i) => {
    if (isVideo(s.source) || s.muted) return;
    const d = decisions[i]!;
    if (s.source === 'screenAudio' || input.levelless(s.publisherId)) d.forwarded = true;
    else mics.push(i);
  });
  const micRank = (i: number): [number, number] => {
    const id = input.streams[i]!.publisherId;
    return [audioRank.get(id) ?? Number.POSITIVE_INFINITY, joinRank.get(id) ?? Number.POSITIVE_INFINITY];
  };
  mics.sort((a, b) => {
    const [ra, ja] = micRank(a);
    const [rb, jb] = micRank(b);
    return ra - rb || ja - jb || a - b;
  });
  for (const i of mics.slice(0, AUDIO_TOP_N)) decisions[i]!.forwarded = true;
  return decisions;
}
