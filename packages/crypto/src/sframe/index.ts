export { SFrameError, isSFrameError, type SFrameErrorCode } from './errors.js';
export { encodeHeader, decodeHeader, headerLength, type DecodedHeader } from './header.js';
export {
  SUITES,
  getSuite,
  DEFAULT_SUITE,
  AES_128_CTR_HMAC_SHA256_80,
  AES_128_CTR_HMAC_SHA256_64,
  AES_128_CTR_HMAC_SHA256_32,
  AES_128_GCM_SHA256_128,
  AES_256_GCM_SHA512_128,
  type SFrameSuite,
  type GcmSuite,
  type CtrHmacSuite,
  type SFrameHash,
} from './suites.js';
export {
  deriveSFrameKey,
  deriveKeyMaterial,
  importDerivedKey,
  sframeKeyLabel,
  sframeSaltLabel,
  hkdfExtract,
  hkdfExpand,
  type DerivedKey,
  type KeyMaterial,
} from './keys.js';
export {
  importAeadKey,
  aeadEncrypt,
  aeadDecrypt,
  defaultAeadBackend,
  splitCtrHmacKey,
  type AeadBackend,
  type AeadKey,
} from './aead.js';
export { ReplayWindow } from './replay.js';
export {
  SFrameSender,
  SFrameKeyRing,
  computeNonce,
  DEFAULT_REPLAY_WINDOW,
  type SFrameSenderOptions,
  type SFrameSenderCreateOptions,
  type SFrameKeyRingOptions,
  type SFrameKidStats,
  type SFrameRingStats,
  type UnprotectResult,
} from './context.js';
export {
  clearPrefixLength,
  isVp8KeyFrame,
  protectEncodedFrame,
  unprotectEncodedFrame,
  unprotectEncodedFrameDetailed,
  type SFrameCodec,
  type FrameCodec,
} from './codec.js';
export { runSFrameVectors, parseJsonWithBigInts, VectorFileError, type VectorReport } from './vectors.js';
