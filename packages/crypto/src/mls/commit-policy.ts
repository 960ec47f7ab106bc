import type { Extension, LeafNode, Proposal } from './ts-mls.js';
import { decodeIdentity, type CredentialIdentity } from './credential.js';
import { readRoles, roleOf, ROLES_EXTENSION_TYPE, type GroupRoles } from './roles.js';
import { constantTimeEqual, toBase64 } from '../util/bytes.js';

/** A proposal as a commit carries it: inline (sender = committer) or by reference (its own sender; `undefined` = the server). */
export interface CommitProposal {
  proposal: Proposal;
  senderLeafIndex: number | undefined;
}

export interface PolicyMember {
  leafIndex: number;
  identity: CredentialIdentity;
  credentialBytes: Uint8Array;
  signatureKey: string;
}

/** What a commit does, read before it is applied (by a member, or by the delivery service on public data). */
export interface CommitFacts {
  /** The group's members before the commit. */
  members: PolicyMember[];
  /** The group context's extensions before the commit. */
  extensions: readonly Extension[];
  committerLeaf: number;
  proposals: CommitProposal[];
  /** The committer's new leaf node, when the commit has an UpdatePath. */
  pathLeaf: LeafNode | undefined;
}

/** What a policy-conforming commit does. */
export interface CommitEffect {
  adds: { identity: CredentialIdentity; signatureKey: string }[];
  /** Leaves removed, and whether the server proposed it (a departure) or the committer did. */
  removes: { leafIndex: number; by: 'server' | 'member' }[];
  roles: GroupRoles | undefined;
}

function presentRole(f: CommitFacts, roles: GroupRoles, m: PolicyMember | undefined) {
  return m ? roleOf(roles, m.signatureKey) : 'participant';
}

/**
 * The Conclave group policy, enforced by every member on every commit it receives (and by the
 * delivery service before it fans a commit out). `undefined` when the commit conforms:
 * - only Add, Remove and GroupContextExtensions proposals (no Update, PSK, ReInit, external init);
 * - adds come from a host or co-host listed in the group's roles extension, or from any member
 *   while none of them is in the group; no added leaf carries the `server` credential;
 * - removes are the server's external proposals (each checked against the departed device
 *   before it was stored) or come from a listed host/co-host, and only the host removes a host
 *   or a co-host;
 * - the roles change only by a listed host who is in the group, or, while none is, by a member
 *   who makes itself host; no other group-context extension changes;
 * - the committer's new leaf keeps its credential and signature key.
 */
export function commitPolicyViolation(f: CommitFacts): string | undefined {
  return explainCommit(f).violation;
}

export function explainCommit(f: CommitFacts): { violation?: string; effect?: CommitEffect } {
  let roles: GroupRoles;
  try {
    roles = readRoles(f.extensions);
  } catch (e) {
    return { violation: (e as Error).message };
  }
  const byLeaf = new Map(f.members.map((m) => [m.leafIndex, m]));
  const committer = byLeaf.get(f.committerLeaf);
  if (!committer) return { violation: `the committer (leaf ${f.committerLeaf}) is not a member` };
  const leadersPresent = f.members.some((m) => roleOf(roles, m.signatureKey) !== 'participant');
  const hostsPresent = f.members.some((m) => roleOf(roles, m.signatureKey) === 'host');
  const committerRole = roleOf(roles, committer.signatureKey);
  const effect: CommitEffect = { adds: [], removes: [], roles: undefined };

  for (const { proposal: p, senderLeafIndex } of f.proposals) {
    switch (p.proposalType) {
      case 'add': {
        if (leadersPresent && committerRole === 'participant')
          return { violation: 'only the host or a co-host may add members' };
        let identity: CredentialIdentity;
        try {
          identity = decodeIdentity(p.add.keyPackage.leafNode.credential);
        } catch (e) {
          return { violation: `an added key package has a bad credential: ${(e as Error).message}` };
        }
        if (identity.kind === 'server') return { violation: 'an added leaf carries the server credential' };
        effect.adds.push({ identity, signatureKey: toBase64(p.add.keyPackage.leafNode.signaturePublicKey) });
        break;
      }
      case 'remove': {
        const target = byLeaf.get(p.remove.removed);
        if (!target) return { violation: `a remove names leaf ${p.remove.removed}, which is empty` };
        if (senderLeafIndex === undefined) {
          effect.removes.push({ leafIndex: target.leafIndex, by: 'server' });
          break;
        }
        if (committerRole === 'participant')
          return { violation: 'only the host or a co-host may remove members' };
        if (presentRole(f, roles, target) !== 'participant' && committerRole !== 'host')
          return { violation: 'only the host may remove a host or a co-host' };
        effect.removes.push({ leafIndex: target.leafIndex, by: 'member' });
        break;
      }
      case 'group_context_extensions': {
        if (senderLeafIndex !== f.committerLeaf)
          return { violation: 'a group-context change must come from the committer itself' };
        const next = p.groupContextExtensions.extensions;
        const others = (xs: readonly Extension[]) =>
          xs.filter((e) => e.extensionType !== ROLES_EXTENSION_TYPE);
        const a = others(f.extensions);
        const b = others(next);
        if (
          a.length !== b.length ||
          a.some(
            (e, i) =>
              e.extensionType !== b[i]!.extensionType ||
              !constantTimeEqual(e.extensionData, b[i]!.extensionData),
          )
        )
          return { violation: 'a commit may change no group-context extension but the roles' };
        let newRoles: GroupRoles;
        try {
          newRoles = readRoles(next);
        } catch (e) {
          return { violation: (e as Error).message };
        }
        const selfClaim = !hostsPresent && newRoles.hosts.includes(committer.signatureKey);
        if (committerRole !== 'host' && !selfClaim)
          return { violation: 'only the host may change the roles' };
        effect.roles = newRoles;
        break;
      }
      default:
        return { violation: `${String(p.proposalType)} proposals are not allowed in this group` };
    }
  }
  if (f.pathLeaf) {
    if (
      f.pathLeaf.credential.credentialType !== 'basic' ||
      !constantTimeEqual(f.pathLeaf.credential.identity, committer.credentialBytes) ||
      toBase64(f.pathLeaf.signaturePublicKey) !== committer.signatureKey
    )
      return { violation: 'the committer changed its credential or signature key' };
  }
  return { effect };
}
