import { randomBytes } from 'node:crypto';
import { sealEvidence } from '@conclave/crypto';
import type { ErrorCode, ReportVerification, SubmitReportRequest } from '@conclave/protocol';
import type { Refusal } from '../http/errors.js';
import type { LogSink } from '../logger.js';
import type { Db, ReportsTable } from '../store/schema.js';
import { ChatSealer } from './chat-seal.js';
import { ModerationKeys } from './moderation-keys.js';
import { ReportStore, type Reporter, type ReportedParty } from './report-store.js';
import { accountsWithKey, resolveReported, type LiveParticipant } from './resolve-reported.js';
import { serverEvidenceContext, verifyEvidence } from './verify-evidence.js';

/** The operator's settings of the same names (config.ts). */
export interface ReportSettings {
  reportsPerAccountPerDay: number;
  reportsPerNetworkPerDay: number;
  maxOpenReportsPerAccount: number;
  reportEvidenceDays: number;
}

export interface ReportServiceOptions {
  db: Db;
  settings: ReportSettings;
  logger: LogSink;
  now?: () => number;
  /** Everyone in the running meetings (the hub's `participants()`); none when absent. */
  liveParticipants?: () => readonly LiveParticipant[];
}

const DAY_MS = 86_400_000;
/** How often expired evidence is looked for. */
const SWEEP_INTERVAL_MS = 10 * 60_000;

export type SubmitResult =
  | { ok: true; id: string; verification: ReportVerification; evidenceKept: boolean }
  | ({ ok: false } & Refusal);

const refuse = (code: ErrorCode, message: string): SubmitResult => ({ ok: false, code, message });

/**
 * The verdicts as stored in clear: without the signed texts, which are evidence (sealed with the
 * rest). The moderators' page and `conclave admin reports show --key` read them from the opened
 * evidence, checked again; the reporter's answer carries them (it sent them).
 */
function withoutTexts(v: ReportVerification): ReportVerification {
  return { ...v, chat: v.chat.map(({ text: _text, ...verdict }) => verdict) };
}

/** Refusals that must not tell a reporter how many reports exist. */
const TOO_MANY_AGAINST =
  'reports against this participant are not taken at the moment; moderators are looking at the reports they have';

/**
 * Report a User on the server: who may report whom how often, the evidence checked on arrival
 * (verify-evidence.ts, verdicts stored in clear) and sealed to the current moderation key
 * (HPKE, the report id as aad: the server cannot open it afterwards), and its deletion after
 * `reportEvidenceDays`. Without a moderation key the report is taken with its verdicts and the
 * evidence is not kept (the answer says so).
 */
export class ReportService {
  readonly store: ReportStore;
  readonly keys: ModerationKeys;
  private readonly now: () => number;
  private sweep: NodeJS.Timeout | undefined;

  private constructor(
    private readonly options: ReportServiceOptions,
    /** Seals standard meetings' relayed chat (the hub) and checks the seals (the verifier). */
    readonly sealer: ChatSealer,
  ) {
    this.now = options.now ?? Date.now;
    this.store = new ReportStore(options.db, this.now);
    this.keys = new ModerationKeys(options.db);
  }

  static async open(options: ReportServiceOptions): Promise<ReportService> {
    return new ReportService(options, await ChatSealer.loadOrCreate(options.db));
  }

  /** The reporter's own limit (checked before the body is read, and again before the insert). */
  async reporterLimit(reporter: Reporter): Promise<Refusal | undefined> {
    const { reportsPerAccountPerDay, reportsPerNetworkPerDay } = this.options.settings;
    const limit = reporter.kind === 'account' ? reportsPerAccountPerDay : reportsPerNetworkPerDay;
    if ((await this.store.filedSince(reporter, DAY_MS)) < limit) return undefined;
    return {
      code: 'rate_limited',
      message:
        reporter.kind === 'account'
          ? `this account has filed ${limit} reports in the last 24 hours; try again later`
          : `guests on this network have filed ${limit} reports in the last 24 hours; sign in or try again later`,
      retryAfterSeconds: 3600,
    };
  }

  /** The checks, in order: reporter's limit, whom it is against, self, duplicate, the reported's limit; then evidence. */
  async submit(reporter: Reporter, req: SubmitReportRequest): Promise<SubmitResult> {
    const { db } = this.options;
    const limited = await this.reporterLimit(reporter);
    if (limited) return { ok: false, ...limited };

    const live = this.options.liveParticipants?.() ?? [];
    const resolved = await resolveReported(db, live, req.meetingId, req.reported);
    if (reporter.kind === 'account') {
      const own = resolved.userId === reporter.userId;
      const ownKey =
        resolved.signatureKey !== undefined &&
        (await accountsWithKey(db, resolved.signatureKey)).includes(reporter.userId);
      if (own || ownKey) return refuse('report_self', 'you cannot report yourself');
    }

    const ctx = serverEvidenceContext(db, this.sealer, {
      meetingId: req.meetingId,
      reportedKeys: new Set(resolved.signatureKey === undefined ? [] : [resolved.signatureKey]),
      reportedParticipantId: req.reported.participantId,
    });
    const verification = await verifyEvidence(req.evidence, ctx);
    // The evidence may name the account where the meeting's records did not (a participant gone
    // from the meeting): a verified signature by a registered device key does.
    const userId = resolved.userId ?? verification.signerAccountId;
    if (reporter.kind === 'account' && userId === reporter.userId)
      return refuse('report_self', 'you cannot report yourself');
    const reported: ReportedParty = {
      userId,
      guestKey: userId === undefined ? resolved.signatureKey : undefined,
      name: req.reported.displayName,
    };

    if (await this.store.openDuplicate(req.meetingId, reporter, reported))
      return refuse(
        'report_duplicate',
        'you have an open report against this participant in this meeting; moderators will look at it',
      );
    if (reported.userId !== undefined) {
      const reporters = await this.store.openReporters(reported.userId);
      const key = reporter.kind === 'account' ? `account:${reporter.userId}` : `network:${reporter.network}`;
      if (!reporters.has(key) && reporters.size >= this.options.settings.maxOpenReportsPerAccount)
        return refuse('rate_limited', TOO_MANY_AGAINST);
    }
    // Again right before the insert: concurrent submissions of one reporter passed the first check together.
    const limitedNow = await this.reporterLimit(reporter);
    if (limitedNow) return { ok: false, ...limitedNow };

    const id = randomBytes(16).toString('base64url');
    const sealed = await this.seal(id, req.evidence);
    const row: ReportsTable = {
      id,
      meeting_id: req.meetingId,
      status: 'open',
      reason: req.reason,
      text: req.text,
      reporter_user_id: reporter.kind === 'account' ? reporter.userId : null,
      reporter_network: reporter.network,
      reported_user_id: reported.userId ?? null,
      reported_guest_key: reported.guestKey ?? null,
      reported_name: reported.name,
      verification: JSON.stringify(withoutTexts(verification)),
      sealed_evidence: sealed?.box ?? null,
      sealed_key_id: sealed?.keyId ?? null,
      evidence_expires_at: sealed
        ? new Date(this.now() + this.options.settings.reportEvidenceDays * DAY_MS).toISOString()
        : null,
      created_at: new Date(this.now()).toISOString(),
      decided_at: null,
      outcome: null,
    };
    await this.store.insert(row);
    this.options.logger.info(
      { report: id, meeting: req.meetingId, reporter: reporter.kind, evidenceKept: sealed !== undefined },
      'report filed',
    );
    return { ok: true, id, verification, evidenceKept: sealed !== undefined };
  }

  /** The evidence JSON sealed to the current moderation key, or undefined without one. */
  private async seal(id: string, evidence: SubmitReportRequest['evidence']) {
    const key = await this.keys.current();
    if (!key) return undefined;
    const box = await sealEvidence(
      key.publicKey,
      new TextEncoder().encode(JSON.stringify(evidence)),
      new TextEncoder().encode(id),
    );
    return { box: Buffer.from(box).toString('base64'), keyId: key.id };
  }

  /** Deletes expired evidence now (the sweep calls it); returns how many reports'. */
  async sweepExpired(): Promise<number> {
    const ids = await this.store.expireEvidence();
    if (ids.length > 0) this.options.logger.info({ reports: ids.length }, 'expired report evidence deleted');
    return ids.length;
  }

  /** Starts the retention sweep (the composition root; `close()` stops it). */
  startSweeping(intervalMs = SWEEP_INTERVAL_MS): void {
    if (this.sweep) return;
    const run = () =>
      void this.sweepExpired().catch((err: unknown) =>
        this.options.logger.error({ err }, 'deleting expired report evidence failed'),
      );
    run();
    this.sweep = setInterval(run, intervalMs);
    this.sweep.unref();
  }

  close(): void {
    clearInterval(this.sweep);
    this.sweep = undefined;
  }
}
