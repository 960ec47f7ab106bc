/**
 * SFrame key and salt derivation (RFC 9605 §4.4.2):
 *
 *   sframe_secret = HKDF-Extract("", base_key)
 *   sframe_key    = HKDF-Expand(sframe_secret, "SFrame 1.0 Secret key "  || KID_8 || suite_2, Nk)
 *   sframe_salt   = HKDF-Expand(sframe_secret, "SFrame 1.0 Secret salt " || KID_8 || suite_2, Nn)
 *
 * KID is an 8-byte big-endian integer here (not the compact header form), the suite id is 2 bytes
 * big-endian, and the hash is the suite's.
 *
 * HKDF is built from HMAC (node:crypto in Node, WebCrypto HMAC in browsers: `hmacSigner`) rather
 * than WebCrypto's HKDF algorithm because (a) the vectors check the intermediate sframe_secret,
 * which WebCrypto's HKDF never exposes, and (b) WebCrypto refuses zero-length HMAC keys. The
 * empty extract salt is therefore passed as Nh zero bytes, which is the same HMAC key: HMAC pads
 * keys with zeros to the block size (RFC 2104), and
 * RFC 5869 §2.2 specifies exactly this default.
 *
 * Derivation runs once per (KID, base_key), never per frame.
 */
import { importAeadKey, type AeadKey } from './aead.js';
import { MAX_U64, concatBytes } from '../util/bytes.js';
import { hmacSigner } from '../util/node-crypto.js';
import { SFrameError } from './errors.js';
import { getSuite, type SFrameHash, type SFrameSuite } from './suites.js';

/** What a sender or a receiver keeps per KID. */
export interface DerivedKey {
  readonly suite: SFrameSuite;
  readonly kid: bigint;
  /** sframe_key (raw; for CTR+HMAC suites the compound enc_key || auth_key). */
  readonly key: Uint8Array<ArrayBuffer>;
  /** sframe_salt, Nn bytes, XORed with the CTR to form each nonce. */
  readonly salt: Uint8Array<ArrayBuffer>;
  /** The imported, non-extractable CryptoKey(s) used per frame. */
  readonly aead: AeadKey;
}

/** Raw derivation outputs, including the intermediate secret (used by the vectors). */
export interface KeyMaterial {
  readonly secret: Uint8Array<ArrayBuffer>;
  readonly keyLabel: Uint8Array<ArrayBuffer>;
  readonly saltLabel: Uint8Array<ArrayBuffer>;
  readonly key: Uint8Array<ArrayBuffer>;
  readonly salt: Uint8Array<ArrayBuffer>;
}

const KEY_LABEL_PREFIX = new TextEncoder().encode('SFrame 1.0 Secret key ');
const SALT_LABEL_PREFIX = new TextEncoder().encode('SFrame 1.0 Secret salt ');

function label(prefix: Uint8Array, kid: bigint, suiteId: number): Uint8Array<ArrayBuffer> {
  if (typeof kid !== 'bigint' || kid < 0n || kid > MAX_U64) {
    throw new SFrameError('bad_input', `SFrame KID must be a bigint in [0, 2^64-1], got ${String(kid)}`);
  }
  const out = new Uint8Array(prefix.length + 10);
  out.set(prefix);
  const view = new DataView(out.buffer);
  view.setBigUint64(prefix.length, kid, false);
  view.setUint16(prefix.length + 8, suiteId, false);
  return out;
}

export function sframeKeyLabel(kid: bigint, suiteId: number): Uint8Array<ArrayBuffer> {
  return label(KEY_LABEL_PREFIX, kid, suiteId);
}

export function sframeSaltLabel(kid: bigint, suiteId: number): Uint8Array<ArrayBuffer> {
  return label(SALT_LABEL_PREFIX, kid, suiteId);
}

async function hmac(hash: SFrameHash, key: Uint8Array, data: Uint8Array): Promise<Uint8Array<ArrayBuffer>> {
  return (await hmacSigner(hash, key))(data);
}

function hashLength(hash: SFrameHash): number {
  return hash === 'SHA-256' ? 32 : 64;
}

/** HKDF-Extract(salt, ikm) (RFC 5869 §2.2); an empty salt means HashLen zero bytes. */
export async function hkdfExtract(
  hash: SFrameHash,
  salt: Uint8Array,
  ikm: Uint8Array,
): Promise<Uint8Array<ArrayBuffer>> {
  const s = salt.length === 0 ? new Uint8Array(hashLength(hash)) : salt;
  return hmac(hash, s, ikm);
}

/** HKDF-Expand(prk, info, length) (RFC 5869 §2.3). */
export async function hkdfExpand(
  hash: SFrameHash,
  prk: Uint8Array,
  info: Uint8Array,
  length: number,
): Promise<Uint8Array<ArrayBuffer>> {
  const hl = hashLength(hash);
  if (!Number.isInteger(length) || length < 0 || length > 255 * hl) {
    throw new SFrameError('bad_input', `HKDF-Expand length ${length} out of range`);
  }
  const mac = await hmacSigner(hash, prk);
  const out = new Uint8Array(length);
  let prev = new Uint8Array(0);
  for (let i = 1, o = 0; o < length; i++) {
    prev = await mac(concatBytes(prev, info, Uint8Array.of(i)));
    out.set(prev.subarray(0, Math.min(hl, length - o)), o);
    o += hl;
  }
  return out;
}

function resolveSuite(suite: number | SFrameSuite): SFrameSuite {
  return typeof suite === 'number' ? getSuite(suite) : suite;
}

/** derive_key_salt, returning every intermediate value. */
export async function deriveKeyMaterial(
  suite: number | SFrameSuite,
  kid: bigint,
  baseKey: Uint8Array,
): Promise<KeyMaterial> {
  const s = resolveSuite(suite);
  if (!(baseKey instanceof Uint8Array) || baseKey.length === 0) {
    throw new SFrameError('bad_input', 'SFrame base_key must be a non-empty Uint8Array');
  }
  const keyLabel = sframeKeyLabel(kid, s.id);
  const saltLabel = sframeSaltLabel(kid, s.id);
  const secret = await hkdfExtract(s.hash, new Uint8Array(0), baseKey);
  const [key, salt] = await Promise.all([
    hkdfExpand(s.hash, secret, keyLabel, s.Nk),
    hkdfExpand(s.hash, secret, saltLabel, s.Nn),
  ]);
  return { secret, keyLabel, saltLabel, key, salt };
}

/** Wraps an already-derived sframe_key / sframe_salt (e.g. from the vectors) with imported keys. */
export async function importDerivedKey(
  suite: number | SFrameSuite,
  kid: bigint,
  key: Uint8Array,
  salt: Uint8Array,
): Promise<DerivedKey> {
  const s = resolveSuite(suite);
  if (salt.length !== s.Nn) {
    throw new SFrameError('bad_input', `${s.name} salt must be ${s.Nn} bytes, got ${salt.length}`);
  }
  const aead = await importAeadKey(s, key);
  return Object.freeze({ suite: s, kid, key: new Uint8Array(key), salt: new Uint8Array(salt), aead });
}

/** Derives and imports everything needed to protect / unprotect frames for one KID. */
export async function deriveSFrameKey(
  suite: number | SFrameSuite,
  kid: bigint,
  baseKey: Uint8Array,
): Promise<DerivedKey> {
  const m = await deriveKeyMaterial(suite, kid, baseKey);
  m.secret.fill(0);
  return importDerivedKey(suite, kid, m.key, m.salt);
}
