import {
  constantTimeEqual,
  fromBase64,
  toHex,
  type GroupMember,
  type KeyDirectoryHook,
} from '@conclave/crypto';
import type { AccountApi } from './account-api.js';

/**
 * What the key directory says about a group member:
 * - `verified`: a `user` credential whose signature key is registered on that account;
 * - `unverified`: a `user` credential whose key the account never registered (an impostor, or a
 *   device key deleted since) — shown as a warning, never as an account;
 * - `guest`: no account claimed;
 * - `checking`: the lookup has not answered yet; `unavailable`: it failed (network, server).
 */
export type MemberVerification = 'verified' | 'unverified' | 'guest' | 'checking' | 'unavailable';

/**
 * Checks `user` credentials of MLS members against the server's key directory
 * (`GET /api/directory/:userId/:deviceId`) for the "verified account" badge, with a cache per
 * (user, device, key) and a callback when answers arrive.
 *
 * Display only, by decision: the MLS group does not depend on the directory (a lookup that fails
 * must not split a meeting, and members must process every commit the same way). An app that
 * wants to refuse unverified accounts in the group itself can pass `hook()` to the client's
 * `directory` option (conclaveAuthService). The directory is the server's word: it protects
 * against other users claiming an account, not against the server operator (key transparency
 * would be the next step).
 */
export class KeyDirectory {
  private readonly results = new Map<string, MemberVerification>();
  private readonly pending = new Map<string, Promise<MemberVerification>>();

  constructor(
    private readonly api: Pick<AccountApi, 'lookupDevice'>,
    private readonly onChange: () => void = () => undefined,
  ) {}

  /** The cached verdict for a member, starting a lookup when there is none yet. */
  status(member: GroupMember): MemberVerification {
    const { identity } = member;
    if (identity.kind !== 'user') return 'guest';
    const key = cacheKey(identity.userId, identity.deviceId, member.signaturePublicKey);
    const known = this.results.get(key);
    if (known && known !== 'checking') return known;
    void this.verify(identity.userId, identity.deviceId, member.signaturePublicKey);
    return 'checking';
  }

  /** Looks the (user, device) up and compares the registered key with `publicKey`. */
  verify(userId: string, deviceId: string, publicKey: Uint8Array): Promise<MemberVerification> {
    const key = cacheKey(userId, deviceId, publicKey);
    const done = this.results.get(key);
    if (done && done !== 'checking' && done !== 'unavailable') return Promise.resolve(done);
    let running = this.pending.get(key);
    if (!running) {
      this.results.set(key, 'checking');
      running = this.api
        .lookupDevice(userId, deviceId)
        .then((entry): MemberVerification => {
          if (!entry) return 'unverified';
          return constantTimeEqual(fromBase64(entry.publicKey), publicKey) ? 'verified' : 'unverified';
        })
        .catch((): MemberVerification => 'unavailable')
        .then((verdict) => {
          this.results.set(key, verdict);
          this.pending.delete(key);
          this.onChange();
          return verdict;
        });
      this.pending.set(key, running);
    }
    return running;
  }

  /** A strict `KeyDirectoryHook` for conclaveAuthService: only `verified` user credentials pass. */
  hook(): KeyDirectoryHook {
    return async (identity, publicKey) =>
      (await this.verify(identity.userId, identity.deviceId, publicKey)) === 'verified';
  }
}

function cacheKey(userId: string, deviceId: string, publicKey: Uint8Array): string {
  return `${userId}\u0000${deviceId}\u0000${toHex(publicKey)}`;
}
