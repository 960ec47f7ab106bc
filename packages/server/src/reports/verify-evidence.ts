import {
  fromBase64,
  toBase64,
  verifyChatEvidence,
  verifyMembershipProof,
  type GroupMember,
  type ProvenGroup,
} from '@conclave/crypto';
import {
  e2eeAppPayloadSchema,
  type chatVerdictSchema,
  type ChatEvidence,
  type ReportEvidence,
  type ReportVerification,
} from '@conclave/protocol';
import type { z } from 'zod';
import { AccountStore } from '../accounts/account-store.js';
import type { Db } from '../store/schema.js';
import type { ChatSealer, RelayedChat } from './chat-seal.js';
import { accountsWithKey } from './resolve-reported.js';
import { verifyClipVerdict } from './verify-clip.js';

type ChatVerdict = z.infer<typeof chatVerdictSchema>;

/** What the verifier asks the server (the key directory, the chat seal); the CLI passes the same. */
export interface EvidenceContext {
  meetingId: string;
  /**
   * The reported member's MLS signature keys (base64): the one the report or the meeting's
   * records name, or every device key of the reported account when only the account is known
   * (the CLI's re-check). Empty: nothing names the member, and no signature counts as theirs.
   */
  reportedKeys: ReadonlySet<string>;
  /** The reported participant's id, when the report names one (a standard meeting's chat must be from it). */
  reportedParticipantId: string | undefined;
  /** Whether the key directory holds `publicKey` (base64) for this account's device. */
  isDeviceKey(userId: string, deviceId: string, publicKey: string): Promise<boolean>;
  /** Whether any account registered `publicKey` (base64). */
  keyHasAccount(publicKey: string): Promise<boolean>;
  /** Checks a standard meeting's chat seal (reports/chat-seal.ts). */
  checkSeal(chat: RelayedChat, seal: string): boolean;
}

/**
 * The context the server and `conclave admin reports show` verify with: the key directory of
 * this database (AccountStore.deviceKey, accountsWithKey) and the chat sealer.
 */
export function serverEvidenceContext(
  db: Db,
  sealer: ChatSealer,
  reported: Pick<EvidenceContext, 'meetingId' | 'reportedKeys' | 'reportedParticipantId'>,
): EvidenceContext {
  const accounts = new AccountStore(db);
  return {
    ...reported,
    isDeviceKey: async (userId, deviceId, key) =>
      (await accounts.deviceKey(userId, deviceId))?.publicKey === key,
    keyHasAccount: async (key) => (await accountsWithKey(db, key)).length > 0,
    checkSeal: (chat, seal) => sealer.verify(chat, seal),
  };
}

const decoder = new TextDecoder('utf-8', { fatal: true });

const fail = (detail: string): ChatVerdict => ({ verdict: 'does_not_verify', detail });

/** The verified proofs by index; a proof that does not verify is its reason. */
type Proofs = (ProvenGroup | string)[];

async function proveAll(evidence: ReportEvidence): Promise<Proofs> {
  return Promise.all(
    evidence.proofs.map(async (p) => {
      try {
        return await verifyMembershipProof({
          groupContext: fromBase64(p.groupContext),
          ratchetTree: fromBase64(p.ratchetTree),
        });
      } catch (e) {
        return `its membership proof does not verify (${e instanceof Error ? e.message : String(e)})`;
      }
    }),
  );
}

/**
 * The verdict of a verified signature by `sender`: whose key it is. `account_key` when the
 * credential names an account and the key directory holds this key for that account's device;
 * `guest_key` for a guest credential whose key no account registered; otherwise it does not
 * verify (a credential naming an account without its key is a claim nobody vouches for).
 */
async function keyVerdict(
  sender: GroupMember,
  ctx: EvidenceContext,
): Promise<{ verdict: 'account_key' | 'guest_key'; detail: string; accountId?: string } | { fail: string }> {
  const key = toBase64(sender.signaturePublicKey);
  const id = sender.identity;
  if (id.kind === 'user') {
    if (await ctx.isDeviceKey(id.userId, id.deviceId, key))
      return {
        verdict: 'account_key',
        detail: "signed by this account's registered device key",
        accountId: id.userId,
      };
    return { fail: 'signed by a key that is not in the key directory for the account its credential names' };
  }
  if (id.kind === 'guest') {
    if (await ctx.keyHasAccount(key))
      return { fail: 'a guest credential with a key registered to an account' };
    return { verdict: 'guest_key', detail: "signed by a guest's key (registered to no account)" };
  }
  return { fail: 'signed with the server credential' };
}

async function verifyMlsChat(
  item: Extract<ChatEvidence, { kind: 'mls_chat' }>,
  proofs: Proofs,
  ctx: EvidenceContext,
): Promise<{ verdict: ChatVerdict; accountId?: string }> {
  const group = proofs[item.proof];
  if (group === undefined) return { verdict: fail(`no membership proof number ${item.proof}`) };
  if (typeof group === 'string') return { verdict: fail(group) };
  // The group id is random per MLS group and the server keeps none after a meeting (a meeting
  // can have several: a new group after a restart), so whether this is the reported meeting's
  // group is not checked here; the proof binds the message to its group and epoch, and the
  // signature to the sender's leaf.
  const check = await verifyChatEvidence(
    { framedContent: fromBase64(item.framedContent), signature: fromBase64(item.signature) },
    group,
  );
  if (!check.ok) return { verdict: fail(check.reason) };
  let payload;
  try {
    payload = e2eeAppPayloadSchema.safeParse(JSON.parse(decoder.decode(check.applicationData)));
  } catch {
    return { verdict: fail('the signed message is not a Conclave application message') };
  }
  if (!payload.success || payload.data.kind !== 'chat')
    return { verdict: fail('the signed message is not a chat message') };
  if (!ctx.reportedKeys.has(toBase64(check.sender.signaturePublicKey)))
    return { verdict: fail('signed by another member than the reported one') };
  const key = await keyVerdict(check.sender, ctx);
  if ('fail' in key) return { verdict: fail(key.fail) };
  return {
    verdict: {
      verdict: key.verdict,
      detail: key.detail,
      text: payload.data.text,
      sentAt: payload.data.sentAt,
      senderName: check.sender.identity.displayName,
    },
    accountId: key.accountId,
  };
}

function verifyServerChat(
  item: Extract<ChatEvidence, { kind: 'server_chat' }>,
  ctx: EvidenceContext,
): ChatVerdict {
  const sealed = ctx.checkSeal(
    { meetingId: ctx.meetingId, from: item.from, text: item.text, sentAt: item.sentAt },
    item.seal,
  );
  if (!sealed) return fail('the server did not relay this message in this meeting (its seal does not match)');
  if (ctx.reportedParticipantId !== undefined && item.from !== ctx.reportedParticipantId)
    return fail('relayed from another participant than the reported one');
  return {
    verdict: 'server_relayed',
    detail: 'relayed by this server in this meeting, exactly as shown',
    text: item.text,
    sentAt: item.sentAt,
    senderName: item.displayName,
  };
}

/**
 * Checks every piece of a report's evidence (the server on arrival; `conclave admin reports
 * show` again). Never throws for what a reporter sent: malformed crypto is `does_not_verify`
 * with the reason. Chat: the membership proofs (tree hash), each message's MLS signature, the
 * decoded payload (a chat message), the signer being the reported member, and whose key it is;
 * a standard meeting's chat: the server's seal. The clip: reports/verify-clip.ts. Screenshots
 * are counted (nothing can check them).
 */
export async function verifyEvidence(
  evidence: ReportEvidence,
  ctx: EvidenceContext,
): Promise<ReportVerification> {
  const proofs = await proveAll(evidence);
  const chat: ChatVerdict[] = [];
  let signerAccountId: string | undefined;
  for (const item of evidence.chat) {
    if (item.kind === 'server_chat') {
      chat.push(verifyServerChat(item, ctx));
      continue;
    }
    try {
      const r = await verifyMlsChat(item, proofs, ctx);
      chat.push(r.verdict);
      signerAccountId ??= r.accountId;
    } catch (e) {
      chat.push(fail(`cannot be checked (${e instanceof Error ? e.message : String(e)})`));
    }
  }
  // Indexed as the evidence's proofs (attestations point into them); a proof that failed is a hole.
  const groups: ProvenGroup[] = [];
  proofs.forEach((p, i) => {
    if (typeof p !== 'string') groups[i] = p;
  });
  const clip = evidence.clip && (await verifyClipVerdict(evidence.clip, groups, ctx.reportedKeys));
  return {
    chat,
    ...(clip ? { clip } : {}),
    screenshots: evidence.screenshots.length,
    ...(signerAccountId ? { signerAccountId } : {}),
  };
}
