import type { Db } from '../store/schema.js';

/** A participant of a running meeting (the hub's `participants()` gives these). */
export interface LiveParticipant {
  meetingId: string;
  participantId: string;
  userId: string | undefined;
  /** base64 MLS signature key of its key package (E2EE meetings). */
  signatureKey: string | undefined;
}

/** What the server found out about the reported participant. */
export interface ResolvedParticipant {
  /** The account, from the key directory or the meeting's records. */
  userId: string | undefined;
  /** The MLS signature key the evidence must be signed with (base64). */
  signatureKey: string | undefined;
}

/** The accounts that registered this key (normally one; anyone may register any public key). */
export async function accountsWithKey(db: Db, publicKey: string): Promise<string[]> {
  const rows = await db
    .selectFrom('device_keys')
    .select('user_id')
    .distinct()
    .where('public_key', '=', publicKey)
    .limit(10)
    .execute();
  return rows.map((r) => r.user_id);
}

/**
 * Resolves whom a report is against from what the reporter's client saw, never from its word
 * about accounts: the named participant in the live meeting or in the meeting's resume records
 * (a participant that dropped moments ago) — the account signed in on its connection — else
 * the signature key in the key directory, when exactly one account holds it (anyone may
 * register any public key, so two holders decide nothing). A participant found with another key
 * than the one named is not the one named: the key wins. The evidence's verdicts say afterwards
 * whether the key was this account's (`signerAccountId`).
 */
export async function resolveReported(
  db: Db,
  live: readonly LiveParticipant[],
  meetingId: string,
  named: { participantId?: string | undefined; signatureKey?: string | undefined },
): Promise<ResolvedParticipant> {
  let participant: { userId: string | undefined; signatureKey: string | undefined } | undefined;
  if (named.participantId !== undefined) {
    participant = live.find((p) => p.meetingId === meetingId && p.participantId === named.participantId);
    if (!participant) {
      const row = await db
        .selectFrom('resume_tokens')
        .select(['user_id', 'signature_key'])
        .where('meeting_id', '=', meetingId)
        .where('participant_id', '=', named.participantId)
        .executeTakeFirst();
      participant = row && { userId: row.user_id ?? undefined, signatureKey: row.signature_key ?? undefined };
    }
    if (
      participant &&
      named.signatureKey !== undefined &&
      participant.signatureKey !== undefined &&
      participant.signatureKey !== named.signatureKey
    )
      participant = undefined;
  }
  const signatureKey = named.signatureKey ?? participant?.signatureKey;
  if (participant?.userId !== undefined) return { userId: participant.userId, signatureKey };
  if (signatureKey !== undefined) {
    const holders = await accountsWithKey(db, signatureKey);
    if (holders.length === 1) return { userId: holders[0], signatureKey };
  }
  return { userId: undefined, signatureKey };
}
