/**
 * Sentences for changes to the meeting's MLS group ("Alice added Gabi (guest)", "Alice removed
 * Carol"), from the SDK's `membership` events. Every name comes from the group — the
 * committer who signed the commit and the credentials it added or removed — never from the
 * server's participant list, so the server cannot slip a member in under another name.
 */
import type { MemberVerification, MembershipChange } from '@conclave/client';
import type { GroupMember } from '@conclave/crypto';

/** One add/remove as this page saw it. */
export interface GroupChange extends MembershipChange {
  id: number;
  /** When this page processed the commit (ms since the epoch). */
  at: number;
  /** This page's leaf index when it processed the commit: who is "(you)". */
  ownLeaf: number | undefined;
}

/**
 * What a credential is, in the words of the participants panel's badges (lower case, to sit in
 * a sentence): the key directory's verdict for account claims.
 */
export function credentialLabel(v: MemberVerification | undefined, kind: string): string {
  switch (v) {
    case 'verified':
      return 'verified account';
    case 'unverified':
      return 'unverified account claim';
    case 'guest':
      return 'guest';
    case 'checking':
      return 'account, checking…';
    case 'unavailable':
      return 'account not checked';
    case undefined:
      return kind === 'user' ? 'account' : 'guest';
  }
}

/** "A", "A and B", "A, B and C". */
function listNames(names: string[]): string {
  if (names.length <= 1) return names[0] ?? '';
  return `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`;
}

/**
 * "Alice added Gabi (guest)", "Alice (you) removed Carol", "Bob added Dave (verified account)
 * and removed Carol". `status` is the key directory's verdict on an added member's credential.
 */
export function describeGroupChange(
  c: Pick<GroupChange, 'by' | 'added' | 'removed' | 'ownLeaf'>,
  status: (m: GroupMember) => MemberVerification,
): string {
  const isSelf = (m: GroupMember) => c.ownLeaf !== undefined && m.leafIndex === c.ownLeaf;
  const name = (m: GroupMember) => `${m.identity.displayName}${isSelf(m) ? ' (you)' : ''}`;
  const parts: string[] = [];
  if (c.added.length > 0) {
    const added = c.added.map((m) =>
      isSelf(m) ? name(m) : `${m.identity.displayName} (${credentialLabel(status(m), m.identity.kind)})`,
    );
    parts.push(`added ${listNames(added)}`);
  }
  if (c.removed.length > 0) parts.push(`removed ${listNames(c.removed.map(name))}`);
  return `${name(c.by)} ${parts.join(' and ')}`;
}
