import {
  getCiphersuiteFromName,
  getCiphersuiteImpl,
  type CiphersuiteImpl,
  type CiphersuiteName,
} from './ts-mls.js';

/** MLS cipher suite 1: X25519 + AES-128-GCM + SHA-256 + Ed25519. All of it is WebCrypto in browsers and Node. */
export const DEFAULT_MLS_SUITE: CiphersuiteName = 'MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519';

const cache = new Map<CiphersuiteName, Promise<CiphersuiteImpl>>();

/** The ts-mls implementation of a cipher suite, built once per process. */
export function mlsSuite(name: CiphersuiteName = DEFAULT_MLS_SUITE): Promise<CiphersuiteImpl> {
  let impl = cache.get(name);
  if (!impl) {
    impl = getCiphersuiteImpl(getCiphersuiteFromName(name));
    cache.set(name, impl);
  }
  return impl;
}
