import { describe, expect, it } from 'vitest';
import { parseVp8Descriptor } from '@conclave/rtc';
import { FrameAssembler, RtpFramer, VP8_MAX_SLICE, syntheticVp8Frame } from '../../src/media/index.js';

describe('RtpFramer + FrameAssembler', () => {
  it('splits a VP8 frame into descriptor-prefixed slices and puts it back together', () => {
    const framer = new RtpFramer('vp8', 90_000);
    const frame = syntheticVp8Frame(5000, true, 3);
    const ts = framer.nextTimestamp();
    const plans = framer.packetize(frame, ts);
    expect(plans.length).toBe(Math.ceil(5000 / VP8_MAX_SLICE));
    expect(plans.every((p) => p.payload.length <= VP8_MAX_SLICE + 1 && p.timestamp === ts)).toBe(true);
    expect(plans.map((p) => p.marker)).toEqual(plans.map((_, i) => i === plans.length - 1));
    expect(plans.map((p) => parseVp8Descriptor(p.payload)?.frameStart)).toEqual(plans.map((_, i) => i === 0));
    for (let i = 1; i < plans.length; i++)
      expect(plans[i]?.sequenceNumber).toBe(((plans[i - 1]?.sequenceNumber ?? 0) + 1) & 0xffff);

    const asm = new FrameAssembler('vp8');
    const shuffled = [...plans].reverse();
    const out = shuffled
      .map((p) => asm.push(p.sequenceNumber, p.timestamp, p.marker, p.payload))
      .filter((f) => f !== undefined);
    expect(out).toHaveLength(1);
    expect(out[0]?.frame).toEqual(frame);
    expect(out[0]?.rtpTimestamp).toBe(ts);
  });

  it('drops incomplete frames and never delivers an older frame after a newer one', () => {
    const framer = new RtpFramer('vp8', 90_000);
    const asm = new FrameAssembler('vp8');
    const a = framer.packetize(syntheticVp8Frame(3000, true, 1), framer.nextTimestamp(1000));
    const b = framer.packetize(syntheticVp8Frame(3000, false, 2), framer.nextTimestamp(4000));
    const feed = (p: (typeof a)[number] | undefined) =>
      p ? asm.push(p.sequenceNumber, p.timestamp, p.marker, p.payload) : undefined;
    feed(a[0]); // a is missing its other packets
    const done = b.map(feed).filter((f) => f !== undefined);
    expect(done.map((f) => f.rtpTimestamp)).toEqual([4000]);
    expect(
      a
        .slice(1)
        .map(feed)
        .filter((f) => f !== undefined),
    ).toHaveLength(0); // too late now
  });

  it('keeps wall-clock timestamps strictly increasing', () => {
    const framer = new RtpFramer('opus', 48_000);
    const ts = Array.from({ length: 100 }, () => framer.nextTimestamp());
    for (let i = 1; i < ts.length; i++) expect(((ts[i] ?? 0) - (ts[i - 1] ?? 0)) >>> 0 > 0).toBe(true);
    expect(framer.packetize(Uint8Array.from([1, 2, 3]), 5)).toHaveLength(1);
  });

  it('reassembles a frame whose packets carry an extended descriptor', () => {
    // X, I (7-bit picture id), L, T: four descriptor bytes before each slice.
    const slices = [Uint8Array.from([0x10, 1, 2]), Uint8Array.from([3, 4])];
    const asm = new FrameAssembler('vp8');
    const first = Buffer.from([0x90, 0xe0, 0x05, 0x07, 0x40, ...slices[0]!]);
    const last = Buffer.from([0x80, 0xe0, 0x05, 0x07, 0x40, ...slices[1]!]);
    expect(asm.push(10, 900, false, first)).toBeUndefined();
    expect(asm.push(11, 900, true, last)?.frame).toEqual(Uint8Array.from([0x10, 1, 2, 3, 4]));
  });
});
