import {
  PROTOCOL_VERSION,
  reportReasonSchema,
  type AccountNoticesResponse,
  type ReportReason,
} from '@conclave/protocol';
import type { FastifyPluginAsync } from 'fastify';
import type { Accounts } from '../accounts/accounts.js';
import type { Db } from '../store/schema.js';

/** Most warnings an account page lists. */
const MAX_NOTICES = 50;

const REASON_WORDS: Record<ReportReason, string> = {
  harassment: 'harassment',
  hate: 'hate',
  sexual_content: 'sexual content',
  spam: 'spam',
  impersonation: 'impersonation',
  other: 'misconduct',
};

/**
 * The moderators' warnings to an account (`warn` entries of the audit log), newest first, each
 * in the server's words: the reason and the day of the report. The moderator's note stays in the
 * log: it is written for other moderators, not for the account.
 */
async function accountWarnings(db: Db, userId: string): Promise<AccountNoticesResponse['warnings']> {
  const rows = await db
    .selectFrom('moderation_log')
    .leftJoin('reports', 'reports.id', 'moderation_log.report_id')
    .select([
      'moderation_log.id as id',
      'moderation_log.at as at',
      'reports.reason as reason',
      'reports.created_at as reported_at',
    ])
    .where('moderation_log.account_id', '=', userId)
    .where('moderation_log.action', '=', 'warn')
    .orderBy('moderation_log.id', 'desc')
    .limit(MAX_NOTICES)
    .execute();
  return rows.map((r) => {
    const parsed = reportReasonSchema.safeParse(r.reason);
    const reason: ReportReason = parsed.success ? parsed.data : 'other';
    const day = (r.reported_at ?? r.at).slice(0, 10);
    return {
      id: Number(r.id),
      at: r.at,
      reason,
      text: `This server's moderators warned this account after a report of ${REASON_WORDS[reason]} in a meeting on ${day}. Further reports may lead to a suspension or a ban.`,
    };
  });
}

/** GET /api/account/notices (signed in): the account's warnings (protocol accountNoticesResponse). */
export const accountNoticesApi: FastifyPluginAsync<{ accounts: Accounts }> = async (app, { accounts }) => {
  app.get('/account/notices', async (req, reply) => {
    const user = await accounts.requireUser(req, reply);
    if (!user) return reply;
    const body: AccountNoticesResponse = {
      v: PROTOCOL_VERSION,
      warnings: await accountWarnings(accounts.db, user.id),
    };
    return reply.send(body);
  });
};
