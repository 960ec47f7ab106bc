/** SFrame cipher suites (RFC 9605 §4.5, IANA registry §8.1). */
import { SFrameError } from './errors.js';

export type SFrameHash = 'SHA-256' | 'SHA-512';

interface SuiteBase {
  /** IANA cipher suite identifier (2 bytes big-endian in key-derivation labels). */
  readonly id: number;
  readonly name: string;
  readonly hash: SFrameHash;
  /** Hash output size in bytes. */
  readonly Nh: number;
  /** AEAD key size (for CTR+HMAC: Nka + Nh). */
  readonly Nk: number;
  /** Nonce size. */
  readonly Nn: number;
  /** Tag size (ciphertext overhead). */
  readonly Nt: number;
}

export interface GcmSuite extends SuiteBase {
  readonly kind: 'aes-gcm';
}

export interface CtrHmacSuite extends SuiteBase {
  readonly kind: 'aes-ctr-hmac';
  /** AES key size inside the compound key. */
  readonly Nka: number;
}

export type SFrameSuite = GcmSuite | CtrHmacSuite;

export const AES_128_CTR_HMAC_SHA256_80 = 0x0001;
export const AES_128_CTR_HMAC_SHA256_64 = 0x0002;
export const AES_128_CTR_HMAC_SHA256_32 = 0x0003;
export const AES_128_GCM_SHA256_128 = 0x0004;
export const AES_256_GCM_SHA512_128 = 0x0005;

/**
 * Default for Conclave media: full 128-bit tag; AES-GCM is hardware-accelerated everywhere.
 * @alias AES_128_GCM_SHA256_128
 */
export const DEFAULT_SUITE = AES_128_GCM_SHA256_128;

function ctrHmac(id: number, name: string, Nt: number): CtrHmacSuite {
  const [Nh, Nka, Nk, Nn] = [32, 16, 48, 12];
  return Object.freeze({ kind: 'aes-ctr-hmac', id, name, hash: 'SHA-256', Nh, Nka, Nk, Nn, Nt });
}

function gcm(id: number, name: string, hash: SFrameHash, Nh: number, Nk: number): GcmSuite {
  const [Nn, Nt] = [12, 16];
  return Object.freeze({ kind: 'aes-gcm', id, name, hash, Nh, Nk, Nn, Nt });
}

export const SUITES: ReadonlyMap<number, SFrameSuite> = new Map<number, SFrameSuite>(
  [
    ctrHmac(AES_128_CTR_HMAC_SHA256_80, 'AES_128_CTR_HMAC_SHA256_80', 10),
    ctrHmac(AES_128_CTR_HMAC_SHA256_64, 'AES_128_CTR_HMAC_SHA256_64', 8),
    ctrHmac(AES_128_CTR_HMAC_SHA256_32, 'AES_128_CTR_HMAC_SHA256_32', 4),
    gcm(AES_128_GCM_SHA256_128, 'AES_128_GCM_SHA256_128', 'SHA-256', 32, 16),
    gcm(AES_256_GCM_SHA512_128, 'AES_256_GCM_SHA512_128', 'SHA-512', 64, 32),
  ].map((s) => [s.id, s]),
);

/** Looks up a suite by id; throws SFrameError('unsupported_suite') for anything else. */
export function getSuite(id: number): SFrameSuite {
  const s = SUITES.get(id);
  if (!s) throw new SFrameError('unsupported_suite', `unsupported SFrame cipher suite ${String(id)}`);
  return s;
}
