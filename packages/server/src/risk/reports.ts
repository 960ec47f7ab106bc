import { reportVerificationSchema } from '@conclave/protocol';
import { evidenceVerified } from '../reports/report-store.js';
import type { Db } from '../store/schema.js';

/** More open reports than this are not read: the engine's report signal tops out far below. */
const READ_AT_MOST = 200;

function verifiedFor(verification: string, userId: string): boolean {
  try {
    const parsed = reportVerificationSchema.safeParse(JSON.parse(verification));
    return parsed.success && evidenceVerified(parsed.data, userId);
  } catch {
    return false;
  }
}

/**
 * Open reports against an account, as the risk engine counts them (reports/, Report a User):
 * only reports whose evidence verified as this account's (a message signed by its registered
 * device key, a message this server relayed from it, a verified clip), and one per reporter (an
 * account, or a guest's network). A report anybody can file without evidence would otherwise be
 * a way to push someone else's account into a step-up or a denial.
 */
export async function countOpenReports(db: Db, userId: string): Promise<number> {
  const rows = await db
    .selectFrom('reports')
    .select(['reporter_user_id', 'reporter_network', 'verification'])
    .where('reported_user_id', '=', userId)
    .where('status', '=', 'open')
    .orderBy('created_at', 'desc')
    .limit(READ_AT_MOST)
    .execute();
  const reporters = new Set<string>();
  for (const r of rows) {
    if (verifiedFor(r.verification, userId))
      reporters.add(r.reporter_user_id ?? `network:${r.reporter_network}`);
  }
  return reporters.size;
}
