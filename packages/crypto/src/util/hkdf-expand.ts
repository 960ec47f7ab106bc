/** RFC 5869 HKDF-Expand over a synchronous HMAC (`mac(key, data)`, output `hashLen` bytes). */
export function hkdfExpandSync(
  mac: (key: Uint8Array, data: Uint8Array) => Uint8Array,
  hashLen: number,
  prk: Uint8Array,
  info: Uint8Array,
  len: number,
): Uint8Array {
  if (len > 255 * hashLen) throw new Error('HKDF-Expand: length too large');
  const out = new Uint8Array(len);
  let t: Uint8Array = new Uint8Array(0);
  for (let i = 1, off = 0; off < len; i++) {
    const input = new Uint8Array(t.length + info.length + 1);
    input.set(t);
    input.set(info, t.length);
    input[input.length - 1] = i;
    t = mac(prk, input);
    out.set(t.subarray(0, Math.min(t.length, len - off)), off);
    off += t.length;
  }
  return out;
}
