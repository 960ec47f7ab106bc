import { z } from 'zod';
import type { Credential } from 'ts-mls';

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

export class CredentialError extends Error {
  readonly code = 'bad_credential';
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
