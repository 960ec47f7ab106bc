import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

/**
 * Secrets (meeting passcodes, host secrets) are stored as scrypt hashes in a self-describing
 * string: `scrypt$ln=<log2 N>,r=<r>,p=<p>$<salt base64url>$<hash base64url>`, with a random
 * 16-byte salt per record and a 32-byte output. The parameters travel with the hash, so they
 * can be raised later without invalidating stored records.
 */
export interface ScryptParams {
  /** log2 of the CPU/memory cost N. */
  ln: number;
  r: number;
  p: number;
}

/**
 * Passcodes are short and chosen by people: N = 2^14, r = 8 (16 MiB, about 50 ms on one core)
 * makes an offline guess expensive while a join stays fast. Online guessing is stopped by the
 * rate limit (passcode-limiter.ts), which also bounds how much scrypt work one client causes.
 */
export const PASSCODE_SCRYPT: ScryptParams = { ln: 14, r: 8, p: 1 };

/**
 * Host secrets are 256 random bits: nothing to guess, so stretching adds nothing. The hash only
 * keeps a stolen database from granting host powers, and a cheap one (N = 2^10, 1 MiB, < 1 ms)
 * keeps requests with wrong secrets from becoming a CPU lever. Same format, same verifier.
 */
export const HOST_SECRET_SCRYPT: ScryptParams = { ln: 10, r: 8, p: 1 };

const SALT_BYTES = 16;
const KEY_BYTES = 32;
/** Upper bounds accepted when verifying, so a corrupt record cannot make us allocate gigabytes. */
const MAX_LN = 20;
const MAX_R = 32;
const MAX_P = 16;

function derive(secret: string, salt: Buffer, params: ScryptParams): Promise<Buffer> {
  const N = 2 ** params.ln;
  const options: ScryptOptions = {
    N,
    r: params.r,
    p: params.p,
    maxmem: 256 * N * params.r * params.p + 1024 * 1024,
  };
  // NFC so the same passcode typed on different systems (composed vs decomposed accents) matches.
  const input = Buffer.from(secret.normalize('NFC'), 'utf8');
  return new Promise((resolve, reject) => {
    scrypt(input, salt, KEY_BYTES, options, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

export async function hashSecret(secret: string, params: ScryptParams): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const key = await derive(secret, salt, params);
  return `scrypt$ln=${params.ln},r=${params.r},p=${params.p}$${salt.toString('base64url')}$${key.toString('base64url')}`;
}

const FORMAT = /^scrypt\$ln=(\d{1,2}),r=(\d{1,2}),p=(\d{1,2})\$([A-Za-z0-9_-]+)\$([A-Za-z0-9_-]+)$/;

/**
 * Whether `secret` matches `stored`, in time independent of where they differ. A record that
 * does not parse never matches (and is not an exception: callers treat it as a wrong secret).
 */
export async function verifySecret(secret: string, stored: string): Promise<boolean> {
  const m = FORMAT.exec(stored);
  if (!m) return false;
  const [ln, r, p] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (ln < 1 || ln > MAX_LN || r < 1 || r > MAX_R || p < 1 || p > MAX_P) return false;
  const salt = Buffer.from(m[4] ?? '', 'base64url');
  const expected = Buffer.from(m[5] ?? '', 'base64url');
  if (expected.length !== KEY_BYTES) return false;
  const actual = await derive(secret, salt, { ln, r, p });
  return timingSafeEqual(actual, expected);
}
