/**
 * Simulcast layer choice. A publisher may send several encodings (rids) of one video stream;
 * each subscriber gets one. Layers are ranked by their measured bitrate (rid names are free-form,
 * so names say nothing about quality).
 */
export interface LayerView {
  rid: string;
  /** Smoothed bitrate in bytes per second. */
  rate: number;
  /** Packets arrived in the last measurement window. */
  active: boolean;
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
