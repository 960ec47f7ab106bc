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
