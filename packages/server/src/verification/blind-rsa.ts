import {
  constants,
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPair,
  privateDecrypt,
  publicEncrypt,
  verify,
  type KeyObject,
} from 'node:crypto';
import { promisify } from 'node:util';
import { CodedError, VERIFICATION_TOKEN_SUITE } from '@conclave/protocol';
import type { Db } from '../store/schema.js';

/**
 * Modulus size of the verification-token key. 2048 bits: RFC 9474's minimum and what Privacy
 * Pass issuers use; key generation takes ~0.1 s (3072: ~0.5 s) and the client's blinding in
 * JavaScript big integers stays fast on phones. A token only proves "one phone check was
 * passed"; forging one needs the key, not a broken number-to-account link.
 */
export const BLIND_RSA_MODULUS_BITS = 2048;
/** RSABSSA-SHA384-PSS-*: salt length = hash length (48). */
const PSS_SALT_LENGTH = 48;

export const BLIND_RSA_KEY_NAME = `verification_token:${VERIFICATION_TOKEN_SUITE}`;

/** Input the signer refuses, or a faulty signature: a 500 `internal_error` whose text is only logged. */
export class BlindSignError extends CodedError {
  constructor(message: string) {
    super('internal_error', message);
    this.name = 'BlindSignError';
  }
}

/**
 * The server side of RFC 9474 RSABSSA-SHA384-PSS-Randomized with Node's own RSA (OpenSSL):
 * `BlindSign` is the raw RSA private operation on the blinded message (`privateDecrypt` with
 * RSA_NO_PADDING: OpenSSL's CRT with base blinding, ~1 ms for 2048 bits, against ~100 ms for a
 * BigInt modpow with d), checked with the public operation before it is returned (RFC 9474
 * §4.3 step 3-4: a fault in the private operation must not leak the key). Tokens are verified as
 * plain RSASSA-PSS (SHA-384, MGF1-SHA-384, salt 48), which is what a finalized blind signature is.
 *
 * The key is used for nothing else (RFC 9474 §7.1: a blind-signing key signs whatever it is
 * given).
 */
export class BlindSigner {
  readonly modulusBytes: number;
  readonly publicKeySpki: Buffer;
  /** base64url SHA-256 of the SPKI. */
  readonly keyId: string;
  private readonly publicKey: KeyObject;
  /** n, big-endian, `modulusBytes` long. */
  private readonly modulus: Buffer;

  constructor(private readonly privateKey: KeyObject) {
    if (privateKey.asymmetricKeyType !== 'rsa') throw new Error('a blind-signing key must be RSA');
    this.publicKey = createPublicKey(privateKey);
    const bits = privateKey.asymmetricKeyDetails?.modulusLength ?? 0;
    if (bits < 2048) throw new Error('a blind-signing key must have at least 2048 bits');
    this.modulusBytes = Math.ceil(bits / 8);
    this.publicKeySpki = this.publicKey.export({ type: 'spki', format: 'der' });
    this.keyId = createHash('sha256').update(this.publicKeySpki).digest('base64url');
    this.modulus = Buffer.from(this.publicKey.export({ format: 'jwk' }).n ?? '', 'base64url');
  }

  /** Why a blinded message cannot be signed (wrong size, not below n), or undefined if it can. */
  invalidBlindedMessage(blindedMessage: Uint8Array): string | undefined {
    if (blindedMessage.length !== this.modulusBytes)
      return `the blinded message must be ${this.modulusBytes} bytes`;
    if (this.modulus.length === this.modulusBytes && Buffer.compare(blindedMessage, this.modulus) >= 0) {
      return 'the blinded message is not below the modulus';
    }
    return undefined;
  }

  get modulusBits(): number {
    return this.privateKey.asymmetricKeyDetails?.modulusLength ?? 0;
  }

  /** RFC 9474 BlindSign. Throws `BlindSignError` for input of the wrong size or not below n. */
  blindSign(blindedMessage: Uint8Array): Buffer {
    const invalid = this.invalidBlindedMessage(blindedMessage);
    if (invalid) throw new BlindSignError(invalid);
    const m = Buffer.from(blindedMessage);
    let s: Buffer;
    try {
      s = privateDecrypt({ key: this.privateKey, padding: constants.RSA_NO_PADDING }, m);
    } catch {
      // OpenSSL refuses a value >= n ("data too large for modulus").
      throw new BlindSignError('the blinded message is not below the modulus');
    }
    const check = publicEncrypt({ key: this.publicKey, padding: constants.RSA_NO_PADDING }, s);
    if (!check.equals(m)) throw new BlindSignError('signing failure');
    return s;
  }

  /** RSASSA-PSS-VERIFY of a finalized token signature over its (prepared) message. */
  verify(message: Uint8Array, signature: Uint8Array): boolean {
    if (signature.length !== this.modulusBytes) return false;
    try {
      return verify(
        'sha384',
        message,
        { key: this.publicKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: PSS_SALT_LENGTH },
        signature,
      );
    } catch {
      return false;
    }
  }

  static async generate(bits = BLIND_RSA_MODULUS_BITS): Promise<BlindSigner> {
    const { privateKey } = await promisify(generateKeyPair)('rsa', {
      modulusLength: bits,
      publicExponent: 0x10001,
    });
    return new BlindSigner(privateKey);
  }

  /**
   * The server's key from `server_keys`, made on first use. Kept like the MLS external-sender
   * key: private key in clear (PKCS#8 DER, base64) under the data dir's permissions.
   */
  static async loadOrCreate(db: Db, bits = BLIND_RSA_MODULUS_BITS): Promise<BlindSigner> {
    const existing = await read(db);
    if (existing) return existing;
    const generated = await BlindSigner.generate(bits);
    await db
      .insertInto('server_keys')
      .values({
        name: BLIND_RSA_KEY_NAME,
        public_key: generated.publicKeySpki.toString('base64'),
        private_key: generated.privateKey.export({ type: 'pkcs8', format: 'der' }).toString('base64'),
        created_at: new Date().toISOString(),
      })
      // Two processes on a fresh database: the first insert wins and both use it.
      .onConflict((oc) => oc.column('name').doNothing())
      .execute();
    const stored = await read(db);
    if (!stored) throw new Error(`could not store the server key ${BLIND_RSA_KEY_NAME}`);
    return stored;
  }
}

async function read(db: Db): Promise<BlindSigner | undefined> {
  const row = await db
    .selectFrom('server_keys')
    .select('private_key')
    .where('name', '=', BLIND_RSA_KEY_NAME)
    .executeTakeFirst();
  if (!row) return undefined;
  return new BlindSigner(
    createPrivateKey({ key: Buffer.from(row.private_key, 'base64'), format: 'der', type: 'pkcs8' }),
  );
}
