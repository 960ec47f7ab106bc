import type { AuthenticationService, Credential } from './ts-mls.js';
import { decodeIdentity, type CredentialIdentity } from './credential.js';
import { constantTimeEqual } from '../util/bytes.js';

/**
 * Decides whether a `user` credential's signature key belongs to that user, e.g. by asking the
 * server's key directory (later: a key-transparency log). Guests are accepted as unverified.
 */
export type KeyDirectoryHook = (
  identity: Extract<CredentialIdentity, { kind: 'user' }>,
  signaturePublicKey: Uint8Array,
) => Promise<boolean>;

export interface AuthServiceOptions {
  /** Checks user credentials; without it every user credential is accepted (shown as unverified by the UI). */
  directory?: KeyDirectoryHook;
  /** The delivery service's external-sender key this client trusts; other `server` credentials are refused. */
  serverKey?: Uint8Array;
}

/**
 * Our MLS authentication service (ts-mls's default accepts anything). It refuses credentials
 * that are not Conclave identities, `server` credentials whose key is not the pinned server key,
 * and user credentials the directory hook rejects.
 */
export function conclaveAuthService(opts: AuthServiceOptions = {}): AuthenticationService {
  return {
    async validateCredential(credential: Credential, signaturePublicKey: Uint8Array): Promise<boolean> {
      let identity: CredentialIdentity;
      try {
        identity = decodeIdentity(credential);
      } catch {
        return false;
      }
      switch (identity.kind) {
        case 'guest':
          return true;
        case 'server':
          return opts.serverKey !== undefined && constantTimeEqual(opts.serverKey, signaturePublicKey);
        case 'user':
          return opts.directory ? opts.directory(identity, signaturePublicKey) : true;
      }
    },
  };
}
