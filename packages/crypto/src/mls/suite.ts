import { hmac } from '@noble/hashes/hmac.js';
import { sha256, sha384, sha512 } from '@noble/hashes/sha2.js';
import { constantTimeEqual, toBufferSource } from '../util/bytes.js';
import { hkdfExpandSync } from '../util/hkdf-expand.js';
import { nodeCrypto, plainBytes, rfc8410Der, type NodeCrypto, type NodeKey } from '../util/node-crypto.js';
import { nodeHpke } from './hpke-node.js';
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

function hashing(name: HashName): Hashing {
  // node:crypto's HMAC of a few dozen bytes costs ~2 µs against ~12 µs in JavaScript.
  const node = nodeCrypto();
  if (node) {
    const alg = name.replace('-', '').toLowerCase(); // 'sha256'
    return {
      digest: (data) => plainBytes(node.createHash(alg).update(data).digest()),
      mac: (key, data) => plainBytes(node.createHmac(alg, key).update(data).digest()),
    };
  }
  const h = NOBLE[name];
  return { digest: (data) => h(data), mac: (key, data) => hmac(h, key, data) };
}

/** Imported Ed25519 public keys, by key bytes (bounded: cleared when full). */
const verifyKeys = new Map<string, Promise<CryptoKey> | NodeKey>();
const MAX_VERIFY_KEYS = 4096;

function cachedPublicKey<K extends Promise<CryptoKey> | NodeKey>(bytes: Uint8Array, make: () => K): K {
  const id = String.fromCharCode(...bytes);
  let key = verifyKeys.get(id) as K | undefined;
  if (key === undefined) {
    if (verifyKeys.size >= MAX_VERIFY_KEYS) verifyKeys.clear();
    key = make();
    verifyKeys.set(id, key);
    if (key instanceof Promise) key.catch(() => verifyKeys.delete(id));
  }
  return key;
}

/**
 * Ed25519 through node:crypto, synchronous. WebCrypto's Ed25519 is one thread-pool job per
 * signature: in a process that also moves media (the load tool's bots, 25 to a process), each
 * job's completion waits its turn behind the media callbacks, and a Welcome verifies every leaf
 * of the tree, so a join took seconds of waiting for milliseconds of work. A private key is a raw
 * 32-byte seed or PKCS#8 (what ts-mls's WebCrypto keygen exports), imported at each signature
 * (rare: commits and key packages) and never kept.
 */
function nodeEd25519(node: NodeCrypto, impl: CiphersuiteImpl['signature']): CiphersuiteImpl['signature'] {
  return {
    ...impl,
    sign: async (signKey, message) => {
      const key = signKey.length === 32 ? rfc8410Der('Ed25519', 'pkcs8', signKey) : signKey;
      return plainBytes(
        node.sign(null, message, node.createPrivateKey({ key, format: 'der', type: 'pkcs8' })),
      );
    },
    verify: async (raw, message, signature) => {
      if (raw.length !== 32 || signature.length !== 64) return false;
      try {
        const key = cachedPublicKey(raw, () =>
          node.createPublicKey({ key: rfc8410Der('Ed25519', 'spki', raw), format: 'der', type: 'spki' }),
        );
        return node.verify(null, message, key, signature);
      } catch {
        return false; // not a point on the curve
      }
    },
  };
}

/** ts-mls's WebCrypto Ed25519 (browsers), with each public key imported once instead of at every verification. */
function webCryptoEd25519(
  subtle: SubtleCrypto,
  impl: CiphersuiteImpl['signature'],
): CiphersuiteImpl['signature'] {
  return {
    ...impl,
    verify: async (raw, message, signature) => {
      const key = cachedPublicKey(raw, () =>
        subtle.importKey('raw', toBufferSource(raw), 'Ed25519', false, ['verify']),
      );
      return subtle.verify('Ed25519', await key, toBufferSource(signature), toBufferSource(message));
    },
  };
}

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
  const isEd25519 = impl.name.endsWith('_Ed25519');
  const node = nodeCrypto();
  return {
    ...impl,
    // Suite 1's HPKE on node:crypto in Node (hpke-node.ts); other suites and browsers keep ts-mls's.
    hpke: node && impl.name === 'MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519' ? nodeHpke(node) : impl.hpke,
    hash: {
      digest: async (data) => digest(data),
      mac: async (key, data) => mac(key, data),
      verifyMac: async (key, tag, data) => constantTimeEqual(mac(key, data), tag),
    },
    kdf: {
      size: hashLen,
      // HKDF-Extract(salt, IKM) = HMAC(salt, IKM); an empty salt is hashLen zeros (RFC 5869 §2.2).
      extract: async (salt, ikm) => mac(salt.length ? salt : new Uint8Array(hashLen), ikm),
      expand: async (prk, info, len) => hkdfExpandSync(mac, hashLen, prk, info, len),
    },
    signature: !isEd25519
      ? impl.signature
      : node
        ? nodeEd25519(node, impl.signature)
        : subtle
          ? webCryptoEd25519(subtle, impl.signature)
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
