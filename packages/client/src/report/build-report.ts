import {
  MAX_REPORT_PROOFS,
  PROTOCOL_VERSION,
  type ChatEvidence,
  type ClipEvidence,
  type MembershipProofWire,
  type ReportReason,
  type SubmitReportRequest,
} from '@conclave/protocol';
import { ConclaveError } from '../errors.js';
import type { ReportableMeeting, ReportablePerson } from './report-log.js';

export interface ReportScreenshot {
  mime: 'image/png' | 'image/jpeg';
  /** base64 */
  data: string;
  capturedAt: number;
}

/** What the reporter chose: every piece of evidence is named explicitly, nothing is added. */
export interface ReportChoice {
  reported: ReportablePerson;
  reason: ReportReason;
  text: string;
  /** Ids of received chat messages (ReportableChat.id); each must be from the reported person. */
  chatIds: string[];
  /** From `ConclaveClient.clipEvidence` (E2EE meetings that attest, during the meeting only). */
  clip?: { clip: ClipEvidence; proofs: MembershipProofWire[] };
  screenshots?: ReportScreenshot[];
}

/** The messages of `snapshot` that `choice` attaches, in the order they arrived. */
function chosenMessages(snapshot: ReportableMeeting, choice: ReportChoice) {
  const wanted = new Set(choice.chatIds);
  const chosen = snapshot.chat.filter((c) => wanted.has(c.id));
  if (chosen.length !== wanted.size)
    throw new ConclaveError('bad_request', 'a chosen chat message is no longer kept on this device');
  const r = choice.reported;
  for (const c of chosen) {
    const fromReported =
      snapshot.mode === 'e2ee'
        ? c.senderKey !== undefined && c.senderKey === r.signatureKey
        : c.from !== undefined && c.from === r.participantId;
    if (!fromReported)
      throw new ConclaveError(
        'bad_request',
        `the message "${c.text.slice(0, 40)}" is not from ${r.displayName}`,
      );
    if (!c.evidence)
      throw new ConclaveError(
        'bad_request',
        `the message "${c.text.slice(0, 40)}" has no evidence to attach`,
      );
  }
  return chosen;
}

/**
 * The report request for `choice`: the chosen messages with their evidence, each epoch's
 * membership proof once, the clip with its proofs merged in (indices renumbered), screenshots.
 * Throws ConclaveError('bad_request') when a choice cannot be attached as it is.
 */
export function buildReport(snapshot: ReportableMeeting, choice: ReportChoice): SubmitReportRequest {
  if (choice.reported.isSelf) throw new ConclaveError('bad_request', 'you cannot report yourself');
  const proofs: MembershipProofWire[] = [];
  const proofIndex = (p: MembershipProofWire): number => {
    const i = proofs.findIndex((q) => q.groupContext === p.groupContext && q.ratchetTree === p.ratchetTree);
    if (i >= 0) return i;
    if (proofs.length >= MAX_REPORT_PROOFS)
      throw new ConclaveError(
        'bad_request',
        `the chosen evidence spans more than ${MAX_REPORT_PROOFS} key changes: choose fewer messages`,
      );
    proofs.push(p);
    return proofs.length - 1;
  };
  const chat: ChatEvidence[] = chosenMessages(snapshot, choice).map((c) => {
    const e = c.evidence!;
    if (e.kind !== 'mls_chat') return e;
    const proof = c.proofEpoch === undefined ? undefined : snapshot.proofs[c.proofEpoch];
    if (!proof) throw new ConclaveError('bad_request', 'a chosen message lost the proof of its epoch');
    return { ...e, proof: proofIndex(proof) };
  });
  let clip: ClipEvidence | undefined;
  if (choice.clip) {
    const given = choice.clip;
    clip = {
      ...given.clip,
      attestations: given.clip.attestations.map((a) => {
        const p = given.proofs[a.proof];
        if (!p) throw new ConclaveError('bad_request', 'the clip names a proof it does not carry');
        return { ...a, proof: proofIndex(p) };
      }),
    };
  }
  return {
    v: PROTOCOL_VERSION,
    meetingId: snapshot.meetingId,
    reported: {
      participantId: choice.reported.participantId,
      signatureKey: choice.reported.signatureKey,
      displayName: choice.reported.displayName,
    },
    reason: choice.reason,
    text: choice.text.trim(),
    evidence: { proofs, chat, clip, screenshots: choice.screenshots ?? [] },
  };
}
