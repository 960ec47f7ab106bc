import { hmac } from '@noble/hashes/hmac.js';
import { sha256, sha384, sha512 } from '@noble/hashes/sha2.js';
import { constantTimeEqual, toBufferSource } from '../util/bytes.js';
import {
  getCiphersuiteFromName,
  getCiphersuiteImpl,
  type CiphersuiteImpl,
  type CiphersuiteName,
} from './ts-mls.js';

/** MLS cipher suite 1: X25519 + AES-128-GCM + SHA-256 + Ed25519. */
export const DEFAULT_MLS_SUITE: CiphersuiteName = 'MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519';

const cache = new Map<CiphersuiteName, Promise<CiphersuiteImpl>>();

type HashName = 'SHA-256' | 'SHA-384' | 'SHA-512';
const NOBLE = { 'SHA-256': sha256, 'SHA-384': sha384, 'SHA-512': sha512 } as const;

/** What MLS hashes with: the suite's hash and its HMAC, synchronous. */
interface Hashing {
  digest(data: Uint8Array): Uint8Array;
  mac(key: Uint8Array, data: Uint8Array): Uint8Array;
}

/** The subset of node:crypto used here (looked up at run time: this package also runs in browsers). */
interface NodeHashes {
  createHash(alg: string): { update(d: Uint8Array): { digest(): Uint8Array } };
  createHmac(alg: string, key: Uint8Array): { update(d: Uint8Array): { digest(): Uint8Array } };
}

/**
 * Node's own crypto module when this runs in Node (`process.getBuiltinModule`, no import: the
 * browser bundle never sees it), else undefined. Native and synchronous: an HMAC of a few dozen
 * bytes costs ~2 µs against ~12 µs in JavaScript.
 */
function nodeHashes(): NodeHashes | undefined {
  const p = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  const mod = p?.getBuiltinModule?.('node:crypto') as NodeHashes | undefined;
  return typeof mod?.createHmac === 'function' && typeof mod.createHash === 'function' ? mod : undefined;
}

function hashing(name: HashName): Hashing {
  const node = nodeHashes();
  if (node) {
    const alg = name.replace('-', '').toLowerCase(); // 'sha256'
    const bytes = (b: Uint8Array) => new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
    return {
      digest: (data) => bytes(node.createHash(alg).update(data).digest()),
      mac: (key, data) => bytes(node.createHmac(alg, key).update(data).digest()),
    };
  }
  const h = NOBLE[name];
  return { digest: (data) => h(data), mac: (key, data) => hmac(h, key, data) };
}

/** RFC 5869 HKDF-Expand over an HMAC. */
function expand(
  mac: Hashing['mac'],
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

/** Imported Ed25519 public keys, by key bytes (bounded: cleared when full). */
const verifyKeys = new Map<string, Promise<CryptoKey>>();
const MAX_VERIFY_KEYS = 4096;

/**
 * ts-mls's suite with MLS's own hash, MAC and KDF (not HPKE's: that keeps its own) computed
 * synchronously — node:crypto in Node, @noble/hashes elsewhere — instead of one WebCrypto call
 * each, and Ed25519 public keys imported once instead of at every verification. Same functions
 * (RFC 9420 §5.1: the suite's hash, HMAC and HKDF; test/mls-suite.test.ts compares them with
 * ts-mls's own), but each new epoch derives a secret tree of about 4 × the group's size
 * HKDF-Expands and hashes the whole ratchet tree, and a WebCrypto HMAC costs an importKey, a job
 * and a promise (≈ 100 µs in Node) for a few microseconds of hashing: at 50 members that was 40
 * of the 65 ms a member spent on one add commit (docs/architecture.md, "Load"). Signing, HPKE
 * and the AEAD stay WebCrypto.
 */
function withFastHashing(impl: CiphersuiteImpl, hashName: HashName): CiphersuiteImpl {
  const { digest, mac } = hashing(hashName);
  const hashLen = impl.kdf.size;
  const subtle = globalThis.crypto?.subtle;
  const ed25519 = impl.name.endsWith('_Ed25519') && subtle !== undefined;
  return {
    ...impl,
    hash: {
      digest: async (data) => digest(data),
      mac: async (key, data) => mac(key, data),
      verifyMac: async (key, tag, data) => constantTimeEqual(mac(key, data), tag),
    },
    kdf: {
      size: hashLen,
      // HKDF-Extract(salt, IKM) = HMAC(salt, IKM); an empty salt is hashLen zeros (RFC 5869 §2.2).
      extract: async (salt, ikm) => mac(salt.length ? salt : new Uint8Array(hashLen), ikm),
      expand: async (prk, info, len) => expand(mac, hashLen, prk, info, len),
    },
    signature: ed25519
      ? {
          ...impl.signature,
          verify: async (publicKey, message, signature) => {
            const id = String.fromCharCode(...publicKey);
            let key = verifyKeys.get(id);
            if (!key) {
              if (verifyKeys.size >= MAX_VERIFY_KEYS) verifyKeys.clear();
              key = subtle.importKey('raw', toBufferSource(publicKey), 'Ed25519', false, ['verify']);
              verifyKeys.set(id, key);
              key.catch(() => verifyKeys.delete(id));
            }
            return subtle.verify('Ed25519', await key, toBufferSource(signature), toBufferSource(message));
          },
        }
      : impl.signature,
  };
}

/** The ts-mls implementation of a cipher suite, built once per process. */
export function mlsSuite(name: CiphersuiteName = DEFAULT_MLS_SUITE): Promise<CiphersuiteImpl> {
  let impl = cache.get(name);
  if (!impl) {
    const suite = getCiphersuiteFromName(name);
    impl = getCiphersuiteImpl(suite).then((cs) => withFastHashing(cs, suite.hash));
    cache.set(name, impl);
  }
  return impl;
}
