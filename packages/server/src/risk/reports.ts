import type { Db } from '../store/schema.js';

/**
 * Open reports against an account (Report a User is not built yet: the `reports` table holds
 * only what this count needs, and nothing writes to it but tests and, later, the report flow).
 */
export async function countOpenReports(db: Db, userId: string): Promise<number> {
  const { count } = await db
    .selectFrom('reports')
    .select((eb) => eb.fn.countAll<number | string>().as('count'))
    .where('reported_user_id', '=', userId)
    .where('status', '=', 'open')
    .executeTakeFirstOrThrow();
  return Number(count);
}
