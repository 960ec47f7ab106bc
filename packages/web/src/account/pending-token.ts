import type { VerificationToken } from '@conclave/client';

/**
 * A finalized verification token between `check` and a successful `redeem`. The phone check
 * counts against the number's yearly quota as soon as the code is right, so the token must not
 * be lost if the redeem request fails or the tab closes: it waits in localStorage and the unlock
 * page redeems it on the next visit. It names no account and no number (it is a random message
 * with the server's blind signature).
 */
const KEY = 'conclave.verificationToken';

export function savePendingToken(t: VerificationToken): void {
  try {
    localStorage.setItem(KEY, JSON.stringify(t));
  } catch {
    // Private browsing: the token lives in the page only.
  }
}

export function loadPendingToken(): VerificationToken | undefined {
  try {
    const raw = localStorage.getItem(KEY);
    if (!raw) return undefined;
    const t = JSON.parse(raw) as Partial<VerificationToken>;
    if (typeof t.message === 'string' && typeof t.signature === 'string' && typeof t.keyId === 'string') {
      return { message: t.message, signature: t.signature, keyId: t.keyId };
    }
  } catch {
    // Unreadable: treated as none.
  }
  return undefined;
}

export function clearPendingToken(): void {
  try {
    localStorage.removeItem(KEY);
  } catch {
    // Nothing to clear.
  }
}
