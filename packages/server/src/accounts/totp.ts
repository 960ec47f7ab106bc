import { generateSecret, generateURI, verify } from 'otplib';

/**
 * TOTP (RFC 6238) with otplib: SHA-1, 6 digits, 30 s (what every authenticator app reads from
 * an otpauth URI), 160-bit secrets, one step of clock drift either way, and no code accepted
 * twice (the last accepted time step is stored per account).
 */
const TOTP_ISSUER = 'Conclave';
const TOLERANCE_SECONDS = 30;

export function newTotpSecret(): string {
  return generateSecret({ length: 20 });
}

export function totpUri(secret: string, label: string): string {
  return generateURI({ issuer: TOTP_ISSUER, label, secret });
}

/** The time step of an accepted code, or undefined. `afterStep`: the last step accepted before. */
export async function checkTotp(
  secret: string,
  code: string,
  nowMs: number,
  afterStep: number | null,
): Promise<number | undefined> {
  try {
    const result = await verify({
      secret,
      token: code,
      epoch: Math.floor(nowMs / 1000),
      epochTolerance: TOLERANCE_SECONDS,
      afterTimeStep: afterStep ?? undefined,
    });
    return result.valid && 'timeStep' in result ? result.timeStep : undefined;
  } catch {
    return undefined;
  }
}
