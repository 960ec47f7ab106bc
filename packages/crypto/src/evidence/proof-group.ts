import { decodeGroupContext } from '../mls/ts-mls.js';
import { EvidenceError } from './errors.js';
import type { MembershipProof } from './membership-proof.js';

/**
 * The group id and epoch a membership proof's GroupContext names, without checking the tree
 * (verifyMembershipProof does that): what a member needs to label its own attestations.
 */
export function proofGroup(proof: MembershipProof): { groupId: Uint8Array; epoch: bigint } {
  let r;
  try {
    r = decodeGroupContext(proof.groupContext, 0);
  } catch {
    r = undefined;
  }
  if (!r) throw new EvidenceError('bad_proof', 'cannot decode the group context');
  return { groupId: r[0].groupId, epoch: r[0].epoch };
}
