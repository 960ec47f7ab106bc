import { describe, expect, it } from 'vitest';
import type { MemberVerification } from '@conclave/client';
import type { GroupMember } from '@conclave/crypto';
import { credentialLabel, describeGroupChange } from '../src/meeting/group-notices.js';

const member = (leafIndex: number, displayName: string, kind: 'user' | 'guest' = 'guest'): GroupMember => ({
  leafIndex,
  identity:
    kind === 'user'
      ? { v: 1, kind, userId: `u-${displayName}`, deviceId: `d-${leafIndex}`, displayName }
      : { v: 1, kind, deviceId: `d-${leafIndex}`, displayName },
  signaturePublicKey: new Uint8Array([leafIndex]),
});

const alice = member(0, 'Alice', 'user');
const bob = member(1, 'Bob');
const carol = member(2, 'Carol');
const dave = member(3, 'Dave', 'user');
const verdicts: Record<string, MemberVerification> = { Dave: 'verified', Alice: 'verified' };
const status = (m: GroupMember): MemberVerification => verdicts[m.identity.displayName] ?? 'guest';

describe('group change notices', () => {
  it('names the committer and the members from the group, with the credential of whoever was added', () => {
    expect(describeGroupChange({ by: alice, added: [bob], removed: [], ownLeaf: 2 }, status)).toBe(
      'Alice added Bob (guest)',
    );
    expect(describeGroupChange({ by: bob, added: [dave], removed: [], ownLeaf: 2 }, status)).toBe(
      'Bob added Dave (verified account)',
    );
    expect(describeGroupChange({ by: alice, added: [], removed: [carol], ownLeaf: 1 }, status)).toBe(
      'Alice removed Carol',
    );
  });

  it('says "(you)" for this page’s own member', () => {
    expect(describeGroupChange({ by: alice, added: [bob], removed: [], ownLeaf: 0 }, status)).toBe(
      'Alice (you) added Bob (guest)',
    );
    expect(describeGroupChange({ by: alice, added: [], removed: [bob], ownLeaf: 1 }, status)).toBe(
      'Alice removed Bob (you)',
    );
  });

  it('lists several members and both kinds of change in one sentence', () => {
    expect(
      describeGroupChange({ by: alice, added: [bob, carol, dave], removed: [], ownLeaf: undefined }, status),
    ).toBe('Alice added Bob (guest), Carol (guest) and Dave (verified account)');
    expect(
      describeGroupChange({ by: bob, added: [dave], removed: [carol], ownLeaf: undefined }, status),
    ).toBe('Bob added Dave (verified account) and removed Carol');
  });

  it('uses the participants panel’s words for every verdict', () => {
    expect(credentialLabel('verified', 'user')).toBe('verified account');
    expect(credentialLabel('unverified', 'user')).toBe('unverified account claim');
    expect(credentialLabel('guest', 'guest')).toBe('guest');
    expect(credentialLabel('checking', 'user')).toBe('account, checking…');
    expect(credentialLabel('unavailable', 'user')).toBe('account not checked');
    expect(credentialLabel(undefined, 'user')).toBe('account');
    expect(credentialLabel(undefined, 'guest')).toBe('guest');
  });
});
