import {
  reportReasonSchema,
  reportVerificationSchema,
  type AdminReportListQuery,
  type AdminReportResponse,
  type AdminReportSummary,
  type EvidenceVerdict,
  type ReportReason,
  type ReportVerification,
} from '@conclave/protocol';
import { hostingEntitlement } from '../accounts/entitlement.js';
import { accountStanding } from '../accounts/standing.js';
import { countOpenReports } from '../risk/reports.js';
import type { Db, ReportsTable, UsersTable } from '../store/schema.js';
import { chunks } from './banned-keys.js';
import { ModerationLog } from './log.js';

/** What a moderator reads of a verdict (the web console and the CLI say the same). */
export const VERDICT_WORDS: Record<EvidenceVerdict, string> = {
  account_key: "signed by this account's registered device key",
  guest_key: 'signed by a guest key',
  server_relayed: 'relayed by this server (its seal verifies)',
  verified: 'verified from this sender',
  unverified: 'unverified',
  does_not_verify: 'does not verify',
};

/** The stored verdicts; a row that does not parse (it never should) reads as "nothing verified". */
function storedVerification(row: Pick<ReportsTable, 'verification'>): ReportVerification {
  try {
    const parsed = reportVerificationSchema.safeParse(JSON.parse(row.verification));
    if (parsed.success) return parsed.data;
  } catch {
    // not JSON: as below
  }
  return { chat: [], screenshots: 0 };
}

function plural(n: number, one: string): string {
  return `${n} ${one}${n === 1 ? '' : 's'}`;
}

/** The verdicts in one line each: "3 chat messages: signed by this account's registered device key". */
export function verificationSummary(v: ReportVerification): string[] {
  const lines: string[] = [];
  const byVerdict = new Map<EvidenceVerdict, number>();
  for (const c of v.chat) byVerdict.set(c.verdict, (byVerdict.get(c.verdict) ?? 0) + 1);
  for (const [verdict, n] of byVerdict) lines.push(`${plural(n, 'chat message')}: ${VERDICT_WORDS[verdict]}`);
  if (v.clip) {
    const seconds = (v.clip.durationMs / 1000).toFixed(1);
    lines.push(
      `clip of ${seconds} s (${v.clip.verifiedFrames}/${v.clip.frames} frames): ${VERDICT_WORDS[v.clip.verdict]}`,
    );
  }
  if (v.screenshots > 0) lines.push(`${plural(v.screenshots, 'screenshot')}: ${VERDICT_WORDS.unverified}`);
  if (lines.length === 0) lines.push('no evidence attached');
  return lines;
}

type UserInfo = Pick<UsersTable, 'id' | 'email' | 'display_name'>;

async function usersById(db: Db, ids: (string | null)[]): Promise<Map<string, UserInfo>> {
  const wanted = [...new Set(ids.filter((id): id is string => id !== null))];
  const found = new Map<string, UserInfo>();
  for (const part of chunks(wanted)) {
    const rows = await db
      .selectFrom('users')
      .select(['id', 'email', 'display_name'])
      .where('id', 'in', part)
      .execute();
    for (const r of rows) found.set(r.id, r);
  }
  return found;
}

function reasonOf(row: ReportsTable): ReportReason {
  const r = reportReasonSchema.safeParse(row.reason);
  return r.success ? r.data : 'other';
}

function summarize(row: ReportsTable, users: Map<string, UserInfo>): AdminReportSummary {
  const reported = row.reported_user_id !== null ? users.get(row.reported_user_id) : undefined;
  const reporter = row.reporter_user_id !== null ? users.get(row.reporter_user_id) : undefined;
  return {
    id: row.id,
    status: row.status,
    reason: reasonOf(row),
    meetingId: row.meeting_id,
    createdAt: row.created_at,
    reportedName: row.reported_name,
    ...(reported
      ? { reportedAccount: { id: reported.id, email: reported.email, displayName: reported.display_name } }
      : {}),
    ...(row.reported_guest_key !== null ? { reportedGuestKey: row.reported_guest_key } : {}),
    reporter:
      row.reporter_user_id !== null
        ? { kind: 'account', ...(reporter ? { displayName: reporter.display_name } : {}) }
        : { kind: 'guest' },
    verificationSummary: verificationSummary(storedVerification(row)),
  };
}

async function summaries(db: Db, rows: ReportsTable[]): Promise<AdminReportSummary[]> {
  const users = await usersById(
    db,
    rows.flatMap((r) => [r.reported_user_id, r.reporter_user_id]),
  );
  return rows.map((r) => summarize(r, users));
}

/** An account named by its e-mail (anything with an `@`) or its id; undefined when there is none. */
export async function resolveAccount(db: Db, emailOrId: string): Promise<string | undefined> {
  const row = await db
    .selectFrom('users')
    .select('id')
    .where(
      emailOrId.includes('@') ? 'email' : 'id',
      '=',
      emailOrId.includes('@') ? emailOrId.toLowerCase() : emailOrId,
    )
    .executeTakeFirst();
  return row?.id;
}

/** The moderation queue: newest first, filtered by status, reported account and meeting. */
export async function listReports(
  db: Db,
  query: Omit<AdminReportListQuery, 'offset'> & { offset?: number },
): Promise<AdminReportSummary[]> {
  let q = db.selectFrom('reports').selectAll();
  if (query.status !== undefined) q = q.where('status', '=', query.status);
  if (query.meeting !== undefined) q = q.where('meeting_id', '=', query.meeting);
  if (query.account !== undefined) {
    const id = await resolveAccount(db, query.account);
    if (id === undefined) return [];
    q = q.where('reported_user_id', '=', id);
  }
  const rows = await q
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .limit(query.limit)
    .offset(query.offset ?? 0)
    .execute();
  return summaries(db, rows);
}

export async function reportRow(db: Db, id: string): Promise<ReportsTable | undefined> {
  if (id.length === 0 || id.length > 64) return undefined;
  return db.selectFrom('reports').selectAll().where('id', '=', id).executeTakeFirst();
}

/** How much of the history a report page shows. */
const HISTORY_REPORTS = 50;
const HISTORY_ACTIONS = 100;
const HISTORY_AUTH_EVENTS = 20;

/**
 * One report for a moderator: its verdicts, its evidence still sealed, and the reported
 * account's (or guest key's) history — earlier reports, moderation actions, the account's status
 * and its recent auth events as risk signals. Nothing of phone numbers: the account shows only
 * whether it may host E2EE meetings, and auth events of the phone check (older versions logged
 * `verification_start`) are left out.
 */
export async function reportDetail(
  db: Db,
  id: string,
  now: number,
): Promise<Omit<AdminReportResponse, 'v'> | undefined> {
  const row = await reportRow(db, id);
  if (!row) return undefined;
  const [summary] = await summaries(db, [row]);
  const log = new ModerationLog(db);
  let earlier: ReportsTable[] = [];
  if (row.reported_user_id !== null) {
    earlier = await db
      .selectFrom('reports')
      .selectAll()
      .where('reported_user_id', '=', row.reported_user_id)
      .where('id', '!=', row.id)
      .orderBy('created_at', 'desc')
      .limit(HISTORY_REPORTS)
      .execute();
  } else if (row.reported_guest_key !== null) {
    earlier = await db
      .selectFrom('reports')
      .selectAll()
      .where('reported_guest_key', '=', row.reported_guest_key)
      .where('id', '!=', row.id)
      .orderBy('created_at', 'desc')
      .limit(HISTORY_REPORTS)
      .execute();
  }
  let actions;
  if (row.reported_user_id !== null) {
    actions = await log.list({ accountId: row.reported_user_id, limit: HISTORY_ACTIONS });
  } else {
    const ids = [row.id, ...earlier.map((r) => r.id)];
    actions = (await Promise.all(ids.map((reportId) => log.list({ reportId, limit: HISTORY_ACTIONS }))))
      .flat()
      .sort((a, b) => b.id - a.id)
      .slice(0, HISTORY_ACTIONS);
  }
  const account =
    row.reported_user_id !== null ? await accountHistory(db, row.reported_user_id, now) : undefined;
  return {
    report: {
      ...summary!,
      text: row.text,
      verification: storedVerification(row),
      ...(row.sealed_evidence !== null ? { sealedEvidence: row.sealed_evidence } : {}),
      ...(row.evidence_expires_at !== null ? { evidenceExpiresAt: row.evidence_expires_at } : {}),
    },
    history: {
      reports: await summaries(db, earlier),
      actions,
      ...(account ? { account } : {}),
    },
  };
}

async function accountHistory(
  db: Db,
  userId: string,
  now: number,
): Promise<AdminReportResponse['history']['account']> {
  const user = await db.selectFrom('users').selectAll().where('id', '=', userId).executeTakeFirst();
  if (!user) return undefined;
  const standing = accountStanding(user, now);
  const events = await db
    .selectFrom('auth_events')
    .select(['created_at', 'action', 'outcome', 'reasons'])
    .where('user_id', '=', userId)
    .where('action', 'not like', 'verification%')
    .orderBy('id', 'desc')
    .limit(HISTORY_AUTH_EVENTS)
    .execute();
  return {
    status: standing.state,
    ...(standing.state === 'suspended' ? { suspendedUntil: standing.until } : {}),
    createdAt: user.created_at,
    plan: user.plan,
    e2eeEntitled: hostingEntitlement({ plan: user.plan, phoneVerified: user.phone_verified !== 0 }).e2ee,
    openReports: await countOpenReports(db, userId),
    recentAuthEvents: events.map((e) => ({
      at: e.created_at,
      action: e.action,
      outcome: e.outcome,
      reasons: reasonDetails(e.reasons),
    })),
  };
}

function reasonDetails(json: string): string[] {
  try {
    const reasons = JSON.parse(json) as { signal?: unknown; detail?: unknown }[];
    return Array.isArray(reasons) ? reasons.map((r) => `${String(r.signal)}: ${String(r.detail)}`) : [];
  } catch {
    return [];
  }
}
