import { z } from 'zod';
import type { Credential } from './ts-mls.js';
import { CryptoError } from '../errors.js';

/**
 * What a Conclave MLS basic credential says about its holder. Encoded as compact JSON with
 * a version field in the credential's `identity` bytes. `server` is only used for the
 * delivery service's external-sender credential (RFC 9420 §12.1.8.1), never for a member.
 */
export const memberIdentitySchema = z.discriminatedUnion('kind', [
  z.object({
    v: z.literal(1),
    kind: z.literal('user'),
    userId: z.string().min(1).max(128),
    deviceId: z.string().min(1).max(128),
    displayName: z.string().min(1).max(128),
  }),
  z.object({
    v: z.literal(1),
    kind: z.literal('guest'),
    deviceId: z.string().min(1).max(128),
    displayName: z.string().min(1).max(128),
  }),
  z.object({
    v: z.literal(1),
    kind: z.literal('server'),
    deviceId: z.string().min(1).max(128),
    displayName: z.string().min(1).max(128),
  }),
]);

export type CredentialIdentity = z.infer<typeof memberIdentitySchema>;
/** The identity of a participant, as the app passes it in (without the version field). */
export type MemberIdentity =
  | { kind: 'user'; userId: string; deviceId: string; displayName: string }
  | { kind: 'guest'; deviceId: string; displayName: string };

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

export class CredentialError extends CryptoError<'bad_credential'> {
  constructor(message: string) {
    super('bad_credential', message);
    this.name = 'CredentialError';
  }
}

export function encodeIdentity(
  identity: MemberIdentity | { kind: 'server'; deviceId: string; displayName: string },
): Credential {
  const parsed = memberIdentitySchema.parse({ v: 1, ...identity });
  return { credentialType: 'basic', identity: encoder.encode(JSON.stringify(parsed)) };
}

/** Decodes and validates a credential; throws CredentialError for anything that is not ours. */
export function decodeIdentity(credential: Credential): CredentialIdentity {
  if (credential.credentialType !== 'basic') throw new CredentialError('only basic credentials are accepted');
  let json: unknown;
  try {
    json = JSON.parse(decoder.decode(credential.identity));
  } catch {
    throw new CredentialError('credential identity is not UTF-8 JSON');
  }
  const result = memberIdentitySchema.safeParse(json);
  if (!result.success)
    throw new CredentialError(`credential identity is malformed: ${result.error.issues[0]?.message ?? ''}`);
  return result.data;
}

/**
 * Why a participant's credential is not the participant that was named (by a join message, or
 * by the server announcing a joiner), or `undefined` when it is: the same kind (`user` with the
 * same account, or `guest`), the same device id and the same display name (both trimmed). A
 * `server` credential never names a participant. The phrase reads after "the key package ".
 */
export function credentialMismatch(
  credential: CredentialIdentity,
  claim: { displayName: string; deviceId: string; userId?: string | undefined },
): string | undefined {
  if (credential.kind === 'server') return 'carries the server credential';
  const kind = claim.userId ? 'user' : 'guest';
  if (credential.kind !== kind) return `is a ${credential.kind} credential, not a ${kind} one`;
  if (credential.kind === 'user' && credential.userId !== claim.userId) return 'is for another account';
  if (credential.deviceId !== claim.deviceId) return 'is for another device';
  if (credential.displayName.trim() !== claim.displayName.trim())
    return `names "${credential.displayName}", not "${claim.displayName}"`;
  return undefined;
}
