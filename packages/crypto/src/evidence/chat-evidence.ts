import { decodeFramedContent, verifyFramedContentSignature } from '../mls/ts-mls.js';
import { mlsSuite } from '../mls/suite.js';
import type { GroupMember } from '../mls/tree-members.js';
import { constantTimeEqual } from '../util/bytes.js';
import type { ProvenGroup } from './membership-proof.js';

/**
 * What a third party needs, beside the epoch's membership proof, to check that a member wrote
 * an application message: the message's FramedContent (group, epoch, sender leaf, authenticated
 * data, the application data itself) TLS-encoded, and the signature from its
 * FramedContentAuthData. MLS signs FramedContentTBS = (version, wire format, FramedContent,
 * GroupContext) with the sender's leaf key (RFC 9420 §6.1): change one byte of the text and the
 * signature no longer verifies.
 */
export interface ChatSignatureEvidence {
  framedContent: Uint8Array;
  signature: Uint8Array;
}

export type ChatEvidenceCheck =
  { ok: true; sender: GroupMember; applicationData: Uint8Array } | { ok: false; reason: string };

/** Checks one message against a proven group (verifyMembershipProof). Never throws. */
export async function verifyChatEvidence(
  evidence: ChatSignatureEvidence,
  group: ProvenGroup,
): Promise<ChatEvidenceCheck> {
  let decoded;
  try {
    decoded = decodeFramedContent(evidence.framedContent, 0);
  } catch {
    decoded = undefined;
  }
  if (!decoded || decoded[1] !== evidence.framedContent.length)
    return { ok: false, reason: 'the message content cannot be decoded' };
  const content = decoded[0];
  if (content.contentType !== 'application') return { ok: false, reason: 'not an application message' };
  if (content.sender.senderType !== 'member') return { ok: false, reason: 'not sent by a member' };
  if (!constantTimeEqual(content.groupId, group.groupId) || content.epoch !== group.epoch)
    return { ok: false, reason: 'the message is not from the group and epoch of its proof' };
  const sender = group.memberAt(content.sender.leafIndex);
  if (!sender) return { ok: false, reason: `leaf ${content.sender.leafIndex} is not a member in that epoch` };
  const cs = await mlsSuite();
  let valid: boolean;
  try {
    valid = await verifyFramedContentSignature(
      sender.signaturePublicKey,
      'mls_private_message',
      content,
      { contentType: 'application', signature: evidence.signature },
      group.context,
      cs.signature,
    );
  } catch {
    valid = false;
  }
  if (!valid) return { ok: false, reason: "the signature does not match the content and the sender's key" };
  return { ok: true, sender, applicationData: content.applicationData };
}
