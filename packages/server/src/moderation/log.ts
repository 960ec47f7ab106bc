import type { ModerationLogEntry } from '@conclave/protocol';
import type { Db, ModerationLogTable } from '../store/schema.js';

/** Who wrote an entry: an admin account's e-mail, or `cli` for `conclave admin reports act`. */
export type ModerationActor = string;

function toEntry(row: ModerationLogTable): ModerationLogEntry {
  return {
    id: Number(row.id),
    at: row.at,
    actor: row.actor,
    // Written only by this module and reports/ (evidence expiry), always with one of the protocol's actions.
    action: row.action as ModerationLogEntry['action'],
    ...(row.report_id !== null ? { reportId: row.report_id } : {}),
    ...(row.account_id !== null ? { accountId: row.account_id } : {}),
    detail: row.detail,
  };
}

/**
 * The moderation audit log (`moderation_log`): every moderator's action and opened evidence, and
 * the server's evidence expiry. Append-only: nothing here updates or deletes an entry.
 */
export class ModerationLog {
  constructor(
    private readonly db: Db,
    private readonly now: () => number = Date.now,
  ) {}

  async write(e: {
    actor: ModerationActor;
    action: ModerationLogEntry['action'];
    reportId?: string | undefined;
    accountId?: string | null | undefined;
    detail: string;
  }): Promise<ModerationLogEntry> {
    const row = await this.db
      .insertInto('moderation_log')
      .values({
        id: undefined,
        at: new Date(this.now()).toISOString(),
        actor: e.actor,
        action: e.action,
        report_id: e.reportId ?? null,
        account_id: e.accountId ?? null,
        detail: e.detail,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    return toEntry(row);
  }

  /** Newest first; `accountId` / `reportId` narrow it. */
  async list(filter: {
    accountId?: string | undefined;
    reportId?: string | undefined;
    limit: number;
    offset?: number;
  }): Promise<ModerationLogEntry[]> {
    let q = this.db.selectFrom('moderation_log').selectAll();
    if (filter.accountId !== undefined) q = q.where('account_id', '=', filter.accountId);
    if (filter.reportId !== undefined) q = q.where('report_id', '=', filter.reportId);
    const rows = await q
      .orderBy('id', 'desc')
      .limit(filter.limit)
      .offset(filter.offset ?? 0)
      .execute();
    return rows.map(toEntry);
  }
}
