import { ProtocolError, type ModerationActionRequest, type ModerationLogEntry } from '@conclave/protocol';
import type { Db, ReportsTable } from '../store/schema.js';
import { BannedKeys } from './banned-keys.js';
import { ModerationLog, type ModerationActor } from './log.js';
import { reportRow } from './queue.js';

/** What ends an account's live meetings: the server's MeetingStore (its change event reaches the rooms). */
export interface MeetingEnder {
  end(id: string): Promise<unknown>;
}

export interface ModerationActionsDeps {
  db: Db;
  meetings: MeetingEnder;
  now?: () => number;
}

/** Who acts: the label the audit log keeps, and the moderator's own account (none for the CLI). */
export interface Moderator {
  actor: ModerationActor;
  accountId?: string | undefined;
}

/** What an action did, for the caller to enforce on live connections (live-enforcement.ts). */
export interface ActionResult {
  entry: ModerationLogEntry;
  report: { id: string; status: ReportStatus; outcome?: string };
  /** The account whose live connections must close (suspend, ban). */
  blockedAccount: string | undefined;
  /** The keys now banned (ban). */
  bannedKeys: string[];
}

type ReportStatus = ReportsTable['status'];

const DISMISSED = 'The moderators reviewed the report and took no action.';

/** Actions on an account: a report against a guest allows only dismiss and ban (of its key). */
const NEEDS_ACCOUNT = new Set<ModerationActionRequest['action']>([
  'warn',
  'suspend',
  'revoke_e2ee',
  'end_meetings',
]);

const DAY_MS = 86_400_000;

/**
 * The moderators' actions on a report, one code path for the admin API (moderation/routes.ts)
 * and `conclave admin reports act` (actor `cli`):
 * - dismiss: the report is dismissed (refused once action was taken on it);
 * - warn: logged; the account reads it on its account page (GET /api/account/notices);
 * - suspend N days: status `suspended` until then (it ends by itself, accounts/standing.ts);
 * - ban: status `banned`, and its registered device keys (a guest report: the guest's key) into
 *   `banned_keys`, refused at every meeting's join;
 * - suspend and ban end the account's sessions, step-up tickets and resume tokens (its live
 *   connections are closed by the caller: live-enforcement.ts);
 * - revoke_e2ee: the phone check's entitlement goes (`phone_verified` = 0): hosting E2EE needs a
 *   new check, within the yearly quota of whatever number is used (the server never knew which
 *   number unlocked the account); a paid plan keeps E2EE hosting (the plan is `conclave admin plan`);
 * - end_meetings: every meeting the account created that has not ended is ended.
 * Each writes a `moderation_log` entry and sets the report's status, decision time and outcome —
 * the sentence the reporter reads (GET /api/reports/mine), never the moderator's note, which
 * only the log keeps.
 */
export class ModerationActions {
  private readonly now: () => number;

  constructor(private readonly deps: ModerationActionsDeps) {
    this.now = deps.now ?? Date.now;
  }

  async act(reportId: string, req: Omit<ModerationActionRequest, 'v'>, by: Moderator): Promise<ActionResult> {
    const { db } = this.deps;
    const row = await reportRow(db, reportId);
    if (!row) throw new ProtocolError('unknown_report', 'no such report');
    const accountId = row.reported_user_id;
    if (by.accountId !== undefined && by.accountId === accountId)
      throw new ProtocolError('forbidden', 'a moderator cannot decide a report against its own account');
    if (NEEDS_ACCOUNT.has(req.action) && accountId === null)
      throw new ProtocolError(
        'bad_request',
        'this report names no account (the reported was a guest): dismiss it, or ban the guest’s key',
      );
    if (req.action === 'ban' && accountId === null && row.reported_guest_key === null)
      throw new ProtocolError('bad_request', 'this report names neither an account nor a key to ban');
    if (req.action === 'suspend' && req.days === undefined)
      throw new ProtocolError('bad_request', 'a suspension needs "days" (1-365)');
    if (req.action !== 'suspend' && req.days !== undefined)
      throw new ProtocolError('bad_request', '"days" is only for a suspension');
    if (req.action === 'dismiss' && row.status === 'actioned')
      throw new ProtocolError(
        'report_decided',
        'action was already taken on this report: it cannot be dismissed',
      );

    // Meetings end outside the transaction: MeetingStore writes with its own connection and tells the rooms.
    let effect: { detail: string; outcome: string; blocked?: boolean; keys?: string[] };
    if (req.action === 'end_meetings') effect = await this.endMeetings(accountId!);
    else effect = { detail: '', outcome: '' };

    return db.transaction().execute(async (trx) => {
      if (req.action !== 'end_meetings') effect = await this.apply(trx, row, req);
      const note = req.note.length > 0 ? `; note: ${req.note}` : '';
      const entry = await new ModerationLog(trx, this.now).write({
        actor: by.actor,
        action: req.action,
        reportId: row.id,
        accountId,
        detail: `${effect.detail}${note}`,
      });
      const status: ReportStatus = req.action === 'dismiss' ? 'dismissed' : 'actioned';
      const outcome = combineOutcome(row.outcome, effect.outcome);
      await trx
        .updateTable('reports')
        .set({ status, decided_at: entry.at, outcome })
        .where('id', '=', row.id)
        .execute();
      return {
        entry,
        report: { id: row.id, status, outcome },
        blockedAccount: effect.blocked ? (accountId ?? undefined) : undefined,
        bannedKeys: effect.keys ?? [],
      };
    });
  }

  private async apply(
    trx: Db,
    row: ReportsTable,
    req: Omit<ModerationActionRequest, 'v'>,
  ): Promise<{ detail: string; outcome: string; blocked?: boolean; keys?: string[] }> {
    const accountId = row.reported_user_id;
    const user =
      accountId === null
        ? undefined
        : await trx.selectFrom('users').selectAll().where('id', '=', accountId).executeTakeFirst();
    if (accountId !== null && !user)
      throw new ProtocolError('bad_request', 'the reported account no longer exists');
    switch (req.action) {
      case 'dismiss':
        return { detail: 'dismissed', outcome: DISMISSED };
      case 'warn':
        return { detail: 'warned the account', outcome: 'The moderators warned the account.' };
      case 'suspend': {
        if (user!.status === 'banned')
          throw new ProtocolError('bad_request', 'the account is banned: a suspension would lift the ban');
        const days = req.days!;
        const until = new Date(this.now() + days * DAY_MS).toISOString();
        await trx
          .updateTable('users')
          .set({ status: 'suspended', suspended_until: until })
          .where('id', '=', accountId!)
          .execute();
        await this.signOut(trx, accountId!);
        return {
          detail: `suspended for ${days} ${days === 1 ? 'day' : 'days'}, until ${until}`,
          outcome: `The moderators suspended the account for ${days} ${days === 1 ? 'day' : 'days'}.`,
          blocked: true,
        };
      }
      case 'ban': {
        const keys: string[] = [];
        if (accountId !== null) {
          await trx
            .updateTable('users')
            .set({ status: 'banned', suspended_until: null })
            .where('id', '=', accountId)
            .execute();
          await this.signOut(trx, accountId);
          const devices = await trx
            .selectFrom('device_keys')
            .select('public_key')
            .where('user_id', '=', accountId)
            .execute();
          keys.push(...devices.map((d) => d.public_key));
        }
        if (row.reported_guest_key !== null) keys.push(row.reported_guest_key);
        const added = await new BannedKeys(trx, this.now).ban(keys, { accountId, reportId: row.id });
        const what = accountId !== null ? 'banned the account' : 'banned the guest’s key';
        return {
          detail: `${what}; ${added} ${added === 1 ? 'key' : 'keys'} newly banned (${new Set(keys).size} in all)`,
          outcome:
            accountId !== null
              ? 'The moderators banned the account from this server.'
              : 'The moderators banned the reported guest from this server.',
          blocked: accountId !== null,
          keys,
        };
      }
      case 'revoke_e2ee': {
        await trx.updateTable('users').set({ phone_verified: 0 }).where('id', '=', accountId!).execute();
        const paid = user!.plan === 'paid' ? ' (its paid plan still lets it host E2EE meetings)' : '';
        return {
          detail: `revoked the phone check's E2EE entitlement${paid}`,
          outcome:
            'The moderators withdrew the account’s permission to host end-to-end encrypted meetings without a new check.',
        };
      }
      case 'end_meetings':
        throw new Error('end_meetings is applied before the transaction');
    }
  }

  /** Sessions, step-up tickets and resume tokens of the account go: nothing signed in stays. */
  private async signOut(trx: Db, accountId: string): Promise<void> {
    await trx.deleteFrom('sessions').where('user_id', '=', accountId).execute();
    await trx.deleteFrom('step_up_tickets').where('user_id', '=', accountId).execute();
    await trx.deleteFrom('resume_tokens').where('user_id', '=', accountId).execute();
  }

  private async endMeetings(accountId: string): Promise<{ detail: string; outcome: string }> {
    const live = await this.deps.db
      .selectFrom('meetings')
      .select('id')
      .where('host_user_id', '=', accountId)
      .where('ended_at', 'is', null)
      .execute();
    for (const m of live) await this.deps.meetings.end(m.id);
    const ids = live.map((m) => m.id);
    return {
      detail: `ended ${ids.length} ${ids.length === 1 ? 'meeting' : 'meetings'}${ids.length > 0 ? `: ${ids.join(', ')}` : ''}`,
      outcome: 'The moderators ended the account’s live meetings.',
    };
  }
}

/** The reporter's outcome after one more action: the sentences so far, the new one added once. */
function combineOutcome(previous: string | null, next: string): string {
  const sentences = (previous ?? '').length > 0 && previous !== DISMISSED ? [previous!] : [];
  if (!sentences.some((s) => s.includes(next))) sentences.push(next);
  return sentences.join(' ');
}
