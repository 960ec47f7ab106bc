export { EvidenceError, type EvidenceErrorCode } from './errors.js';
export {
  encodeMembershipProof,
  verifyMembershipProof,
  type MembershipProof,
  type ProvenGroup,
} from './membership-proof.js';
export { verifyChatEvidence, type ChatEvidenceCheck, type ChatSignatureEvidence } from './chat-evidence.js';
export {
  LEAF_SIGNATURE_LABELS,
  signWithLeafKey,
  verifyWithLeafKey,
  type LeafSignatureLabel,
} from './leaf-signature.js';
export {
  encodeModerationKeyFile,
  generateModerationKeyPair,
  moderationKeyId,
  openEvidence,
  parseModerationKeyFile,
  sealEvidence,
  type ModerationKeyFile,
  type ModerationKeyPair,
} from './evidence-box.js';
// Frame attestation and clips (media evidence).
export {
  FRAME_HASH_BYTES,
  MAX_ATTESTATION_HASHES,
  attestationDigest,
  decodeAttestation,
  encodeAttestation,
  frameHash,
  hashCount,
  type AttestationBody,
} from './attestation.js';
export {
  ATTESTATION_INTERVAL_MS,
  AttestationRecorder,
  FrameHashBatcher,
  type FrameBatch,
  type RecordedAttestation,
} from './attestation-recorder.js';
export {
  AttestationChecker,
  type AttestationCheckerOptions,
  type AttestationStats,
  type VerifiedHashes,
} from './attestation-checker.js';
export {
  DEFAULT_CLIP_WINDOW_MS,
  FrameBuffer,
  type BufferedClip,
  type ClipCodec,
  type FrameBufferOptions,
  type KidKeyMaterial,
} from './frame-buffer.js';
export { FrameEvidence, type FrameEvidenceOptions } from './frame-evidence.js';
export { verifyClip, type ClipEvidence, type ClipVerification, type DecryptedClipFrame } from './clip.js';
export { proofGroup } from './proof-group.js';
