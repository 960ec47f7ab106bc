import type { AccountRole, Plan } from '@conclave/protocol';
import { AuthEventLog, type AuthEvent } from '../risk/auth-events.js';
import type { Db } from '../store/schema.js';
import { AccountStore, type AccountUser } from './account-store.js';

/**
 * What `conclave admin` does, on a database opened by the caller. Each returns undefined when
 * no account has the e-mail.
 */
export async function adminSetPlan(db: Db, email: string, plan: Plan): Promise<AccountUser | undefined> {
  const store = new AccountStore(db);
  const user = await store.byEmail(email);
  if (!user) return undefined;
  await store.setPlan(user.id, plan);
  return { ...user, plan };
}

export async function adminSetRole(
  db: Db,
  email: string,
  role: AccountRole,
): Promise<AccountUser | undefined> {
  const store = new AccountStore(db);
  const user = await store.byEmail(email);
  if (!user) return undefined;
  await store.setRole(user.id, role);
  return { ...user, role };
}

/** An account's auth events, newest first. */
export async function adminAuthEvents(
  db: Db,
  email: string,
  limit = 100,
): Promise<{ user: AccountUser; events: AuthEvent[] } | undefined> {
  const user = await new AccountStore(db).byEmail(email);
  if (!user) return undefined;
  return { user, events: await new AuthEventLog(db).listForUser(user.id, limit) };
}
