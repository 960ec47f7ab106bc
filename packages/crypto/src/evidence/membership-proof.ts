import {
  decodeGroupContext,
  decodeRatchetTree,
  encodeGroupContext,
  encodeRatchetTree,
  treeHashRoot,
  type GroupContext,
  type RatchetTree,
} from '../mls/ts-mls.js';
import { mlsSuite } from '../mls/suite.js';
import { treeMembers } from '../mls/tree-members.js';
import type { GroupMember } from '../mls/tree-members.js';
import { constantTimeEqual } from '../util/bytes.js';
import { EvidenceError } from './errors.js';

/**
 * Who a group's leaves were in one epoch, in a form a third party can check: the epoch's
 * GroupContext and its public ratchet tree, both TLS-encoded (RFC 9420 §8.1, §12.4.3.3).
 * Every member signs its messages under the GroupContext (FramedContentTBS), and the context
 * carries the tree hash: so a leaf read from a tree whose hash matches is a leaf of the group the
 * signer was in. Nothing secret is in either.
 */
export interface MembershipProof {
  groupContext: Uint8Array;
  ratchetTree: Uint8Array;
}

/** A membership proof that checked out: the group, its epoch and its members by leaf. */
export interface ProvenGroup {
  groupId: Uint8Array;
  epoch: bigint;
  /** The decoded context (what members sign under). */
  context: GroupContext;
  members: GroupMember[];
  memberAt(leafIndex: number): GroupMember | undefined;
}

export function encodeMembershipProof(context: GroupContext, tree: RatchetTree): MembershipProof {
  return { groupContext: encodeGroupContext(context), ratchetTree: encodeRatchetTree(tree) };
}

function decodeWhole<T>(
  what: string,
  bytes: Uint8Array,
  decode: (b: Uint8Array, o: number) => [T, number] | undefined,
): T {
  let r: [T, number] | undefined;
  try {
    r = decode(bytes, 0);
  } catch (e) {
    throw new EvidenceError('bad_proof', `cannot decode the ${what}: ${(e as Error).message}`);
  }
  if (!r) throw new EvidenceError('bad_proof', `cannot decode the ${what}`);
  if (r[1] !== bytes.length) throw new EvidenceError('bad_proof', `trailing bytes after the ${what}`);
  return r[0];
}

/**
 * Decodes a proof and checks that the tree is the one the context names (its tree hash).
 * Throws EvidenceError('bad_proof') otherwise; members whose credential is not ours are left out.
 */
export async function verifyMembershipProof(proof: MembershipProof): Promise<ProvenGroup> {
  const context = decodeWhole('group context', proof.groupContext, decodeGroupContext);
  const tree = decodeWhole('ratchet tree', proof.ratchetTree, decodeRatchetTree);
  if (context.cipherSuite !== 'MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519')
    throw new EvidenceError('bad_proof', `unexpected cipher suite ${String(context.cipherSuite)}`);
  const cs = await mlsSuite();
  let hash: Uint8Array;
  try {
    hash = await treeHashRoot(tree, cs.hash);
  } catch (e) {
    throw new EvidenceError('bad_proof', `cannot hash the ratchet tree: ${(e as Error).message}`);
  }
  if (!constantTimeEqual(hash, context.treeHash))
    throw new EvidenceError('bad_proof', 'the ratchet tree is not the one the group context names');
  const members: GroupMember[] = treeMembers(tree).map(({ leafIndex, identity, signaturePublicKey }) => ({
    leafIndex,
    identity,
    signaturePublicKey,
  }));
  const byLeaf = new Map(members.map((m) => [m.leafIndex, m]));
  return {
    groupId: context.groupId,
    epoch: context.epoch,
    context,
    members,
    memberAt: (leafIndex) => byLeaf.get(leafIndex),
  };
}
