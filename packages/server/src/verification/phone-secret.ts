import { createHmac, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

export const PHONE_SECRET_FILE_NAME = 'phone-hmac.key';
const SECRET_BYTES = 32;

/**
 * The server secret that keys phone-number hashes, from its file (base64, 32 bytes), made with
 * mode 0600 on first use. It is kept out of the database on purpose: with the database alone,
 * nobody can hash candidate numbers and look them up (the number space is small enough to walk).
 * Losing or replacing the file resets every number's quota; several nodes must share it.
 */
export function loadOrCreatePhoneSecret(dataDir: string, file?: string): Buffer {
  const path = file ?? join(dataDir, PHONE_SECRET_FILE_NAME);
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  try {
    // `wx`: only if it does not exist, so two processes starting together keep one secret.
    writeFileSync(path, `${randomBytes(SECRET_BYTES).toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  const secret = Buffer.from(readFileSync(path, 'utf8').trim(), 'base64');
  if (secret.length < SECRET_BYTES) {
    throw new Error(`the phone secret in ${path} must hold at least ${SECRET_BYTES} bytes of base64`);
  }
  return secret;
}

/** Keyed hashes of phone numbers and SMS codes (domain-separated uses of one secret). */
export class PhoneHasher {
  constructor(private readonly secret: Buffer) {}

  /** HMAC-SHA256(secret, E.164 number), base64url. What the database keeps instead of the number. */
  numberHash(e164: string): string {
    return this.mac(`conclave/phone-number/v1\n${e164}`);
  }

  /** The stored form of an SMS code, bound to its verification id. */
  codeHash(verificationId: string, code: string): string {
    return this.mac(`conclave/sms-code/v1\n${verificationId}\n${code}`);
  }

  private mac(data: string): string {
    return createHmac('sha256', this.secret).update(data, 'utf8').digest('base64url');
  }
}
