import type { ReportVerification } from '@conclave/protocol';
import type { Db, ReportsTable } from '../store/schema.js';

/** Who filed a report: an account, or a guest known only by its network. */
export type Reporter =
  { kind: 'account'; userId: string; network: string } | { kind: 'guest'; network: string };

/** Whom a report is against, as the server resolved it. */
export interface ReportedParty {
  userId: string | undefined;
  /** A guest's MLS signature key (base64), when no account was found. */
  guestKey: string | undefined;
  name: string;
}

/** A reporter's identity for the per-reported limit: its account, else its network. */
const reporterKey = (r: { reporter_user_id: string | null; reporter_network: string }): string =>
  r.reporter_user_id !== null ? `account:${r.reporter_user_id}` : `network:${r.reporter_network}`;

/** The `reports` table as the submission route and the reporter's page use it. */
export class ReportStore {
  constructor(
    private readonly db: Db,
    private readonly now: () => number,
  ) {}

  private iso(offsetMs = 0): string {
    return new Date(this.now() + offsetMs).toISOString();
  }

  /** Reports filed by this reporter (an account; a guest: its network's guest reports) since `sinceMs` ago. */
  async filedSince(reporter: Reporter, sinceMs: number): Promise<number> {
    let q = this.db
      .selectFrom('reports')
      .select((eb) => eb.fn.countAll<number | string>().as('count'))
      .where('created_at', '>', this.iso(-sinceMs));
    q =
      reporter.kind === 'account'
        ? q.where('reporter_user_id', '=', reporter.userId)
        : q.where('reporter_user_id', 'is', null).where('reporter_network', '=', reporter.network);
    const { count } = await q.executeTakeFirstOrThrow();
    return Number(count);
  }

  /** The distinct reporters with an open report against the account. */
  async openReporters(userId: string): Promise<Set<string>> {
    const rows = await this.db
      .selectFrom('reports')
      .select(['reporter_user_id', 'reporter_network'])
      .distinct()
      .where('reported_user_id', '=', userId)
      .where('status', '=', 'open')
      .execute();
    return new Set(rows.map(reporterKey));
  }

  /** Whether this reporter has an open report against this party in this meeting. */
  async openDuplicate(meetingId: string, reporter: Reporter, reported: ReportedParty): Promise<boolean> {
    let q = this.db
      .selectFrom('reports')
      .select('id')
      .where('meeting_id', '=', meetingId)
      .where('status', '=', 'open');
    q =
      reporter.kind === 'account'
        ? q.where('reporter_user_id', '=', reporter.userId)
        : q.where('reporter_user_id', 'is', null).where('reporter_network', '=', reporter.network);
    if (reported.userId !== undefined) q = q.where('reported_user_id', '=', reported.userId);
    else if (reported.guestKey !== undefined) q = q.where('reported_guest_key', '=', reported.guestKey);
    else
      q = q
        .where('reported_user_id', 'is', null)
        .where('reported_guest_key', 'is', null)
        .where('reported_name', '=', reported.name);
    return (await q.executeTakeFirst()) !== undefined;
  }

  async insert(row: ReportsTable): Promise<void> {
    await this.db.insertInto('reports').values(row).execute();
  }

  /** The account's own reports, newest first (at most `limit`). */
  async filedBy(userId: string, limit = 200): Promise<ReportsTable[]> {
    return this.db
      .selectFrom('reports')
      .selectAll()
      .where('reporter_user_id', '=', userId)
      .orderBy('created_at', 'desc')
      .orderBy('id')
      .limit(limit)
      .execute();
  }

  /**
   * Deletes the sealed evidence whose retention ran out (the verdicts stay) and writes one
   * `evidence_expired` entry per report in the moderation log, in one transaction. Returns the
   * report ids.
   */
  async expireEvidence(): Promise<string[]> {
    const now = this.iso();
    return this.db.transaction().execute(async (trx) => {
      const due = await trx
        .selectFrom('reports')
        .select(['id', 'reported_user_id'])
        .where('sealed_evidence', 'is not', null)
        .where('evidence_expires_at', '<=', now)
        .limit(500)
        .execute();
      if (due.length === 0) return [];
      const ids = due.map((r) => r.id);
      await trx
        .updateTable('reports')
        .set({ sealed_evidence: null, sealed_key_id: null })
        .where('id', 'in', ids)
        .execute();
      await trx
        .insertInto('moderation_log')
        .values(
          due.map((r) => ({
            at: now,
            actor: 'server',
            action: 'evidence_expired',
            report_id: r.id,
            account_id: r.reported_user_id,
            detail: 'the retention period ended: the sealed evidence was deleted (the verdicts are kept)',
          })),
        )
        .execute();
      return ids;
    });
  }
}

/** Whether a report's evidence verified as the reported account's (or as relayed by this server). */
export function evidenceVerified(verification: ReportVerification, reportedUserId: string): boolean {
  return (
    verification.signerAccountId === reportedUserId ||
    verification.chat.some((c) => c.verdict === 'server_relayed') ||
    verification.clip?.verdict === 'verified'
  );
}
