import type { UsersTable } from '../store/schema.js';

/**
 * What moderation made of an account (users.status, suspended_until; moderation/actions.ts sets
 * them). A suspension ends by itself: once `suspended_until` has passed the account is active
 * again, checked on every use (sign-in, session, join), with no timer and no write.
 */
export type AccountStanding =
  { state: 'active' } | { state: 'suspended'; until: string } | { state: 'banned' };

export function accountStanding(
  row: Pick<UsersTable, 'status' | 'suspended_until'>,
  now: number,
): AccountStanding {
  if (row.status === 'banned') return { state: 'banned' };
  if (row.status === 'suspended' && row.suspended_until !== null && Date.parse(row.suspended_until) > now)
    return { state: 'suspended', until: row.suspended_until };
  return { state: 'active' };
}

/** The refusal of a suspended or banned account (sign-in), or undefined for an active one. */
export function standingRefusal(
  standing: AccountStanding,
): { code: 'account_suspended' | 'account_banned'; message: string } | undefined {
  if (standing.state === 'banned')
    return { code: 'account_banned', message: "this account was banned by this server's moderators" };
  if (standing.state === 'suspended')
    return {
      code: 'account_suspended',
      message: `this account is suspended by this server's moderators until ${standing.until}`,
    };
  return undefined;
}
