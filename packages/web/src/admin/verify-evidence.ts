import {
  fromBase64,
  openEvidence,
  toBase64,
  verifyChatEvidence,
  verifyClip,
  verifyMembershipProof,
  type ClipVerification,
  type GroupMember,
  type ModerationKeyFile,
  type ProvenGroup,
} from '@conclave/crypto';
import {
  e2eeAppPayloadSchema,
  reportEvidenceSchema,
  type AdminReportResponse,
  type EvidenceVerdict,
  type ReportEvidence,
} from '@conclave/protocol';

type Report = AdminReportResponse['report'];

/** One chat message as this page found it. */
export interface ChatCheck {
  verdict: EvidenceVerdict;
  /** What was checked, or why it does not verify. */
  detail: string;
  /** The text the sender signed (or the server sealed); only when it verifies. */
  text?: string;
  sentAt?: number;
  senderName?: string;
  /** `page`: checked here, in this browser; `server`: only the server can (its seal key). */
  checkedBy: 'page' | 'server';
}

export interface ClipCheck {
  verdict: 'verified' | 'does_not_verify';
  detail: string;
  frames: number;
  verifiedFrames: number;
  durationMs: number;
  senderName?: string;
  /** The decrypted frames, for playback (empty when nothing decrypts). */
  decrypted: ClipVerification['decrypted'];
}

export interface OpenedEvidence {
  chat: ChatCheck[];
  clip?: ClipCheck;
  screenshots: ReportEvidence['screenshots'];
}

/** Looks a (user, device) up in the server's key directory: its public key (base64), or undefined. */
export type DirectoryLookup = (userId: string, deviceId: string) => Promise<string | undefined>;

/**
 * Opens a report's sealed evidence with the moderators' key (HPKE, aad = the report id) and
 * checks every piece again in this browser with the functions the server used on arrival:
 * membership proofs (tree hash against the group context), each message's MLS signature
 * against the proven sender leaf, the payload decoded as the sender's chat, the signer being
 * the reported participant, and the key directory for "this account's registered device key";
 * the clip with `verifyClip` (every frame decrypts under the clip's KID keys, is the reported
 * leaf's, and is covered by an attestation that leaf signed). A standard meeting's chat seal is
 * an HMAC only the server can check: its verdict is shown as the server's.
 *
 * Throws Error with a sentence for a report without evidence or a key that does not open it.
 */
export async function openReportEvidence(
  report: Report,
  key: ModerationKeyFile,
  directory: DirectoryLookup,
): Promise<OpenedEvidence> {
  if (!report.sealedEvidence) {
    throw new Error(
      report.evidenceExpiresAt
        ? 'the evidence of this report was deleted at the end of its retention period'
        : 'this report has no evidence kept (the server had no moderators’ key when it arrived)',
    );
  }
  let plain: Uint8Array;
  try {
    plain = await openEvidence(
      key.privateKey,
      fromBase64(report.sealedEvidence),
      new TextEncoder().encode(report.id),
    );
  } catch {
    throw new Error(
      'this key file does not open the evidence: it was sealed to another moderators’ key (an older or newer one)',
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(plain));
  } catch {
    throw new Error('the opened evidence is not JSON');
  }
  const parsed = reportEvidenceSchema.safeParse(json);
  if (!parsed.success) throw new Error('the opened evidence is not in the report format');
  const evidence = parsed.data;
  const proofs = await Promise.all(
    evidence.proofs.map(async (p) => {
      try {
        return await verifyMembershipProof({
          groupContext: fromBase64(p.groupContext),
          ratchetTree: fromBase64(p.ratchetTree),
        });
      } catch (e) {
        return new Error((e as Error).message);
      }
    }),
  );
  const check = new ReportedCheck(report);
  const chat: ChatCheck[] = [];
  for (const [i, item] of evidence.chat.entries()) {
    if (item.kind === 'server_chat') {
      const server = report.verification.chat[i];
      chat.push({
        verdict: server?.verdict ?? 'does_not_verify',
        detail: `Sealed with this server's key when it relayed the message: only the server can check that seal. Its check: ${server?.detail ?? 'none recorded'}.`,
        text: item.text,
        sentAt: item.sentAt,
        senderName: item.displayName,
        checkedBy: 'server',
      });
      continue;
    }
    const group = proofs[item.proof];
    if (!group) {
      chat.push(bad(`it names membership proof ${item.proof}, which the report does not carry`));
      continue;
    }
    if (group instanceof Error) {
      chat.push(bad(`its membership proof does not verify: ${group.message}`));
      continue;
    }
    const r = await verifyChatEvidence(
      { framedContent: fromBase64(item.framedContent), signature: fromBase64(item.signature) },
      group,
    );
    if (!r.ok) {
      chat.push(bad(r.reason));
      continue;
    }
    const payload = decodePayload(r.applicationData);
    if (!payload) {
      chat.push(bad('the signed content is not a chat message'));
      continue;
    }
    const notReported = check.notReported(r.sender);
    if (notReported) {
      chat.push(bad(notReported));
      continue;
    }
    const signer = await keyVerdict(r.sender, directory, report.verification.chat[i]?.verdict);
    chat.push({
      ...signer,
      text: payload.text,
      sentAt: payload.sentAt,
      senderName: r.sender.identity.displayName,
      checkedBy: 'page',
    });
  }
  const clip = evidence.clip ? await checkClip(evidence, proofs, check) : undefined;
  return { chat, clip, screenshots: evidence.screenshots };
}

function bad(detail: string): ChatCheck {
  return { verdict: 'does_not_verify', detail, checkedBy: 'page' };
}

function decodePayload(data: Uint8Array): { text: string; sentAt: number } | undefined {
  try {
    const p = e2eeAppPayloadSchema.safeParse(
      JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(data)),
    );
    return p.success && p.data.kind === 'chat' ? p.data : undefined;
  } catch {
    return undefined;
  }
}

/** Whether a signer is the participant the report names (its account, or its guest key). */
class ReportedCheck {
  constructor(private readonly report: Report) {}

  /** Why `m` is not the reported participant, or undefined when it is (or nothing names them). */
  notReported(m: GroupMember): string | undefined {
    const key = toBase64(m.signaturePublicKey);
    const guestKey = this.report.reportedGuestKey;
    const account = this.report.reportedAccount;
    if (guestKey !== undefined && key !== guestKey)
      return `signed by ${m.identity.displayName} (leaf ${m.leafIndex}), not by the reported guest’s key`;
    if (account !== undefined && (m.identity.kind !== 'user' || m.identity.userId !== account.id))
      return `signed by ${m.identity.displayName} (leaf ${m.leafIndex}), not by the reported account`;
    return undefined;
  }
}

/**
 * account_key when the directory lists the signer's key for the account and device its
 * credential names; guest_key for a guest credential. A user credential whose key the directory
 * does not list now: the server's verdict on arrival when it was account_key (a ban or a
 * removed device takes keys out of the directory later), else does_not_verify.
 */
async function keyVerdict(
  m: GroupMember,
  directory: DirectoryLookup,
  serverVerdict: EvidenceVerdict | undefined,
): Promise<{ verdict: EvidenceVerdict; detail: string }> {
  const id = m.identity;
  if (id.kind === 'guest')
    return {
      verdict: 'guest_key',
      detail: 'The MLS signature verifies with the key of a guest in the group.',
    };
  if (id.kind !== 'user')
    return { verdict: 'does_not_verify', detail: 'the signer is not a participant (a server credential)' };
  let listed: string | undefined;
  let failed = false;
  try {
    listed = await directory(id.userId, id.deviceId);
  } catch {
    failed = true;
  }
  if (listed === toBase64(m.signaturePublicKey))
    return {
      verdict: 'account_key',
      detail: 'The MLS signature verifies, and the key directory lists this key for the account’s device.',
    };
  if (serverVerdict === 'account_key')
    return {
      verdict: 'account_key',
      detail: `The MLS signature verifies; the key directory ${failed ? 'could not be read' : 'no longer lists this key'}, so the account link is the server’s check when the report arrived.`,
    };
  return {
    verdict: 'does_not_verify',
    detail:
      'The MLS signature verifies, but the key is not registered to the account its credential names (an unverified claim).',
  };
}

async function checkClip(
  evidence: ReportEvidence,
  proofs: (ProvenGroup | Error)[],
  check: ReportedCheck,
): Promise<ClipCheck> {
  const clip = evidence.clip;
  if (!clip) throw new Error('no clip');
  const videoFrames = clip.frames.length;
  const failedProof = clip.attestations.map((a) => proofs[a.proof]).find((p) => !p || p instanceof Error);
  if (failedProof !== undefined || proofs.some((p) => p instanceof Error)) {
    return {
      verdict: 'does_not_verify',
      detail: `a membership proof the clip needs does not verify${failedProof instanceof Error ? `: ${failedProof.message}` : ''}`,
      frames: videoFrames,
      verifiedFrames: 0,
      durationMs: 0,
      decrypted: [],
    };
  }
  const r = await verifyClip(clip, proofs as ProvenGroup[]);
  const notReported = r.sender ? check.notReported(r.sender) : 'the clip’s sender is not in the proven group';
  const ok = r.ok && notReported === undefined;
  return {
    verdict: ok ? 'verified' : 'does_not_verify',
    detail: ok ? r.detail : (notReported ?? r.detail),
    frames: r.frames,
    verifiedFrames: r.verifiedFrames,
    durationMs: r.durationMs,
    senderName: r.sender?.identity.displayName,
    decrypted: r.decrypted,
  };
}
