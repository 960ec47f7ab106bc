/**
 * AEAD layer for SFrame: WebCrypto (browsers, workers), and node:crypto for AES-GCM in Node.
 *
 * - AES-GCM suites: SubtleCrypto AES-GCM with tagLength = 8 * Nt. In Node, node:crypto's
 *   AES-GCM instead, synchronous: a WebCrypto call there is one thread-pool job per frame
 *   (≈ 30 µs of overhead for 1 µs of AES), and a process that decrypts thousands of frames a
 *   second (the load tool's bots) queues every other WebCrypto call behind them.
 * - AES-CTR + HMAC suites (RFC 9605 §4.5.1): encrypt-then-MAC.
 *     enc_key = key[..Nka], auth_key = key[Nka..]
 *     ct  = AES-CTR(enc_key, counter block = nonce || 0x00000000, pt)   (32-bit block counter)
 *     tag = HMAC(auth_key, len(aad)_8 || len(ct)_8 || Nt_8 || nonce || aad || ct)[..Nt]
 *   The tag is checked in constant time before anything is decrypted.
 */
import { constantTimeEqual, toBufferSource } from '../util/bytes.js';
import { gcmOpen, gcmSeal, nodeCrypto, type NodeKey } from '../util/node-crypto.js';
import { SFrameError } from './errors.js';
import type { CtrHmacSuite, GcmSuite, SFrameSuite } from './suites.js';

export type AeadKey =
  | { readonly kind: 'aes-gcm'; readonly suite: GcmSuite; readonly key: CryptoKey }
  | { readonly kind: 'aes-gcm-node'; readonly suite: GcmSuite; readonly key: NodeKey }
  | {
      readonly kind: 'aes-ctr-hmac';
      readonly suite: CtrHmacSuite;
      readonly encKey: CryptoKey;
      readonly authKey: CryptoKey;
    };

function subtle(): SubtleCrypto {
  const s = globalThis.crypto?.subtle;
  if (!s) throw new SFrameError('bad_input', 'WebCrypto (globalThis.crypto.subtle) is not available');
  return s;
}

/** RFC 9605 §4.5.1 derive_subkeys: first Nka bytes encrypt, remaining Nh bytes authenticate. */
export function splitCtrHmacKey(
  suite: CtrHmacSuite,
  key: Uint8Array,
): { encKey: Uint8Array<ArrayBuffer>; authKey: Uint8Array<ArrayBuffer> } {
  if (key.length !== suite.Nka + suite.Nh) {
    throw new SFrameError(
      'bad_input',
      `${suite.name} key must be ${suite.Nka + suite.Nh} bytes, got ${key.length}`,
    );
  }
  // Explicit copies: `slice` on a Node Buffer (a Uint8Array subclass) would return a view.
  return {
    encKey: new Uint8Array(key.subarray(0, suite.Nka)),
    authKey: new Uint8Array(key.subarray(suite.Nka)),
  };
}

/** Which implementation `importAeadKey` binds a key to; `node` exists only in Node (AES-GCM suites). */
export type AeadBackend = 'webcrypto' | 'node';

/** node:crypto for the AES-GCM suites where it exists, else WebCrypto. */
export function defaultAeadBackend(): AeadBackend {
  return nodeCrypto() ? 'node' : 'webcrypto';
}

/**
 * Imports the AEAD key (sframe_key) once (WebCrypto: non-extractable). Per-frame code only ever
 * uses the resulting key object(s).
 */
export async function importAeadKey(
  suite: SFrameSuite,
  key: Uint8Array,
  backend: AeadBackend = defaultAeadBackend(),
): Promise<AeadKey> {
  if (suite.kind === 'aes-gcm') {
    if (key.length !== suite.Nk) {
      throw new SFrameError('bad_input', `${suite.name} key must be ${suite.Nk} bytes, got ${key.length}`);
    }
    const node = backend === 'node' ? nodeCrypto() : undefined;
    // (Both GCM suites have a 16-byte tag, what gcmSeal writes.)
    if (node && suite.Nt === 16)
      return { kind: 'aes-gcm-node', suite, key: node.createSecretKey(key.slice()) };
    const k = await subtle().importKey('raw', toBufferSource(key), { name: 'AES-GCM' }, false, [
      'encrypt',
      'decrypt',
    ]);
    return { kind: 'aes-gcm', suite, key: k };
  }
  const { encKey, authKey } = splitCtrHmacKey(suite, key);
  const [e, a] = await Promise.all([
    subtle().importKey('raw', encKey, { name: 'AES-CTR' }, false, ['encrypt', 'decrypt']),
    subtle().importKey('raw', authKey, { name: 'HMAC', hash: suite.hash }, false, ['sign']),
  ]);
  encKey.fill(0);
  authKey.fill(0);
  return { kind: 'aes-ctr-hmac', suite, encKey: e, authKey: a };
}

/**
 * AES-GCM parameters. tagLength is omitted when it is the 128-bit default (both GCM suites):
 * every extra dictionary member costs WebIDL conversion time on each call (measurable in Node).
 */
function gcmParams(suite: GcmSuite, nonce: Uint8Array, aad: Uint8Array): AesGcmParams {
  const params: AesGcmParams = { name: 'AES-GCM', iv: toBufferSource(nonce) };
  if (aad.length > 0) params.additionalData = toBufferSource(aad);
  if (suite.Nt !== 16) params.tagLength = suite.Nt * 8;
  return params;
}

/** A GCM suite's key length (AES-128 or AES-256). */
const gcmKeyBytes = (suite: GcmSuite): 16 | 32 => (suite.Nk === 32 ? 32 : 16);

/** nonce || 0x00000000: the 16-byte initial AES-CTR counter block. */
function counterBlock(nonce: Uint8Array): Uint8Array<ArrayBuffer> {
  const block = new Uint8Array(16);
  block.set(nonce);
  return block;
}

function writeU64(out: Uint8Array, off: number, v: number): void {
  // Lengths here are < 2^53, so split into two 32-bit halves with plain arithmetic.
  const hi = Math.floor(v / 0x1_0000_0000);
  const lo = v >>> 0;
  out[off] = hi >>> 24;
  out[off + 1] = (hi >>> 16) & 0xff;
  out[off + 2] = (hi >>> 8) & 0xff;
  out[off + 3] = hi & 0xff;
  out[off + 4] = lo >>> 24;
  out[off + 5] = (lo >>> 16) & 0xff;
  out[off + 6] = (lo >>> 8) & 0xff;
  out[off + 7] = lo & 0xff;
}

async function computeTag(
  suite: CtrHmacSuite,
  authKey: CryptoKey,
  nonce: Uint8Array,
  aad: Uint8Array,
  ct: Uint8Array,
): Promise<Uint8Array<ArrayBuffer>> {
  const authData = new Uint8Array(24 + nonce.length + aad.length + ct.length);
  writeU64(authData, 0, aad.length);
  writeU64(authData, 8, ct.length);
  writeU64(authData, 16, suite.Nt);
  let o = 24;
  authData.set(nonce, o);
  o += nonce.length;
  authData.set(aad, o);
  o += aad.length;
  authData.set(ct, o);
  const mac = await subtle().sign('HMAC', authKey, authData);
  return new Uint8Array(mac, 0, suite.Nt);
}

/** AEAD.Encrypt(key, nonce, aad, pt) → ct || tag. */
export async function aeadEncrypt(
  key: AeadKey,
  nonce: Uint8Array,
  aad: Uint8Array,
  pt: Uint8Array,
): Promise<Uint8Array<ArrayBuffer>> {
  if (key.kind === 'aes-gcm-node')
    return gcmSeal(nodeCrypto()!, key.key, gcmKeyBytes(key.suite), nonce, aad, pt);
  if (key.kind === 'aes-gcm') {
    const ct = await subtle().encrypt(gcmParams(key.suite, nonce, aad), key.key, toBufferSource(pt));
    return new Uint8Array(ct);
  }
  const { suite } = key;
  const ctBuf = await subtle().encrypt(
    { name: 'AES-CTR', counter: counterBlock(nonce), length: 32 },
    key.encKey,
    toBufferSource(pt),
  );
  const ct = new Uint8Array(ctBuf);
  const tag = await computeTag(suite, key.authKey, nonce, aad, ct);
  const out = new Uint8Array(ct.length + suite.Nt);
  out.set(ct);
  out.set(tag, ct.length);
  return out;
}

/** AEAD.Decrypt(key, nonce, aad, ct || tag) → pt. Throws SFrameError('auth_failed'). */
export async function aeadDecrypt(
  key: AeadKey,
  nonce: Uint8Array,
  aad: Uint8Array,
  ct: Uint8Array,
): Promise<Uint8Array<ArrayBuffer>> {
  const { suite } = key;
  if (ct.length < suite.Nt) {
    throw new SFrameError('auth_failed', `SFrame ciphertext shorter than the ${suite.Nt}-byte tag`);
  }
  if (key.kind === 'aes-gcm-node') {
    try {
      return gcmOpen(nodeCrypto()!, key.key, gcmKeyBytes(key.suite), nonce, aad, ct);
    } catch (e) {
      throw new SFrameError('auth_failed', 'SFrame authentication failed', { cause: e });
    }
  }
  if (key.kind === 'aes-gcm') {
    let pt: ArrayBuffer;
    try {
      pt = await subtle().decrypt(gcmParams(key.suite, nonce, aad), key.key, toBufferSource(ct));
    } catch (e) {
      throw new SFrameError('auth_failed', 'SFrame authentication failed', { cause: e });
    }
    return new Uint8Array(pt);
  }
  const innerLen = ct.length - suite.Nt;
  const inner = ct.subarray(0, innerLen);
  const tag = ct.subarray(innerLen);
  const candidate = await computeTag(key.suite, key.authKey, nonce, aad, inner);
  if (!constantTimeEqual(tag, candidate)) {
    throw new SFrameError('auth_failed', 'SFrame authentication failed');
  }
  const pt = await subtle().decrypt(
    { name: 'AES-CTR', counter: counterBlock(nonce), length: 32 },
    key.encKey,
    toBufferSource(inner),
  );
  return new Uint8Array(pt);
}
