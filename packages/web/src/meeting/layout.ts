import { DEFAULT_LAST_N, MAX_VIEW_TILES, type ViewTile } from '@conclave/protocol';
import type { ForwardedVideo, ForwardingStatus, ViewRequest } from '@conclave/client';
import type { Layout, Person, RemoteStream, Stage, StageTile } from './snapshot.js';

/** Most video tiles the grid shows (the SFU's default last-N): a 3×3 grid of others. */
export const GRID_VIDEOS = DEFAULT_LAST_N;

/** The filmstrip always has room for at least this many videos next to the large tile. */
const MIN_FILMSTRIP_VIDEOS = 1;

/** Why a camera tile shows an avatar, from the SFU's reason (hover text, and for screen readers). */
const NOT_FORWARDED_TEXT: Record<ForwardedVideo['reason'], string> = {
  last_n: 'Not a recent speaker',
  not_shown: 'Not shown in this layout',
  muted: 'Camera off',
  // Forwarded reasons: the video is on its way.
  pinned: 'Connecting video…',
  speaker: 'Connecting video…',
};

/** A layer's name: the lowest is "low", the highest "high" (3 layers: low, medium, high). */
export function layerName(layer: number, layers: number): string {
  if (layers <= 1) return 'single';
  if (layer <= 0) return 'low';
  if (layer >= layers - 1) return 'high';
  return layers === 3 ? 'medium' : `layer ${layer + 1} of ${layers}`;
}

/** "low · bandwidth", "medium · tile size", "high": the indicator on a forwarded video tile. */
export function qualityText(v: ForwardedVideo | undefined): string | undefined {
  if (!v?.forwarded || v.layer === null || v.layers <= 1) return undefined;
  const name = layerName(v.layer, v.layers);
  if (v.limit === 'bandwidth') return `${name} · bandwidth`;
  if (v.limit === 'tile') return `${name} · tile size`;
  return name;
}

export interface StageInput {
  layout: Layout;
  /** Everyone this page lists (the SDK's people, with display fields). */
  people: Person[];
  remote: RemoteStream[];
  forwarding: ForwardingStatus | undefined;
  /** Participant ids pinned on this page, in the order they were pinned. */
  pins: readonly string[];
  /** This page's own guess from received audio levels (used until the SFU ranks speakers). */
  localSpeaker: string | undefined;
  /** The participant the large tile showed last time (it stays until someone else speaks). */
  previousMain: string | undefined;
  /** Speaker view: how many filmstrip tiles fit in its width (measured). */
  filmstripSlots: number;
}

function cameraTile(p: Person & { participantId: string }, input: StageInput): StageTile {
  const camera = input.remote.find((r) => r.participantId === p.participantId && r.source === 'camera');
  const forwarding = p.forwarding?.camera;
  const showVideo = camera?.flowing === true;
  let why: string | undefined;
  if (!showVideo) {
    if (!p.video) why = 'Camera off';
    else if (forwarding) why = NOT_FORWARDED_TEXT[forwarding.reason];
    else why = 'Connecting video…';
  }
  return {
    person: p,
    participantId: p.participantId,
    camera,
    forwarding,
    showVideo,
    why,
    quality: showVideo ? qualityText(forwarding) : undefined,
    pinned: input.pins.includes(p.participantId),
  };
}

/**
 * The speaker the large tile shows: the first pinned person still here; else the first of the
 * SFU's recent speakers (loudest first) whose video it forwards; else this page's own guess
 * from audio levels; else whoever it showed before; else the first person.
 */
function mainSpeaker(input: StageInput, others: readonly StageTile[]): StageTile | undefined {
  const byId = new Map(others.map((t) => [t.participantId, t]));
  for (const id of input.pins) {
    const t = byId.get(id);
    if (t) return t;
  }
  for (const id of input.forwarding?.speakers ?? []) {
    const t = byId.get(id);
    if (t?.forwarding?.forwarded) return t;
  }
  const guess = input.localSpeaker === undefined ? undefined : byId.get(input.localSpeaker);
  if (guess) return guess;
  return (input.previousMain === undefined ? undefined : byId.get(input.previousMain)) ?? others[0];
}

/**
 * Where everyone goes. Grid: screen shares, then the others (pinned first, in pin order, then
 * in the roster's order), video for up to `GRID_VIDEOS` of them. Speaker view: the large tile
 * (a screen share, else `mainSpeaker`) and a filmstrip of the rest, pinned first, then the SFU's
 * recent speakers in its order (the tiles in view are the ones that get video), then the others;
 * video for the large tile and the filmstrip slots that fit.
 */
export function arrangeStage(input: StageInput): Stage {
  const others = input.people
    .filter((p): p is Person & { participantId: string } => !p.isSelf && p.participantId !== undefined)
    .map((p) => cameraTile(p, input));
  const pinRank = (t: StageTile) => {
    const i = input.pins.indexOf(t.participantId);
    return i < 0 ? Infinity : i;
  };
  const byPins = [...others].sort((a, b) => pinRank(a) - pinRank(b));
  const screens = input.remote
    .filter((r) => r.source === 'screen' && r.kind === 'video' && r.flowing)
    .map((stream) => ({ participantId: stream.participantId, stream }));
  if (input.layout === 'grid') {
    return {
      layout: 'grid',
      main: undefined,
      screens,
      tiles: byPins,
      lastN: Math.min(others.length, GRID_VIDEOS),
    };
  }
  const [firstScreen, ...otherScreens] = screens;
  const speaker = firstScreen ? undefined : mainSpeaker(input, others);
  const speakerRank = new Map((input.forwarding?.speakers ?? []).map((id, i) => [id, i]));
  const rank = (t: StageTile) => speakerRank.get(t.participantId) ?? Infinity;
  const strip = byPins
    .filter((t) => t !== speaker)
    .sort((a, b) => pinRank(a) - pinRank(b) || rank(a) - rank(b));
  const slots = Math.max(MIN_FILMSTRIP_VIDEOS, input.filmstripSlots);
  return {
    layout: 'speaker',
    main: firstScreen
      ? { kind: 'screen', screen: firstScreen }
      : speaker
        ? { kind: 'person', tile: speaker }
        : undefined,
    screens: otherScreens,
    tiles: strip,
    lastN: Math.min(others.length, (speaker ? 1 : 0) + slots, MAX_VIEW_TILES),
  };
}

/**
 * The view this page sends the SFU (`ConclaveClient.setView`): the stage's `lastN`, the pins,
 * and every tile of someone else measured on screen (device pixels; `heights` is keyed
 * `participantId/source`).
 */
export function viewOf(
  stage: Stage,
  pins: readonly string[],
  heights: ReadonlyMap<string, number>,
): ViewRequest {
  const present = new Set(stage.tiles.map((t) => t.participantId));
  if (stage.main?.kind === 'person') present.add(stage.main.tile.participantId);
  const tiles: ViewTile[] = [];
  for (const [key, height] of heights) {
    const [participantId, source] = key.split('/');
    if (!participantId || (source !== 'camera' && source !== 'screen')) continue;
    tiles.push({ participantId, source, height: Math.max(0, Math.min(4320, Math.round(height))) });
  }
  return {
    lastN: Math.min(stage.lastN, MAX_VIEW_TILES),
    pinned: pins.filter((id) => present.has(id)).slice(0, MAX_VIEW_TILES),
    tiles: tiles.slice(0, MAX_VIEW_TILES * 2),
  };
}

/**
 * The view this page joins with, before it knows who is there: as many videos as the layout can
 * show (the grid's GRID_VIDEOS; the speaker view's large tile and filmstrip slots). The SFU's
 * first offer then carries no more than that; the first stage refines it.
 */
export function initialView(layout: Layout, filmstripSlots: number): ViewRequest {
  const lastN = layout === 'grid' ? GRID_VIDEOS : 1 + Math.max(MIN_FILMSTRIP_VIDEOS, filmstripSlots);
  return { lastN: Math.min(lastN, MAX_VIEW_TILES) };
}

/** The key of a tile's measured height (see `viewOf`). */
export function tileKey(participantId: string, source: 'camera' | 'screen'): string {
  return `${participantId}/${source}`;
}
