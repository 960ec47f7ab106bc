/**
 * SFrame header encoding (RFC 9605 §4.3).
 *
 *   config byte: |X|  K  |Y|  C  |  then KID bytes (if X) then CTR bytes (if Y)
 *
 * Values 0..7 are carried inline in K / C with the flag clear; larger values are written
 * big-endian in the minimum number of bytes (1..8) and K / C hold `length - 1`.
 *
 * Decoding is strict: a non-minimal encoding (extended form for a value < 8, or a leading zero
 * byte) is rejected as 'malformed_header'. The RFC makes minimal encoding a MUST, and rejecting
 * alternatives means one (KID, CTR) pair has exactly one header, so nothing downstream (replay
 * window, logging) can be confused by two spellings of the same frame.
 */
import { MAX_U64 } from '../util/bytes.js';
import { SFrameError } from './errors.js';

export interface DecodedHeader {
  kid: bigint;
  ctr: bigint;
  /** Number of bytes the header occupies, starting at the decode offset. */
  headerLength: number;
}

/** Bytes needed after the config byte for a value: 0 when it fits inline (< 8), else 1..8. */
function valueLength(v: bigint): number {
  if (v < 8n) return 0;
  if (v <= 0xffn) return 1;
  if (v <= 0xffffn) return 2;
  if (v <= 0xff_ffffn) return 3;
  if (v <= 0xffff_ffffn) return 4;
  if (v <= 0xff_ffff_ffffn) return 5;
  if (v <= 0xffff_ffff_ffffn) return 6;
  if (v <= 0xff_ffff_ffff_ffffn) return 7;
  return 8;
}

function checkRange(name: string, v: bigint): void {
  if (typeof v !== 'bigint' || v < 0n || v > MAX_U64) {
    throw new SFrameError('bad_input', `SFrame ${name} must be a bigint in [0, 2^64-1], got ${String(v)}`);
  }
}

/** Total encoded header length for (kid, ctr). */
export function headerLength(kid: bigint, ctr: bigint): number {
  return 1 + valueLength(kid) + valueLength(ctr);
}

/** Writes `len` big-endian bytes of v at out[off..]. Splits into two 32-bit halves so the
 * per-byte work is plain number arithmetic rather than bigint shifts. */
function writeValue(out: Uint8Array, off: number, v: bigint, len: number): void {
  let lo = Number(v & 0xffff_ffffn);
  let hi = len > 4 ? Number(v >> 32n) : 0;
  for (let i = off + len - 1; i >= off; i--) {
    out[i] = lo & 0xff;
    lo = (lo >>> 8) | ((hi & 0xff) << 24);
    hi >>>= 8;
  }
}

/**
 * Writes the header for (kid, ctr) at out[offset..] and returns its length. The caller guarantees
 * room (see headerLength) and range (the hot path in context.ts validates once per key / counter).
 */
export function writeHeader(out: Uint8Array, offset: number, kid: bigint, ctr: bigint): number {
  // Fast path: both inline, a single config byte (typical for small groups at stream start).
  if (kid < 8n && ctr < 8n) {
    out[offset] = (Number(kid) << 4) | Number(ctr);
    return 1;
  }
  const kl = valueLength(kid);
  const cl = valueLength(ctr);
  const k = kl === 0 ? Number(kid) << 4 : 0x80 | ((kl - 1) << 4);
  const c = cl === 0 ? Number(ctr) : 0x08 | (cl - 1);
  out[offset] = k | c;
  if (kl > 0) writeValue(out, offset + 1, kid, kl);
  if (cl > 0) writeValue(out, offset + 1 + kl, ctr, cl);
  return 1 + kl + cl;
}

/** Minimal SFrame header for (kid, ctr). Throws 'bad_input' for values outside [0, 2^64-1]. */
export function encodeHeader(kid: bigint, ctr: bigint): Uint8Array<ArrayBuffer> {
  checkRange('KID', kid);
  checkRange('CTR', ctr);
  const out = new Uint8Array(headerLength(kid, ctr));
  writeHeader(out, 0, kid, ctr);
  return out;
}

function readValue(buf: Uint8Array, off: number, len: number, name: string): bigint {
  // Reject a leading zero byte: the value would fit in fewer bytes (or inline).
  if (buf[off] === 0) {
    throw new SFrameError(
      'malformed_header',
      `SFrame header: non-minimal ${name} encoding (leading zero byte)`,
    );
  }
  let hi = 0;
  let lo = 0;
  for (let i = 0; i < len; i++) {
    hi = ((hi << 8) | (lo >>> 24)) >>> 0;
    lo = ((lo << 8) | (buf[off + i] as number)) >>> 0;
  }
  const v = len > 4 ? (BigInt(hi) << 32n) | BigInt(lo) : BigInt(lo);
  if (v < 8n) {
    throw new SFrameError('malformed_header', `SFrame header: ${name} ${v} must be encoded inline`);
  }
  return v;
}

/**
 * Parses the SFrame header at buf[offset..]. Throws SFrameError 'truncated_header' when the
 * buffer ends inside the header, 'malformed_header' for non-minimal encodings, 'bad_input' for a
 * bad offset.
 */
export function decodeHeader(buf: Uint8Array, offset = 0): DecodedHeader {
  if (!Number.isInteger(offset) || offset < 0) {
    throw new SFrameError('bad_input', `SFrame header: invalid offset ${offset}`);
  }
  const config = buf[offset];
  if (config === undefined) {
    throw new SFrameError('truncated_header', 'SFrame header: empty input, missing config byte');
  }
  const x = (config & 0x80) !== 0;
  const k = (config >> 4) & 0x07;
  const y = (config & 0x08) !== 0;
  const c = config & 0x07;
  const kl = x ? k + 1 : 0;
  const cl = y ? c + 1 : 0;
  const total = 1 + kl + cl;
  if (buf.length - offset < total) {
    throw new SFrameError(
      'truncated_header',
      `SFrame header: needs ${total} bytes, only ${buf.length - offset} available`,
    );
  }
  const kid = x ? readValue(buf, offset + 1, kl, 'KID') : BigInt(k);
  const ctr = y ? readValue(buf, offset + 1 + kl, cl, 'CTR') : BigInt(c);
  return { kid, ctr, headerLength: total };
}
