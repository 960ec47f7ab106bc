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

/** Every leaf of a ratchet tree with a Conclave credential (a leaf that is not one is skipped). */
export function treeMembers(tree: RatchetTree): PublicMember[] {
  const out: PublicMember[] = [];
  tree.forEach((node, nodeIndex) => {
    if (node?.nodeType !== 'leaf') return;
    let identity: CredentialIdentity;
    try {
      identity = decodeIdentity(node.leaf.credential);
    } catch {
      return; // refused on the way in
    }
    out.push({
      leafIndex: nodeIndex / 2,
      identity,
      credentialBytes: credentialBytes(node.leaf.credential),
      signatureKey: toBase64(node.leaf.signaturePublicKey),
      signaturePublicKey: node.leaf.signaturePublicKey,
    });
  });
  return out;
}
