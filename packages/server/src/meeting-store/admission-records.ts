import {
  hashMark,
  hashToken,
  MAX_REMOVAL_MARKS_PER_MEETING,
  mergeMatches,
  newResumeToken,
  type AdmissionStore,
  type RemovalMark,
  type RemovalMatch,
  type ResumeGrant,
} from '../meeting/admission-store.js';
import type { Db } from '../store/schema.js';

/**
 * The AdmissionStore in the database (tables `resume_tokens` and `meeting_removals`, migration
 * 0008), so resume tokens and bans hold across restarts. Tokens are stored as hashes only.
 */
export class DbAdmissionStore implements AdmissionStore {
  constructor(
    private readonly db: Db,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * At start-up: tokens of participants that were connected when the previous process stopped
   * get the same grace as a dropped connection, and expired ones are deleted.
   */
  async afterRestart(graceMs: number): Promise<void> {
    await this.db
      .updateTable('resume_tokens')
      .set({ expires_at: new Date(this.now() + graceMs).toISOString() })
      .where('expires_at', 'is', null)
      .execute();
    await this.purge();
  }

  async issue(meetingId: string, grant: ResumeGrant): Promise<string> {
    await this.purge();
    const token = newResumeToken();
    await this.db.transaction().execute(async (tx) => {
      await tx
        .deleteFrom('resume_tokens')
        .where('meeting_id', '=', meetingId)
        .where('participant_id', '=', grant.participantId)
        .execute();
      await tx
        .insertInto('resume_tokens')
        .values({
          token_hash: hashToken(token),
          meeting_id: meetingId,
          participant_id: grant.participantId,
          state: grant.state,
          role: grant.role,
          device_id: grant.deviceId,
          user_id: grant.userId ?? null,
          signature_key: grant.signatureKey ?? null,
          display_name: grant.displayName,
          expires_at: null,
        })
        .execute();
    });
    return token;
  }

  async update(
    meetingId: string,
    participantId: string,
    patch: Partial<Pick<ResumeGrant, 'state' | 'role'>>,
  ): Promise<void> {
    if (patch.state === undefined && patch.role === undefined) return;
    await this.db
      .updateTable('resume_tokens')
      .set({ ...(patch.state ? { state: patch.state } : {}), ...(patch.role ? { role: patch.role } : {}) })
      .where('meeting_id', '=', meetingId)
      .where('participant_id', '=', participantId)
      .execute();
  }

  async expireAfter(meetingId: string, participantId: string, ms: number): Promise<void> {
    await this.db
      .updateTable('resume_tokens')
      .set({ expires_at: new Date(this.now() + ms).toISOString() })
      .where('meeting_id', '=', meetingId)
      .where('participant_id', '=', participantId)
      .execute();
  }

  async lookup(meetingId: string, participantId: string, token: string): Promise<ResumeGrant | undefined> {
    const row = await this.db
      .selectFrom('resume_tokens')
      .selectAll()
      .where('token_hash', '=', hashToken(token))
      .where('meeting_id', '=', meetingId)
      .where('participant_id', '=', participantId)
      .executeTakeFirst();
    if (!row) return undefined;
    if (row.expires_at !== null && row.expires_at <= new Date(this.now()).toISOString()) return undefined;
    return {
      participantId: row.participant_id,
      state: row.state,
      role: row.role,
      deviceId: row.device_id,
      userId: row.user_id ?? undefined,
      signatureKey: row.signature_key ?? undefined,
      displayName: row.display_name,
    };
  }

  async revoke(meetingId: string, participantId: string): Promise<void> {
    await this.db
      .deleteFrom('resume_tokens')
      .where('meeting_id', '=', meetingId)
      .where('participant_id', '=', participantId)
      .execute();
  }

  async forgetMeeting(meetingId: string): Promise<void> {
    await this.db.deleteFrom('resume_tokens').where('meeting_id', '=', meetingId).execute();
    await this.db.deleteFrom('meeting_removals').where('meeting_id', '=', meetingId).execute();
  }

  async recordRemoval(meetingId: string, marks: RemovalMark[], banned: boolean): Promise<void> {
    if (marks.length === 0) return;
    const createdAt = new Date(this.now()).toISOString();
    await this.db
      .insertInto('meeting_removals')
      .values(
        marks.map((m) => ({
          meeting_id: meetingId,
          mark: hashMark(meetingId, m),
          banned: banned ? 1 : 0,
          created_at: createdAt,
        })),
      )
      .execute();
    // The oldest marks beyond the cap go: a host cannot make the server hold unbounded rows.
    const keep = await this.db
      .selectFrom('meeting_removals')
      .select('id')
      .where('meeting_id', '=', meetingId)
      .orderBy('id', 'desc')
      .offset(MAX_REMOVAL_MARKS_PER_MEETING)
      .limit(1)
      .executeTakeFirst();
    if (keep?.id !== undefined)
      await this.db
        .deleteFrom('meeting_removals')
        .where('meeting_id', '=', meetingId)
        .where('id', '<=', keep.id)
        .execute();
  }

  async matchRemovals(meetingId: string, marks: RemovalMark[]): Promise<RemovalMatch[]> {
    if (marks.length === 0) return [];
    const hashed = marks.map((mark) => ({ mark, hash: hashMark(meetingId, mark) }));
    const rows = await this.db
      .selectFrom('meeting_removals')
      .select(['mark', 'banned'])
      .where('meeting_id', '=', meetingId)
      .where(
        'mark',
        'in',
        hashed.map((h) => h.hash),
      )
      .execute();
    return mergeMatches(
      rows.flatMap((r) =>
        hashed.filter((h) => h.hash === r.mark).map((h) => ({ mark: h.mark, banned: r.banned === 1 })),
      ),
    );
  }

  private async purge(): Promise<void> {
    await this.db
      .deleteFrom('resume_tokens')
      .where('expires_at', '<=', new Date(this.now()).toISOString())
      .execute();
  }
}
