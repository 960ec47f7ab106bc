import { openEvidence, type ModerationKeyFile } from '@conclave/crypto';
import { reportEvidenceSchema, type ReportEvidence, type ReportVerification } from '@conclave/protocol';
import { ChatSealer } from '../reports/chat-seal.js';
import { accountsWithKey } from '../reports/resolve-reported.js';
import { verifyEvidence, type EvidenceContext } from '../reports/verify-evidence.js';
import type { Db, ReportsTable } from '../store/schema.js';
import { ModerationLog, type ModerationActor } from './log.js';

/** Why sealed evidence could not be read (the CLI prints it and exits 1). */
export class EvidenceUnavailable extends Error {}

/** How many verified pieces a verification has (to choose the reported key that explains the evidence). */
function verifiedCount(v: ReportVerification): number {
  return (
    v.chat.filter((c) => c.verdict !== 'does_not_verify').length + (v.clip?.verdict === 'verified' ? 1 : 0)
  );
}

/**
 * Opens a report's sealed evidence with the moderators' key file (the server never could) and
 * checks it again with the verifier the server ran on arrival (reports/verify-evidence.ts), for
 * `conclave admin reports show --key`; the audit log notes that it was opened.
 *
 * Which member the evidence must be signed by: a guest report keeps the guest's key; an account
 * report keeps the account, so each of its registered device keys is tried and the one under
 * which most of the evidence verifies is used (an account's messages from two devices show the
 * other device's as "does not verify" here: the server's verdicts on arrival are stored too).
 * The reported participant id is not kept, so a standard meeting's chat is checked by its seal
 * (which covers the sender) alone.
 */
export async function openReportEvidence(
  db: Db,
  row: ReportsTable,
  keyFile: ModerationKeyFile,
  actor: ModerationActor,
): Promise<{ evidence: ReportEvidence; verification: ReportVerification }> {
  if (row.sealed_evidence === null)
    throw new EvidenceUnavailable(
      row.evidence_expires_at !== null || row.sealed_key_id !== null
        ? 'the evidence of this report was deleted when its retention period ended'
        : 'this report has no sealed evidence (none was attached, or there was no moderation key when it was filed)',
    );
  if (row.sealed_key_id !== null && row.sealed_key_id !== keyFile.keyId)
    throw new EvidenceUnavailable(
      `the evidence is sealed to the moderation key ${row.sealed_key_id}; this key file is ${keyFile.keyId}`,
    );
  let plaintext: Uint8Array;
  try {
    plaintext = await openEvidence(
      keyFile.privateKey,
      new Uint8Array(Buffer.from(row.sealed_evidence, 'base64')),
      new TextEncoder().encode(row.id),
    );
  } catch (e) {
    throw new EvidenceUnavailable(e instanceof Error ? e.message : String(e));
  }
  const parsed = reportEvidenceSchema.safeParse(JSON.parse(new TextDecoder().decode(plaintext)));
  if (!parsed.success) throw new EvidenceUnavailable('the opened evidence is not report evidence');
  const evidence = parsed.data;

  const sealer = await ChatSealer.loadOrCreate(db);
  const context = (reportedKey: string | undefined): EvidenceContext => ({
    meetingId: row.meeting_id,
    reportedKey,
    reportedParticipantId: undefined,
    isDeviceKey: async (userId, deviceId, key) =>
      (await db
        .selectFrom('device_keys')
        .select('user_id')
        .where('user_id', '=', userId)
        .where('device_id', '=', deviceId)
        .where('public_key', '=', key)
        .executeTakeFirst()) !== undefined,
    keyHasAccount: async (key) => (await accountsWithKey(db, key)).length > 0,
    checkSeal: (chat, seal) => sealer.verify(chat, seal),
  });
  const candidates: (string | undefined)[] = [];
  if (row.reported_guest_key !== null) candidates.push(row.reported_guest_key);
  if (row.reported_user_id !== null) {
    const devices = await db
      .selectFrom('device_keys')
      .select('public_key')
      .where('user_id', '=', row.reported_user_id)
      .execute();
    candidates.push(...devices.map((d) => d.public_key));
  }
  if (candidates.length === 0) candidates.push(undefined);
  let best: ReportVerification | undefined;
  for (const key of candidates) {
    const v = await verifyEvidence(evidence, context(key));
    if (!best || verifiedCount(v) > verifiedCount(best)) best = v;
  }
  await new ModerationLog(db).write({
    actor,
    action: 'evidence_opened',
    reportId: row.id,
    accountId: row.reported_user_id,
    detail: `opened with the moderation key ${keyFile.keyId} and checked again`,
  });
  return { evidence, verification: best! };
}
