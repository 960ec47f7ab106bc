import { describe, expect, it } from 'vitest';
import { credentialMismatch, type CredentialIdentity } from '../src/index.js';

const guest: CredentialIdentity = { v: 1, kind: 'guest', deviceId: 'dev-a', displayName: 'Alice (CEO)' };
const user: CredentialIdentity = {
  v: 1,
  kind: 'user',
  userId: 'u1',
  deviceId: 'dev-a',
  displayName: 'Alice',
};

describe('credentialMismatch: the one comparison of a credential with the participant it must name', () => {
  it('accepts the same kind, account, device and (trimmed) name', () => {
    expect(credentialMismatch(guest, { displayName: ' Alice (CEO) ', deviceId: 'dev-a' })).toBeUndefined();
    expect(
      credentialMismatch(user, { displayName: 'Alice', deviceId: 'dev-a', userId: 'u1' }),
    ).toBeUndefined();
  });

  it('names what differs', () => {
    expect(credentialMismatch(guest, { displayName: 'Bob the intern', deviceId: 'dev-a' })).toBe(
      'names "Alice (CEO)", not "Bob the intern"',
    );
    expect(credentialMismatch(guest, { displayName: 'Alice (CEO)', deviceId: 'dev-b' })).toBe(
      'is for another device',
    );
    expect(credentialMismatch(user, { displayName: 'Alice', deviceId: 'dev-a', userId: 'u2' })).toBe(
      'is for another account',
    );
    expect(credentialMismatch(guest, { displayName: 'Alice (CEO)', deviceId: 'dev-a', userId: 'u1' })).toBe(
      'is a guest credential, not a user one',
    );
    expect(credentialMismatch(user, { displayName: 'Alice', deviceId: 'dev-a' })).toBe(
      'is a user credential, not a guest one',
    );
  });

  it('never accepts the server credential for a participant', () => {
    const server: CredentialIdentity = {
      v: 1,
      kind: 'server',
      deviceId: 'dev-a',
      displayName: 'Alice (CEO)',
    };
    expect(credentialMismatch(server, { displayName: 'Alice (CEO)', deviceId: 'dev-a' })).toBe(
      'carries the server credential',
    );
  });
});
