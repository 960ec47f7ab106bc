import { Aes128Gcm, CipherSuite, DhkemX25519HkdfSha256, HkdfSha256 } from '@hpke/core';
import { sha256 } from '@noble/hashes/sha2.js';
import { concatBytes, fromBase64, toBase64, toHex } from '../util/bytes.js';
import { EvidenceError } from './errors.js';

/**
 * Report evidence at rest: sealed with HPKE (RFC 9180, base mode, DHKEM(X25519, HKDF-SHA256),
 * HKDF-SHA256, AES-128-GCM) to the moderators' public key. The server holds only the public key
 * (it seals on arrival and cannot open afterwards); moderators open a box with the private key
 * file the admin made (`conclave admin moderation-key create`), in the CLI or in the console
 * page. WebCrypto does the X25519 and AES work, in Node 20 and in browsers alike.
 *
 * A box is `version (1 byte, 1) || enc (32 bytes) || ciphertext`; the `aad` (the report id) is
 * bound into the AEAD, so a box moved to another report does not open.
 */

const BOX_VERSION = 1;
/** X25519 public keys, private keys and the encapsulated key are 32 bytes. */
const KEY_BYTES = 32;
/** HPKE's info string: the seal is for this purpose only. */
const INFO = new TextEncoder().encode('Conclave report evidence v1');

let suite: CipherSuite | undefined;
function hpke(): CipherSuite {
  suite ??= new CipherSuite({
    kem: new DhkemX25519HkdfSha256(),
    kdf: new HkdfSha256(),
    aead: new Aes128Gcm(),
  });
  return suite;
}

/** A view the WebCrypto-based library accepts (an ArrayBuffer-backed copy). */
const buf = (u: Uint8Array): ArrayBuffer => u.slice().buffer;

export interface ModerationKeyPair {
  /** Raw X25519 public key, 32 bytes. */
  publicKey: Uint8Array;
  /** Raw X25519 private key, 32 bytes. */
  privateKey: Uint8Array;
}

export async function generateModerationKeyPair(): Promise<ModerationKeyPair> {
  const kem = hpke().kem;
  const pair = await kem.generateKeyPair();
  return {
    publicKey: new Uint8Array(await kem.serializePublicKey(pair.publicKey)),
    privateKey: new Uint8Array(await kem.serializePrivateKey(pair.privateKey)),
  };
}

/** Seals `plaintext` to the moderators' public key. */
export async function sealEvidence(
  publicKey: Uint8Array,
  plaintext: Uint8Array,
  aad: Uint8Array,
): Promise<Uint8Array> {
  if (publicKey.length !== KEY_BYTES)
    throw new EvidenceError('bad_key', 'a moderation public key is 32 bytes');
  const s = hpke();
  let recipientPublicKey: CryptoKey;
  try {
    recipientPublicKey = await s.kem.deserializePublicKey(buf(publicKey));
  } catch (e) {
    throw new EvidenceError('bad_key', `not an X25519 public key: ${(e as Error).message}`);
  }
  const { ct, enc } = await s.seal({ recipientPublicKey, info: buf(INFO) }, buf(plaintext), buf(aad));
  return concatBytes(new Uint8Array([BOX_VERSION]), new Uint8Array(enc), new Uint8Array(ct));
}

/**
 * Opens a box with the moderators' private key. Throws EvidenceError: `bad_box` for a box that is
 * not one, `wrong_key` when it does not open (another key, another report's aad, altered bytes).
 */
export async function openEvidence(
  privateKey: Uint8Array,
  box: Uint8Array,
  aad: Uint8Array,
): Promise<Uint8Array> {
  if (box.length < 1 + KEY_BYTES + 16 || box[0] !== BOX_VERSION)
    throw new EvidenceError('bad_box', 'not a sealed evidence box of this version');
  if (privateKey.length !== KEY_BYTES)
    throw new EvidenceError('bad_key', 'a moderation private key is 32 bytes');
  const s = hpke();
  let recipientKey: CryptoKey;
  try {
    recipientKey = await s.kem.deserializePrivateKey(buf(privateKey));
  } catch (e) {
    throw new EvidenceError('bad_key', `not an X25519 private key: ${(e as Error).message}`);
  }
  const enc = buf(box.subarray(1, 1 + KEY_BYTES));
  try {
    return new Uint8Array(
      await s.open({ recipientKey, enc, info: buf(INFO) }, buf(box.subarray(1 + KEY_BYTES)), buf(aad)),
    );
  } catch {
    throw new EvidenceError(
      'wrong_key',
      'the evidence does not open with this key (another moderation key, or altered)',
    );
  }
}

/** A moderation key's id and fingerprint: hex of the first 16 bytes of SHA-256(public key). */
export function moderationKeyId(publicKey: Uint8Array): string {
  return toHex(sha256(publicKey).subarray(0, 16));
}

/** The private key file the admin keeps (JSON text). */
export interface ModerationKeyFile extends ModerationKeyPair {
  /** `moderationKeyId(publicKey)`: which reports' evidence this key opens. */
  keyId: string;
  /** ISO time the key was made. */
  createdAt: string;
}

const FILE_KIND = 'conclave-moderation-key';

/** The key file's text: `{kind, version, keyId, createdAt, publicKey, privateKey}` (base64 keys). */
export function encodeModerationKeyFile(pair: ModerationKeyPair, createdAt: string): string {
  const file = {
    kind: FILE_KIND,
    version: 1,
    keyId: moderationKeyId(pair.publicKey),
    createdAt,
    publicKey: toBase64(pair.publicKey),
    privateKey: toBase64(pair.privateKey),
  };
  return `${JSON.stringify(file, null, 2)}\n`;
}

/**
 * Reads a key file. Throws EvidenceError('bad_key') for text that is not one (wrong JSON, key
 * lengths, or a key id that is not the public key's).
 */
export function parseModerationKeyFile(text: string): ModerationKeyFile {
  const fail = (why: string): never => {
    throw new EvidenceError('bad_key', `not a Conclave moderation key file: ${why}`);
  };
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return fail('not JSON');
  }
  if (typeof raw !== 'object' || raw === null) return fail('not a JSON object');
  const o = raw as Record<string, unknown>;
  if (o.kind !== FILE_KIND || o.version !== 1) return fail('unknown kind or version');
  const key = (name: string): Uint8Array => {
    const v = o[name];
    if (typeof v !== 'string' || !/^[A-Za-z0-9+/]+={0,2}$/.test(v)) return fail(`${name} is not base64`);
    const bytes = fromBase64(v);
    if (bytes.length !== KEY_BYTES) return fail(`${name} is not ${KEY_BYTES} bytes`);
    return bytes;
  };
  const publicKey = key('publicKey');
  const privateKey = key('privateKey');
  if (typeof o.createdAt !== 'string') return fail('createdAt is missing');
  if (o.keyId !== moderationKeyId(publicKey)) return fail('keyId is not the public key’s');
  return { keyId: o.keyId, createdAt: o.createdAt, publicKey, privateKey };
}
