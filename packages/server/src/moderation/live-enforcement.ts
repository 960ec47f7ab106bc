import type { LogSink } from '../logger.js';
import type { LiveParticipant } from '../meeting/hub.js';
import type { Db } from '../store/schema.js';
import { accountStanding, standingRefusal } from '../accounts/standing.js';
import { BannedKeys, chunks } from './banned-keys.js';

/** What live enforcement needs of the signaling hub (meeting/hub.ts implements it). */
export interface LiveMeetings {
  participants(): LiveParticipant[];
  expel(meetingId: string, participantId: string, reason: string): Promise<void>;
  endMeeting(meetingId: string): Promise<void>;
}

/** How often the running server compares its live meetings with the database (CLI actions, other processes). */
const DEFAULT_ENFORCEMENT_INTERVAL_MS = 5_000;

/**
 * Makes the running meetings follow the moderators' decisions. A sweep looks at everyone in a
 * running meeting and takes out whoever is signed in as a suspended or banned account or uses a
 * banned key, and ends a running meeting whose row has ended. The admin API sweeps right after
 * an action; a timer sweeps every few seconds for what another process decided (`conclave admin
 * reports act` writes only the database). Joins are refused at the door anyway (sessions,
 * admission gate); this closes the connections that were already in.
 */
export class LiveEnforcement {
  private hub: LiveMeetings | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private readonly bans: BannedKeys;

  constructor(
    private readonly db: Db,
    private readonly logger: LogSink,
    private readonly now: () => number = Date.now,
  ) {
    this.bans = new BannedKeys(db, now);
  }

  /** The hub opens after the HTTP app (conclave.ts): until then a sweep has nothing to do. */
  attach(hub: LiveMeetings): void {
    this.hub = hub;
  }

  start(intervalMs = DEFAULT_ENFORCEMENT_INTERVAL_MS): void {
    this.timer ??= setInterval(() => {
      void this.sweep().catch((err: unknown) => this.logger.error({ err }, 'moderation sweep failed'));
    }, intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.hub = undefined;
  }

  /** One sweep at a time; a sweep asked for while one runs waits for it and runs again. */
  async sweep(): Promise<void> {
    const previous = this.running;
    const next = (async () => {
      await previous?.catch(() => undefined);
      await this.sweepOnce();
    })();
    this.running = next;
    try {
      await next;
    } finally {
      if (this.running === next) this.running = undefined;
    }
  }

  private async sweepOnce(): Promise<void> {
    const hub = this.hub;
    if (!hub) return;
    const people = hub.participants();
    if (people.length === 0) return;
    const blocked = await this.blockedAccounts(people.flatMap((p) => (p.userId ? [p.userId] : [])));
    const bannedKeys = await this.bans.bannedAmong(
      people.flatMap((p) => (p.signatureKey ? [p.signatureKey] : [])),
    );
    for (const p of people) {
      const account = p.userId !== undefined ? blocked.get(p.userId) : undefined;
      const reason = account
        ? account
        : p.signatureKey !== undefined && bannedKeys.has(p.signatureKey)
          ? 'this device key was banned from this server by its moderators'
          : undefined;
      if (reason) {
        this.logger.info(
          { meetingId: p.meetingId, participantId: p.participantId },
          'moderation: participant taken out',
        );
        await hub.expel(p.meetingId, p.participantId, reason);
      }
    }
    for (const id of await this.endedMeetings([...new Set(people.map((p) => p.meetingId))])) {
      this.logger.info({ meetingId: id }, 'moderation: live meeting ended');
      await hub.endMeeting(id);
    }
  }

  /** The suspended and banned accounts among these, with the sentence their participants are told. */
  private async blockedAccounts(ids: string[]): Promise<Map<string, string>> {
    const blocked = new Map<string, string>();
    for (const part of chunks([...new Set(ids)])) {
      const rows = await this.db
        .selectFrom('users')
        .select(['id', 'status', 'suspended_until'])
        .where('id', 'in', part)
        .where('status', '!=', 'active')
        .execute();
      for (const r of rows) {
        const refusal = standingRefusal(accountStanding(r, this.now()));
        if (refusal) blocked.set(r.id, refusal.message);
      }
    }
    return blocked;
  }

  private async endedMeetings(ids: string[]): Promise<string[]> {
    const ended: string[] = [];
    for (const part of chunks(ids)) {
      const rows = await this.db
        .selectFrom('meetings')
        .select('id')
        .where('id', 'in', part)
        .where('ended_at', 'is not', null)
        .execute();
      ended.push(...rows.map((r) => r.id));
    }
    return ended;
  }
}
