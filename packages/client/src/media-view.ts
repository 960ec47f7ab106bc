import {
  mediaViewMessage,
  PROTOCOL_VERSION,
  type MediaViewFields,
  type ServerMessageOf,
  type ViewTile,
} from '@conclave/protocol';
import { ConclaveError } from './errors.js';

/**
 * What this participant shows, as the app describes it to `ConclaveClient.setView`: video of the
 * `lastN` most recent speakers (default 9) plus the `pinned` participants, each tile drawn
 * `height` device pixels tall (streams without a tile: `defaultHeight`, default 360). The SFU
 * forwards only that, at a simulcast layer that fits.
 */
export interface ViewRequest {
  lastN?: number;
  pinned?: readonly string[];
  tiles?: readonly ViewTile[];
  defaultHeight?: number;
}

/** A view after validation (`normalizeView`): every field present, pins and tiles in a canonical order. */
export type { MediaViewFields };

/**
 * What the SFU forwards to this participant and why (its `media_status` message): the meeting's
 * recent speakers (loudest first), whose audio is forwarded, per video stream whether it is
 * forwarded, at which simulcast layer and what limits it, and the SFU's estimate of this
 * participant's downlink (bits per second, loss fraction, round-trip time; null until known).
 */
export type ForwardingStatus = Omit<ServerMessageOf<'media_status'>, 'v' | 'type'>;

/** One video stream of a `ForwardingStatus`. */
export type ForwardedVideo = ForwardingStatus['video'][number];

/** At most one `media_view` per this many milliseconds (about 4 a second); the last view wins. */
export const VIEW_MIN_INTERVAL_MS = 250;

/**
 * Checks `view` against the protocol's schema and puts it in canonical form: defaults applied,
 * pins without repeats and sorted, one tile per stream (the tallest, when the app gave two) sorted
 * by participant and source. Two views that mean the same thing get the same form, so a repeat is
 * recognised and not sent. Throws `ConclaveError('bad_request')` naming the first wrong field.
 */
export function normalizeView(view: ViewRequest): MediaViewFields {
  const parsed = mediaViewMessage.safeParse({
    v: PROTOCOL_VERSION,
    type: 'media_view',
    lastN: view.lastN,
    pinned: view.pinned,
    tiles: view.tiles,
    defaultHeight: view.defaultHeight,
  });
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.length ? issue.path.join('.') : 'view';
    throw new ConclaveError('bad_request', `invalid media view: ${where}: ${issue?.message ?? 'invalid'}`);
  }
  const { lastN, pinned, tiles, defaultHeight } = parsed.data;
  const byStream = new Map<string, ViewTile>();
  for (const t of tiles) {
    const key = `${t.participantId}\u0000${t.source}`;
    const prev = byStream.get(key);
    if (!prev || t.height > prev.height) byStream.set(key, { ...t });
  }
  return {
    lastN,
    pinned: [...new Set(pinned)].sort(),
    tiles: [...byStream.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, t]) => t),
    defaultHeight,
  };
}

export interface ViewClock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const realClock: ViewClock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

/**
 * Sends the app's view to the server, coalesced: a view equal to the last one sent is not sent
 * again; views come at most once per `VIEW_MIN_INTERVAL_MS` and the latest one wins (a burst of
 * resizes sends its first and its last view). `resend` sends the current view at once whatever
 * was sent before: after every (re)join and `media_reset` the server holds no view of ours.
 */
export class ViewSender {
  private current: MediaViewFields | undefined;
  private currentKey: string | undefined;
  private sentKey: string | undefined;
  private lastSentAt = -Infinity;
  private timer: unknown;

  /** `send` returns false when nothing could go out (not joined, socket closed): `resend` will. */
  constructor(
    private readonly send: (view: MediaViewFields) => boolean,
    private readonly clock: ViewClock = realClock,
  ) {}

  /** The view last set (canonical form), if any. */
  get view(): MediaViewFields | undefined {
    return this.current;
  }

  /** Validates and records `view` (throws ConclaveError('bad_request')), then sends it when due. */
  set(view: ViewRequest): void {
    const next = normalizeView(view);
    this.current = next;
    this.currentKey = JSON.stringify(next);
    this.flush();
  }

  /** The server forgot our view (new session): the current one goes out now. */
  resend(): void {
    this.sentKey = undefined;
    this.cancelTimer();
    if (this.current) this.transmit();
  }

  /** Stops a pending send (the client is shutting down). The view itself is kept. */
  cancel(): void {
    this.cancelTimer();
  }

  private flush(): void {
    if (this.currentKey === this.sentKey) {
      // Back to what the server has: a pending send of an intermediate view is moot.
      this.cancelTimer();
      return;
    }
    if (this.timer !== undefined) return; // the timer sends the latest view
    const wait = this.lastSentAt + VIEW_MIN_INTERVAL_MS - this.clock.now();
    if (wait <= 0) {
      this.transmit();
      return;
    }
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      if (this.currentKey !== this.sentKey) this.transmit();
    }, wait);
  }

  private transmit(): void {
    const view = this.current;
    if (!view) return;
    if (!this.send(view)) return;
    this.sentKey = this.currentKey;
    this.lastSentAt = this.clock.now();
  }

  private cancelTimer(): void {
    if (this.timer === undefined) return;
    this.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }
}
