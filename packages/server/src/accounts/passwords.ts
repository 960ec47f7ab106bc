import { hashSecret, verifySecret, type ScryptParams } from '../meeting-store/secret-hash.js';

/**
 * Passwords: scrypt (node:crypto) with a random 16-byte salt per user, in the self-describing
 * format of meetings/secret-hash.ts, so the cost can be raised later without a migration.
 * N = 2^16, r = 8, p = 1: 64 MiB and about 0.2 s per hash on one core. OWASP's floor is 2^17;
 * we take one step less because every sign-in pays it and Node runs at most four at a time on
 * its thread pool (256 MiB at peak on a small server). Raise `ln` on bigger machines.
 */
export const PASSWORD_SCRYPT: ScryptParams = { ln: 16, r: 8, p: 1 };

export class PasswordHasher {
  /** Made at once, so that not even the first unknown e-mail pays for it. */
  private readonly dummy: Promise<string>;

  constructor(private readonly params: ScryptParams = PASSWORD_SCRYPT) {
    this.dummy = hashSecret('not a password of anybody', params);
    this.dummy.catch(() => undefined); // a failure surfaces in verifyNothing, not as unhandled
  }

  hash(password: string): Promise<string> {
    return hashSecret(password, this.params);
  }

  verify(password: string, stored: string): Promise<boolean> {
    return verifySecret(password, stored);
  }

  /**
   * Spends the time of one verification against a throw-away hash, so a sign-in for an unknown
   * e-mail answers as slowly as one with a wrong password (no account discovery by timing).
   */
  async verifyNothing(password: string): Promise<false> {
    await verifySecret(password, await this.dummy);
    return false;
  }
}
