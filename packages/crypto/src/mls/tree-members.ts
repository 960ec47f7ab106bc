import type { Credential, RatchetTree } from './ts-mls.js';
import type { PolicyMember } from './commit-policy.js';
import { decodeIdentity, type CredentialIdentity } from './credential.js';
import { toBase64 } from '../util/bytes.js';

/** A member as the roster shows it: read from the group's leaves, never from server messages. */
export interface GroupMember {
  leafIndex: number;
  identity: CredentialIdentity;
  signaturePublicKey: Uint8Array;
}

/** A leaf as the public tree shows it: what the roster, the policy and the delivery service read. */
export interface PublicMember extends PolicyMember {
  signaturePublicKey: Uint8Array;
}

function credentialBytes(c: Credential): Uint8Array {
  return c.credentialType === 'basic' ? c.identity : new Uint8Array(0);
}

type LeafNode = Extract<RatchetTree[number], { nodeType: 'leaf' }>['leaf'];
type DecodedLeaf = Omit<PublicMember, 'leafIndex'> | null;

/**
 * Decoded leaves, by ts-mls's leaf node object. ts-mls never changes a node (a new epoch's tree
 * is a new array that keeps the unchanged nodes), so a leaf is decoded once, not at every read
 * of the roster: a 50-member group decoded 50 credentials several times per commit.
 */
const decoded = new WeakMap<LeafNode, DecodedLeaf>();

function decodeLeaf(leaf: LeafNode): DecodedLeaf {
  let d = decoded.get(leaf);
  if (d !== undefined) return d;
  let identity: CredentialIdentity | undefined;
  try {
    identity = decodeIdentity(leaf.credential);
  } catch {
    // refused on the way in
  }
  d = identity && {
    identity,
    credentialBytes: credentialBytes(leaf.credential),
    signatureKey: toBase64(leaf.signaturePublicKey),
    signaturePublicKey: leaf.signaturePublicKey,
  };
  d ??= null;
  decoded.set(leaf, d);
  return d;
}

/** Every leaf of a ratchet tree with a Conclave credential (a leaf that is not one is skipped). */
export function treeMembers(tree: RatchetTree): PublicMember[] {
  const out: PublicMember[] = [];
  tree.forEach((node, nodeIndex) => {
    if (node?.nodeType !== 'leaf') return;
    const d = decodeLeaf(node.leaf);
    if (d) out.push({ leafIndex: nodeIndex / 2, ...d });
  });
  return out;
}
