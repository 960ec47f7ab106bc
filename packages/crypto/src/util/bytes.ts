/** Byte helpers shared by the crypto modules (no allocation unless stated). */

/** Largest value a KID or CTR may take: 2^64 - 1 (8-byte field in the header). */
export const MAX_U64 = 0xffff_ffff_ffff_ffffn;

/**
 * WebCrypto takes `BufferSource`, which (per WebIDL, no [AllowShared]) excludes views on a
 * SharedArrayBuffer. Our own buffers are always ArrayBuffer-backed; a caller's SAB-backed view is
 * copied. The cast is sound because of the check above it.
 */
const SAB: typeof SharedArrayBuffer | undefined =
  typeof SharedArrayBuffer === 'undefined' ? undefined : SharedArrayBuffer;

export function toBufferSource(u: Uint8Array): Uint8Array<ArrayBuffer> {
  if (SAB !== undefined && u.buffer instanceof SAB) {
    return new Uint8Array(u);
  }
  return u as Uint8Array<ArrayBuffer>;
}

/** Constant-time equality for equal-length tags (length itself is public). */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= (a[i] as number) ^ (b[i] as number);
  return diff === 0;
}

export function concatBytes(...parts: Uint8Array[]): Uint8Array<ArrayBuffer> {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Big-endian encoding of a non-negative bigint into exactly `len` bytes. */
export function bigintToBytes(v: bigint, len: number): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(len);
  let x = v;
  for (let i = len - 1; i >= 0; i--) {
    out[i] = Number(x & 0xffn);
    x >>= 8n;
  }
  return out;
}

const HEX = '0123456789abcdef';

export function toHex(u: Uint8Array): string {
  let s = '';
  for (let i = 0; i < u.length; i++) {
    const b = u[i] as number;
    s += (HEX[b >> 4] as string) + (HEX[b & 15] as string);
  }
  return s;
}

/** Strict hex decoding: even length, [0-9a-fA-F] only. Returns null on anything else. */
export function fromHex(s: string): Uint8Array<ArrayBuffer> | null {
  if (s.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(s)) return null;
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(s.slice(2 * i, 2 * i + 2), 16);
  return out;
}

export function toBase64(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

/** Standard base64 (with padding) to bytes; throws on characters outside the alphabet. */
export function fromBase64(b64: string): Uint8Array<ArrayBuffer> {
  const s = atob(b64);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}
