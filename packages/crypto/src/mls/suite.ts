import { expand as hkdfExpand, extract as hkdfExtract } from '@noble/hashes/hkdf.js';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256, sha384, sha512 } from '@noble/hashes/sha2.js';
import { constantTimeEqual } from '../util/bytes.js';
import {
  getCiphersuiteFromName,
  getCiphersuiteImpl,
  type CiphersuiteImpl,
  type CiphersuiteName,
} from './ts-mls.js';

/** MLS cipher suite 1: X25519 + AES-128-GCM + SHA-256 + Ed25519. */
export const DEFAULT_MLS_SUITE: CiphersuiteName = 'MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519';

const cache = new Map<CiphersuiteName, Promise<CiphersuiteImpl>>();

const HASHES = { 'SHA-256': sha256, 'SHA-384': sha384, 'SHA-512': sha512 } as const;

/**
 * ts-mls's suite with MLS's own hash, MAC and KDF (not HPKE's: that keeps its own) computed
 * synchronously with @noble/hashes instead of one WebCrypto call each. Same functions (RFC 9420
 * §5.1: the suite's hash, HMAC and HKDF; the interop vectors pin them), but each new epoch derives
 * a secret tree of about 4 × the group's size HKDF-Expands and hashes the whole ratchet tree, and
 * a WebCrypto HMAC costs an importKey, a job and a promise (≈ 100 µs in Node) for a few
 * microseconds of hashing: at 50 members that was 40 of the 65 ms a member spent on one add
 * commit (docs/architecture.md, "Load"). Signatures, HPKE and the AEAD stay WebCrypto.
 */
function withFastHashing(impl: CiphersuiteImpl, hashName: keyof typeof HASHES): CiphersuiteImpl {
  const h = HASHES[hashName];
  return {
    ...impl,
    hash: {
      digest: async (data) => h(data),
      mac: async (key, data) => hmac(h, key, data),
      verifyMac: async (key, mac, data) => constantTimeEqual(hmac(h, key, data), mac),
    },
    kdf: {
      size: impl.kdf.size,
      extract: async (salt, ikm) => hkdfExtract(h, ikm, salt),
      expand: async (prk, info, len) => hkdfExpand(h, prk, info, len),
    },
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
