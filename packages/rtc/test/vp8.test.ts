import { describe, expect, it } from 'vitest';
import { isVp8KeyFrameStart, parseVp8Descriptor, vp8Descriptor, type Vp8Descriptor } from '../src/index.js';

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
});

describe('the descriptor the Node media peer writes', () => {
  it('marks the first packet of a frame and parses back', () => {
    expect(parseVp8Descriptor(bytes(vp8Descriptor(true), 0x00))).toEqual(
      plain({ partitionStart: true, frameStart: true }),
    );
    expect(parseVp8Descriptor(bytes(vp8Descriptor(false), 0x00))).toEqual(plain({}));
  });
});
