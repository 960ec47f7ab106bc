import { describe, expect, it } from 'vitest';
import {
  allocateLayers,
  layerForTile,
  layerHeights,
  rankLayers,
  type LayerView,
} from '../../src/sfu/worker/layer-policy.js';

/** The browsers' three encodings of a 720p camera (rids q, h, f; bytes per second). */
const q: LayerView = { rid: 'q', rate: 20_000, active: true, width: 320, height: 180 };
const h: LayerView = { rid: 'h', rate: 60_000, active: true, width: 640, height: 360 };
const f: LayerView = { rid: 'f', rate: 190_000, active: true, width: 1280, height: 720 };
const kbps = (l: LayerView) => l.rate * 8;

describe('layer ranking', () => {
  it('orders active layers by the height their key frames announce', () => {
    // A low-resolution layer may briefly send more (a key frame) than a higher one.
    const burst = { ...q, rate: 300_000 };
    expect(rankLayers([f, burst, h]).map((l) => l.rid)).toEqual(['q', 'h', 'f']);
    expect(rankLayers([f, { ...h, active: false }, q]).map((l) => l.rid)).toEqual(['q', 'f']);
  });

  it('falls back to bitrate, and assumed heights, until every size is known', () => {
    const unsized = { ...h, width: undefined, height: undefined };
    const ranked = rankLayers([f, unsized, { ...q, rate: 100_000 }]);
    expect(ranked.map((l) => l.rid)).toEqual(['h', 'q', 'f']);
    expect(layerHeights(ranked)).toEqual([180, 360, 720]);
    expect(layerHeights(rankLayers([q, h, f]))).toEqual([180, 360, 720]);
    expect(
      layerHeights(
        rankLayers([
          { ...q, height: 240 },
          { ...f, height: 480 },
        ]),
      ),
    ).toEqual([240, 480]);
  });
});

describe('layer for a tile', () => {
  const heights = [180, 360, 720];

  it('takes the smallest layer that covers the tile, the top one when none does', () => {
    expect(layerForTile(heights, 120, undefined)).toBe(0);
    expect(layerForTile(heights, 180, undefined)).toBe(0);
    expect(layerForTile(heights, 300, undefined)).toBe(1);
    expect(layerForTile(heights, 720, undefined)).toBe(2);
    expect(layerForTile(heights, 1440, undefined)).toBe(2);
    expect(layerForTile([360], 100, undefined)).toBe(0);
  });

  it('has a dead band so a tile a few pixels either side of a layer does not flip it', () => {
    // 380 px: the 360 layer is within 90 % — kept when current, chosen when coming from below.
    expect(layerForTile(heights, 380, 2)).toBe(2);
    expect(layerForTile(heights, 380, 1)).toBe(1);
    expect(layerForTile(heights, 380, 0)).toBe(1);
    // 350 px: covered by 360: a switch down from 720.
    expect(layerForTile(heights, 350, 2)).toBe(1);
    // 420 px: the 360 layer is under 90 %: up.
    expect(layerForTile(heights, 420, 1)).toBe(2);
    // Growing and shrinking around 370 px never flips once settled.
    let cur = layerForTile(heights, 370, undefined);
    for (const t of [365, 375, 362, 378, 370, 395]) {
      const next = layerForTile(heights, t, cur);
      expect(next).toBe(cur);
      cur = next;
    }
  });
});

describe('downlink budget across streams', () => {
  const rates = [kbps(q), kbps(h), kbps(f)]; // 160k, 480k, 1.52M

  it('gives every stream its tile’s layer without an estimate', () => {
    expect(
      allocateLayers(
        [
          { rates, desired: 2, current: undefined },
          { rates, desired: 0, current: undefined },
        ],
        null,
      ),
    ).toEqual([
      { layer: 2, limit: null },
      { layer: 0, limit: 'tile' },
    ]);
  });

  it('serves the first streams first, and every stream at least its lowest layer', () => {
    const three = [0, 1, 2].map(() => ({ rates, desired: 2, current: 2 }));
    // 2.3 Mbit/s: the first gets 720p, the others what is left (360p fits one of them).
    expect(allocateLayers(three, 2_300_000)).toEqual([
      { layer: 2, limit: null },
      { layer: 1, limit: 'bandwidth' },
      { layer: 0, limit: 'bandwidth' },
    ]);
    // Less than the lowest layers need: nobody is dropped.
    expect(allocateLayers(three, 100_000).map((a) => a.layer)).toEqual([0, 0, 0]);
    // A stream whose tile asks for less leaves the rest to the next ones.
    expect(
      allocateLayers(
        [
          { rates, desired: 0, current: 0 },
          { rates, desired: 2, current: 2 },
        ],
        1_700_000,
      ),
    ).toEqual([
      { layer: 0, limit: 'tile' },
      { layer: 2, limit: null },
    ]);
  });

  it('needs a margin to switch up but not to stay (no flapping on rate noise)', () => {
    const one = (current: number) => [{ rates, desired: 2, current }];
    // Just enough for 720p: kept when already on it, not taken from 360p.
    expect(allocateLayers(one(2), 1_560_000)[0]).toEqual({ layer: 2, limit: null });
    expect(allocateLayers(one(1), 1_560_000)[0]).toEqual({ layer: 1, limit: 'bandwidth' });
    expect(allocateLayers(one(1), 1_800_000)[0]).toEqual({ layer: 2, limit: null });
  });
});
