import { describe, expect, it } from 'vitest';
import { decodeHeader, encodeHeader, headerLength, SFrameError } from '../src/sframe/index.js';

const MAX = 2n ** 64n - 1n;

function hex(u: Uint8Array): string {
  return Buffer.from(u).toString('hex');
}

function bytes(h: string): Uint8Array {
  return new Uint8Array(Buffer.from(h, 'hex'));
}

function codeOf(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    if (e instanceof SFrameError) return e.code;
    throw e;
  }
  return undefined;
}

describe('SFrame header encoding', () => {
  it('encodes the four forms minimally', () => {
    expect(hex(encodeHeader(0n, 0n))).toBe('00');
    expect(hex(encodeHeader(7n, 7n))).toBe('77');
    expect(hex(encodeHeader(3n, 8n))).toBe('3808');
    expect(hex(encodeHeader(8n, 3n))).toBe('8308');
    expect(hex(encodeHeader(0x123n, 0x4567n))).toBe('990123' + '4567');
    expect(hex(encodeHeader(MAX, MAX))).toBe('ff' + 'ff'.repeat(16));
  });

  it('round-trips every byte-length boundary for KID and CTR', () => {
    const values = [0n, 1n, 7n, 8n, 255n, 256n];
    for (let b = 2n; b <= 8n; b++) values.push(2n ** (8n * b) - 1n, 2n ** (8n * (b - 1n)));
    for (const kid of values) {
      for (const ctr of values) {
        const h = encodeHeader(kid, ctr);
        expect(h.length).toBe(headerLength(kid, ctr));
        expect(decodeHeader(h)).toEqual({ kid, ctr, headerLength: h.length });
      }
    }
  });

  it('decodes at an offset and ignores trailing bytes', () => {
    const buf = bytes('aabb' + '990123' + '4567' + 'deadbeef');
    expect(decodeHeader(buf, 2)).toEqual({ kid: 0x123n, ctr: 0x4567n, headerLength: 5 });
  });

  it('rejects out-of-range values when encoding', () => {
    expect(codeOf(() => encodeHeader(-1n, 0n))).toBe('bad_input');
    expect(codeOf(() => encodeHeader(0n, MAX + 1n))).toBe('bad_input');
    expect(codeOf(() => encodeHeader(1 as unknown as bigint, 0n))).toBe('bad_input');
  });
});

describe('SFrame header decoding errors', () => {
  it('rejects empty and truncated headers', () => {
    expect(codeOf(() => decodeHeader(new Uint8Array(0)))).toBe('truncated_header');
    expect(codeOf(() => decodeHeader(bytes('99012345')))).toBe('truncated_header'); // CTR 1 byte short
    expect(codeOf(() => decodeHeader(bytes('ff' + 'ff'.repeat(15))))).toBe('truncated_header');
    expect(codeOf(() => decodeHeader(bytes('80')))).toBe('truncated_header');
    expect(codeOf(() => decodeHeader(bytes('00'), 1))).toBe('truncated_header');
  });

  it('gives a message that says how many bytes were missing', () => {
    expect(() => decodeHeader(bytes('9901'))).toThrow(/needs 5 bytes, only 2/);
  });

  it('rejects non-minimal encodings', () => {
    expect(codeOf(() => decodeHeader(bytes('8007')))).toBe('malformed_header'); // KID 7 extended
    expect(codeOf(() => decodeHeader(bytes('0800')))).toBe('malformed_header'); // CTR 0 extended
    expect(codeOf(() => decodeHeader(bytes('900010')))).toBe('malformed_header'); // leading zero KID
    expect(codeOf(() => decodeHeader(bytes('0f00000000000000ff')))).toBe('malformed_header');
  });

  it('rejects a bad offset', () => {
    expect(codeOf(() => decodeHeader(bytes('00'), -1))).toBe('bad_input');
    expect(codeOf(() => decodeHeader(bytes('00'), 0.5))).toBe('bad_input');
  });
});
