import type { HostingEntitlement } from '@conclave/protocol';

/**
 * Who may host what (ARCHITECTURE.md "Accounts, E2EE entitlement and anti-abuse"):
 * - no account (guest): may join meetings, may host nothing;
 * - signed in: may host standard meetings;
 * - E2EE hosting: plan `paid`, or a free account that redeemed a phone-verification token.
 *
 * The meeting API calls this with the session's account (`null` for none) before creating a
 * meeting, and answers `e2ee_not_entitled` (403) when `mode: 'e2ee'` is asked without `e2ee`.
 */
export function hostingEntitlement(
  user: { plan: 'free' | 'paid'; phoneVerified: boolean } | null | undefined,
): HostingEntitlement {
  if (!user) return { standard: false, e2ee: false, reason: 'guest' };
  if (user.plan === 'paid') return { standard: true, e2ee: true, reason: 'paid' };
  if (user.phoneVerified) return { standard: true, e2ee: true, reason: 'phone_verified' };
  return { standard: true, e2ee: false, reason: 'verification_required' };
}
