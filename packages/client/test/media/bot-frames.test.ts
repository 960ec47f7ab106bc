import { describe, expect, it } from 'vitest';
import { isVp8KeyFrameStart, vp8Descriptor, vp8KeyFrameSize } from '@conclave/rtc';
import { checkSyntheticFrame, syntheticFrame } from '../../src/node/bot.js';

describe("bots' synthetic VP8 frames", () => {
  it('carry a key-frame header the SFU reads a size from (as it does from a browser key frame)', () => {
    const key = syntheticFrame('bot', 'camera', 7, true);
    const payload = new Uint8Array([vp8Descriptor(true), ...key]);
    expect(isVp8KeyFrameStart(payload)).toBe(true);
    expect(vp8KeyFrameSize(payload)).toEqual({ width: 640, height: 480 });
    const delta = new Uint8Array([vp8Descriptor(true), ...syntheticFrame('bot', 'camera', 8, false)]);
    expect(isVp8KeyFrameStart(delta)).toBe(false);
    expect(vp8KeyFrameSize(delta)).toBeUndefined();
    expect(checkSyntheticFrame(key, 'camera')).toBe('bot');
  });
});
