import { describe, expect, it } from 'vitest';
import {
  isVp8KeyFrameStart,
  parseVp8Descriptor,
  vp8Descriptor,
  vp8KeyFrameSize,
  type Vp8Descriptor,
} from '../src/index.js';

const bytes = (...b: number[]): Uint8Array => Uint8Array.from(b);

/** What a descriptor with no extension byte parses to, apart from the fields given. */
const plain = (over: Partial<Vp8Descriptor>): Vp8Descriptor => ({
  length: 1,
  partitionStart: false,
  partitionIndex: 0,
  frameStart: false,
  nonReference: false,
  pictureId: undefined,
  pictureIdBits: undefined,
  tl0PicIdx: undefined,
  tid: undefined,
  layerSync: undefined,
  keyIdx: undefined,
  ...over,
});

describe('VP8 payload descriptor', () => {
  it('reads the first byte: S, PID and N, and nothing optional without X', () => {
    expect(parseVp8Descriptor(bytes(0x10, 0x00))).toEqual(plain({ partitionStart: true, frameStart: true }));
    // S on a later partition: not a frame start.
    expect(parseVp8Descriptor(bytes(0x13, 0x00))).toEqual(plain({ partitionStart: true, partitionIndex: 3 }));
    // A continuation packet of a non-reference frame.
    expect(parseVp8Descriptor(bytes(0x20, 0xaa))).toEqual(plain({ nonReference: true }));
    // A descriptor alone (no payload byte after it) is complete.
    expect(parseVp8Descriptor(bytes(0x10))).toEqual(plain({ partitionStart: true, frameStart: true }));
  });

  it('reads a 7-bit and a 15-bit picture id', () => {
    const seven = parseVp8Descriptor(bytes(0x90, 0x80, 0x05, 0xff));
    expect(seven).toMatchObject({ length: 3, pictureId: 5, pictureIdBits: 7, tl0PicIdx: undefined });
    const fifteen = parseVp8Descriptor(bytes(0x90, 0x80, 0x81, 0x23, 0xff));
    expect(fifteen).toMatchObject({ length: 4, pictureId: 0x0123, pictureIdBits: 15 });
    expect(parseVp8Descriptor(bytes(0x90, 0x80, 0xff, 0xff))?.pictureId).toBe(0x7fff);
  });

  it('reads TL0PICIDX, TID with Y, and KEYIDX', () => {
    // X; I (15-bit), L, T, K: 1 + 1 + 2 + 1 + 1 bytes.
    const all = parseVp8Descriptor(bytes(0x90, 0xf0, 0x80, 0x07, 0x2a, 0b10_1_00110, 0x00));
    expect(all).toEqual(
      plain({
        length: 6,
        partitionStart: true,
        frameStart: true,
        pictureId: 7,
        pictureIdBits: 15,
        tl0PicIdx: 0x2a,
        tid: 2,
        layerSync: true,
        keyIdx: 6,
      }),
    );
    // T without K: KEYIDX is absent although its bits are in the byte.
    expect(parseVp8Descriptor(bytes(0x80, 0x20, 0b01_0_11111))).toMatchObject({
      length: 3,
      tid: 1,
      layerSync: false,
      keyIdx: undefined,
      pictureId: undefined,
      tl0PicIdx: undefined,
    });
    // K without T: TID and Y are absent.
    expect(parseVp8Descriptor(bytes(0x80, 0x10, 0b11_1_00011))).toMatchObject({
      length: 3,
      tid: undefined,
      layerSync: undefined,
      keyIdx: 3,
    });
    // L alone.
    expect(parseVp8Descriptor(bytes(0x80, 0x40, 0x09))).toMatchObject({ length: 3, tl0PicIdx: 9 });
    // X with no optional field: two bytes.
    expect(parseVp8Descriptor(bytes(0x90, 0x00, 0x00))?.length).toBe(2);
  });

  it('refuses truncated descriptors', () => {
    expect(parseVp8Descriptor(bytes())).toBeUndefined();
    expect(parseVp8Descriptor(bytes(0x90))).toBeUndefined(); // X without its byte
    expect(parseVp8Descriptor(bytes(0x90, 0x80))).toBeUndefined(); // I without the picture id
    expect(parseVp8Descriptor(bytes(0x90, 0x80, 0x81))).toBeUndefined(); // M without the low byte
    expect(parseVp8Descriptor(bytes(0x90, 0xc0, 0x05))).toBeUndefined(); // L without TL0PICIDX
    expect(parseVp8Descriptor(bytes(0x90, 0xe0, 0x81, 0x23, 0x05))).toBeUndefined(); // T without its byte
    expect(parseVp8Descriptor(bytes(0x90, 0x10))).toBeUndefined(); // K without its byte
  });
});

describe('VP8 key-frame detection', () => {
  it('reads the frame tag after 1-byte and extended descriptors', () => {
    expect(isVp8KeyFrameStart(bytes(0x10, 0x00))).toBe(true);
    expect(isVp8KeyFrameStart(bytes(0x10, 0x01))).toBe(false); // a delta frame
    expect(isVp8KeyFrameStart(bytes(0x00, 0x00))).toBe(false); // not a frame start
    expect(isVp8KeyFrameStart(bytes(0x11, 0x00))).toBe(false); // a later partition
    // X, I with a 15-bit picture id, then the key-frame tag.
    expect(isVp8KeyFrameStart(bytes(0x90, 0x80, 0x81, 0x23, 0x50))).toBe(true);
    expect(isVp8KeyFrameStart(bytes(0x90, 0x80, 0x81, 0x23, 0x51))).toBe(false);
    // X with I, L, T: the tag is the sixth byte.
    expect(isVp8KeyFrameStart(bytes(0x90, 0xe0, 0x81, 0x23, 0x05, 0x40, 0x00))).toBe(true);
  });

  it('is false on truncated input', () => {
    expect(isVp8KeyFrameStart(bytes())).toBe(false);
    expect(isVp8KeyFrameStart(bytes(0x90, 0xe0, 0x81))).toBe(false); // descriptor cut short
    expect(isVp8KeyFrameStart(bytes(0x10))).toBe(false); // no frame tag after the descriptor
    expect(isVp8KeyFrameStart(bytes(0x90, 0x80, 0x05))).toBe(false);
  });

  it('agrees with the descriptor parser on random payloads', () => {
    // The detection skips the descriptor without parsing it into an object: same answers.
    let seed = 7;
    const next = (): number => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) >> 16;
    for (let n = 0; n < 20_000; n++) {
      const p = Uint8Array.from({ length: next() % 8 }, () => next() & 0xff);
      if (n % 2 === 0 && p.length > 0) p[0] = (p[0]! & 0xe8) | 0x10; // often a frame start
      const d = parseVp8Descriptor(p);
      const tag = d?.frameStart ? p[d.length] : undefined;
      expect(isVp8KeyFrameStart(p)).toBe(tag !== undefined && (tag & 1) === 0);
    }
  });
});

/**
 * The first 10 bytes of frames made by a real encoder: Chromium 156's WebCodecs VP8 encoder
 * (libvpx), key frames at 320×180, 1280×720 and 642×362, and a delta frame of the first.
 */
const KEY_320x180 = [0x10, 0x18, 0x00, 0x9d, 0x01, 0x2a, 0x40, 0x01, 0xb4, 0x00];
const KEY_1280x720 = [0x90, 0xd2, 0x00, 0x9d, 0x01, 0x2a, 0x00, 0x05, 0xd0, 0x02];
const KEY_642x362 = [0xb0, 0x3a, 0x00, 0x9d, 0x01, 0x2a, 0x82, 0x02, 0x6a, 0x01];
const DELTA_320x180 = [0xb1, 0x02, 0x00, 0x07, 0x10, 0xe4, 0x00, 0x18, 0x00, 0x18];

describe('VP8 key-frame size', () => {
  it('reads width and height of real key frames after the descriptor', () => {
    expect(vp8KeyFrameSize(bytes(0x10, ...KEY_320x180, 0x01, 0xc7))).toEqual({ width: 320, height: 180 });
    expect(vp8KeyFrameSize(bytes(0x10, ...KEY_1280x720))).toEqual({ width: 1280, height: 720 });
    // An extended descriptor (X, I with a 15-bit picture id) as browsers send it.
    expect(vp8KeyFrameSize(bytes(0x90, 0x80, 0x81, 0x23, ...KEY_642x362, 0xff))).toEqual({
      width: 642,
      height: 362,
    });
  });

  it('ignores the 2 scaling bits above each 14-bit dimension', () => {
    const scaled = [...KEY_320x180];
    scaled[7] = scaled[7]! | 0xc0; // horizontal scale 3
    scaled[9] = scaled[9]! | 0x40; // vertical scale 1
    expect(vp8KeyFrameSize(bytes(0x10, ...scaled))).toEqual({ width: 320, height: 180 });
  });

  it('is undefined for delta frames, later packets, truncation and a wrong start code', () => {
    expect(vp8KeyFrameSize(bytes(0x10, ...DELTA_320x180))).toBeUndefined();
    expect(vp8KeyFrameSize(bytes(0x00, ...KEY_320x180))).toBeUndefined(); // not a frame start
    expect(vp8KeyFrameSize(bytes(0x11, ...KEY_320x180))).toBeUndefined(); // a later partition
    expect(vp8KeyFrameSize(bytes(0x10, ...KEY_320x180.slice(0, 9)))).toBeUndefined(); // cut short
    expect(vp8KeyFrameSize(bytes(0x90, 0x80))).toBeUndefined();
    expect(vp8KeyFrameSize(bytes())).toBeUndefined();
    const noStart = [...KEY_320x180];
    noStart[4] = 0x02;
    expect(vp8KeyFrameSize(bytes(0x10, ...noStart))).toBeUndefined();
    const zero = [...KEY_320x180];
    zero[8] = 0;
    zero[9] = 0;
    expect(vp8KeyFrameSize(bytes(0x10, ...zero))).toBeUndefined();
  });
});

describe('the descriptor the Node media peer writes', () => {
  it('marks the first packet of a frame and parses back', () => {
    expect(parseVp8Descriptor(bytes(vp8Descriptor(true), 0x00))).toEqual(
      plain({ partitionStart: true, frameStart: true }),
    );
    expect(parseVp8Descriptor(bytes(vp8Descriptor(false), 0x00))).toEqual(plain({}));
  });
});
