/**
 * Simulcast layer choice. A publisher may send several encodings (rids) of one video stream;
 * each subscriber gets one. rid names are free-form, so they say nothing about quality: layers
 * are ordered by the resolution their key frames announce (`vp8KeyFrameSize`, read from the
 * clear VP8 header), or by their measured bitrate until every layer's is known.
 *
 * Per subscriber (view-policy.ts): each forwarded video stream asks for the layer that fits its
 * tile (`layerForTile`); the subscriber's downlink budget then caps them (`allocateLayers`),
 * the most important streams first. The forwarder switches at the next key frame of the layer
 * (`chooseLayer`, forwarder.ts).
 */
export interface LayerView {
  rid: string;
  /** Smoothed bitrate in bytes per second. */
  rate: number;
  /** Packets arrived in the last measurement window. */
  active: boolean;
  /** Frame size announced by the layer's last key frame; undefined until one arrived. */
  width?: number | undefined;
  height?: number | undefined;
}

/** A challenger must beat the current layer's rate by this factor to take over (no flapping). */
const SWITCH_UP_FACTOR = 1.5;

/**
 * The layer a subscriber should receive: its preferred rid when that layer is active, otherwise
 * the highest-rate active layer. The current layer is kept unless it stopped or another layer is
 * clearly higher. Returns undefined when no layer is active.
 */
export function chooseLayer(
  layers: readonly LayerView[],
  current: string | undefined,
  preferred: string | null,
): string | undefined {
  const active = layers.filter((l) => l.active);
  if (active.length === 0) return current;
  if (preferred !== null && active.some((l) => l.rid === preferred)) return preferred;
  let best = active[0] as LayerView; // non-empty, checked above
  for (const l of active) if (l.rate > best.rate) best = l;
  const cur = active.find((l) => l.rid === current);
  if (cur && best.rid !== cur.rid && best.rate < cur.rate * SWITCH_UP_FACTOR) return cur.rid;
  return best.rid;
}

/** The active layers from lowest to highest: by height once every one's is known, else by rate. */
export function rankLayers(layers: readonly LayerView[]): LayerView[] {
  const active = layers.filter((l) => l.active);
  const sized = active.every((l) => l.height !== undefined);
  return active.sort((a, b) => (sized ? (a.height ?? 0) - (b.height ?? 0) : 0) || a.rate - b.rate);
}

/**
 * Heights assumed for layers whose resolution is not known yet (no key frame seen): the top
 * layer 720 pixels and each lower one half of the next, as the browsers' three encodings
 * (scaleResolutionDownBy 4, 2, 1) of a 720p camera.
 */
const ASSUMED_TOP_HEIGHT = 720;

/** The height of each ranked layer (lowest first): the announced ones, else the assumed ones. */
export function layerHeights(ranked: readonly LayerView[]): number[] {
  if (ranked.every((l) => l.height !== undefined)) return ranked.map((l) => l.height ?? 0);
  return ranked.map((_, i) => ASSUMED_TOP_HEIGHT / 2 ** (ranked.length - 1 - i));
}

/** A layer fits a tile for an up-switch when it is at least this share of the tile's height. */
const UP_FIT = 0.9;

/**
 * The layer (index into `heights`, lowest first) for a tile `tileHeight` pixels high: the
 * smallest layer at least as high as the tile, the top one when none is. Hysteresis around
 * `current`: it goes up only when it is under 90 % of the tile, and down only when a lower layer
 * covers the whole tile, so a tile that changes by a few pixels does not flip layers.
 */
export function layerForTile(
  heights: readonly number[],
  tileHeight: number,
  current: number | undefined,
): number {
  const top = heights.length - 1;
  if (top < 0) return 0;
  const first = (min: number): number => {
    const i = heights.findIndex((h) => h >= min);
    return i < 0 ? top : i;
  };
  const up = first(tileHeight * UP_FIT);
  const down = first(tileHeight);
  if (current === undefined || current > top) return up;
  if (current < up) return up;
  if (current > down) return down;
  return current;
}

export interface AllocationRequest {
  /** Bits per second of each ranked layer, lowest first (at least one). */
  rates: readonly number[];
  /** The layer the tile asks for (index). */
  desired: number;
  /** The layer forwarded now (index), if any. */
  current: number | undefined;
}

export interface Allocation {
  layer: number;
  /** What keeps it below its top layer: the downlink, the tile, or nothing. */
  limit: 'tile' | 'bandwidth' | null;
}

/** An up-switch must fit the budget with this margin (no flapping on rate noise). */
const UP_MARGIN = 1.15;

/**
 * Shares a downlink budget between a subscriber's forwarded video streams, given in priority
 * order (most important first). Every stream gets its lowest layer (a stream is never dropped
 * for bandwidth); then, in priority order, each is raised as far towards the layer its tile asks
 * for as the rest of the budget allows. `budgetBps` null: no estimate yet, every stream gets
 * what its tile asks for.
 */
export function allocateLayers(
  requests: readonly AllocationRequest[],
  budgetBps: number | null,
): Allocation[] {
  const limitOf = (r: AllocationRequest, layer: number): Allocation['limit'] =>
    layer < r.desired ? 'bandwidth' : layer < r.rates.length - 1 ? 'tile' : null;
  if (budgetBps === null) return requests.map((r) => ({ layer: r.desired, limit: limitOf(r, r.desired) }));
  let remaining = budgetBps;
  for (const r of requests) remaining -= r.rates[0] ?? 0;
  return requests.map((r) => {
    const base = r.rates[0] ?? 0;
    let layer = 0;
    for (let target = Math.min(r.desired, r.rates.length - 1); target > 0; target--) {
      const rate = r.rates[target] ?? 0;
      const needed = rate * (target > (r.current ?? 0) ? UP_MARGIN : 1) - base;
      if (needed <= remaining) {
        layer = target;
        remaining -= rate - base;
        break;
      }
    }
    return { layer, limit: limitOf(r, layer) };
  });
}
