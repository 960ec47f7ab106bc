import { openEvidence, type ModerationKeyFile } from '@conclave/crypto';
import { reportEvidenceSchema, type ReportEvidence, type ReportVerification } from '@conclave/protocol';
import { ChatSealer } from '../reports/chat-seal.js';
import { AccountStore } from '../accounts/account-store.js';
import { serverEvidenceContext, verifyEvidence } from '../reports/verify-evidence.js';
import type { Db, ReportsTable } from '../store/schema.js';
import { ModerationLog, type ModerationActor } from './log.js';

/** Why sealed evidence could not be read (the CLI prints it and exits 1). */
export class EvidenceUnavailable extends Error {}

/**
 * Opens a report's sealed evidence with the moderators' key file (the server never could) and
 * checks it again with the verifier the server ran on arrival (reports/verify-evidence.ts), for
 * `conclave admin reports show --key`; the audit log notes that it was opened.
 *
 * Which member the evidence must be signed by: a guest report keeps the guest's key; an account
 * report keeps the account, so any of its registered device keys counts as the reported member's
 * (one verification, not one per device key).
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
  const keys = new Set<string>();
  if (row.reported_guest_key !== null) keys.add(row.reported_guest_key);
  if (row.reported_user_id !== null)
    for (const d of await new AccountStore(db).deviceKeys(row.reported_user_id)) keys.add(d.publicKey);
  // One verification, with any of the reported account's device keys counting as its own.
  const verification = await verifyEvidence(
    evidence,
    serverEvidenceContext(db, sealer, {
      meetingId: row.meeting_id,
      reportedKeys: keys,
      reportedParticipantId: undefined,
    }),
  );
  await new ModerationLog(db).write({
    actor,
    action: 'evidence_opened',
    reportId: row.id,
    accountId: row.reported_user_id,
    detail: `opened with the moderation key ${keyFile.keyId} and checked again`,
  });
  return { evidence, verification };
}
