import { concatBytes } from './bytes.js';

/** An opaque node:crypto KeyObject. */
export type NodeKey = {
  readonly type: string;
  export(o: { format: 'der'; type: 'spki' | 'pkcs8' }): Uint8Array;
};

interface NodeCipher {
  setAAD(aad: Uint8Array): void;
  update(data: Uint8Array): Uint8Array;
  final(): Uint8Array;
}

/**
 * The parts of node:crypto this package uses, all synchronous. Looked up at run time
 * (`process.getBuiltinModule`, no import), so the browser bundle never sees the module and
 * browsers keep WebCrypto.
 */
export interface NodeCrypto {
  createHash(alg: string): { update(d: Uint8Array): { digest(): Uint8Array } };
  createHmac(alg: string, key: Uint8Array): { update(d: Uint8Array): { digest(): Uint8Array } };
  createPublicKey(k: { key: Uint8Array; format: 'der'; type: 'spki' }): NodeKey;
  createPrivateKey(k: { key: Uint8Array; format: 'der'; type: 'pkcs8' }): NodeKey;
  createSecretKey(key: Uint8Array): NodeKey;
  /** A private key's public key (X25519, Ed25519). */
  createPublicKey(k: NodeKey): NodeKey;
  /** X25519: the shared secret (throws for an all-zero result, a small-order point). */
  diffieHellman(k: { privateKey: NodeKey; publicKey: NodeKey }): Uint8Array;
  sign(alg: null, data: Uint8Array, key: NodeKey): Uint8Array;
  verify(alg: null, data: Uint8Array, key: NodeKey, signature: Uint8Array): boolean;
  createCipheriv(alg: string, key: NodeKey, iv: Uint8Array): NodeCipher & { getAuthTag(): Uint8Array };
  createDecipheriv(
    alg: string,
    key: NodeKey,
    iv: Uint8Array,
  ): NodeCipher & { setAuthTag(tag: Uint8Array): void };
}

let cached: NodeCrypto | null | undefined;

/** node:crypto when this runs in Node, else undefined. */
export function nodeCrypto(): NodeCrypto | undefined {
  if (cached === undefined) {
    const p = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
    const mod = p?.getBuiltinModule?.('node:crypto') as NodeCrypto | undefined;
    cached = typeof mod?.createHmac === 'function' && typeof mod.createCipheriv === 'function' ? mod : null;
  }
  return cached ?? undefined;
}

/** A Node Buffer (or any view) as a plain Uint8Array over the same bytes. */
export const plainBytes = (b: Uint8Array): Uint8Array<ArrayBuffer> =>
  new Uint8Array(b.buffer as ArrayBuffer, b.byteOffset, b.byteLength);

/**
 * A raw X25519 or Ed25519 key (32 bytes) as node:crypto imports it: RFC 8410's DER
 * SubjectPublicKeyInfo (public) or PKCS#8 OneAsymmetricKey (private). The two curves' encodings
 * differ only in the algorithm OID's last byte (1.3.101.110 and 1.3.101.112).
 */
export function rfc8410Der(curve: 'X25519' | 'Ed25519', kind: 'spki' | 'pkcs8', raw: Uint8Array): Uint8Array {
  const oid = curve === 'X25519' ? 0x6e : 0x70;
  const algorithm = [0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, oid];
  const head =
    kind === 'spki'
      ? [0x30, 0x2a, ...algorithm, 0x03, 0x21, 0x00]
      : [0x30, 0x2e, 0x02, 0x01, 0x00, ...algorithm, 0x04, 0x22, 0x04, 0x20];
  return concatBytes(Uint8Array.from(head), raw);
}

/** AES-GCM with a 16-byte tag on node:crypto: ciphertext ‖ tag. `key` is 16 or 32 bytes' KeyObject. */
export function gcmSeal(
  node: NodeCrypto,
  key: NodeKey,
  keyBytes: 16 | 32,
  nonce: Uint8Array,
  aad: Uint8Array | undefined,
  pt: Uint8Array,
): Uint8Array<ArrayBuffer> {
  const c = node.createCipheriv(`aes-${keyBytes * 8}-gcm`, key, nonce);
  if (aad?.length) c.setAAD(aad);
  return concatBytes(c.update(pt), c.final(), c.getAuthTag());
}

/** The inverse of `gcmSeal`; throws when the input is shorter than the tag or does not authenticate. */
export function gcmOpen(
  node: NodeCrypto,
  key: NodeKey,
  keyBytes: 16 | 32,
  nonce: Uint8Array,
  aad: Uint8Array | undefined,
  sealed: Uint8Array,
): Uint8Array<ArrayBuffer> {
  if (sealed.length < 16) throw new Error('AES-GCM ciphertext shorter than its tag');
  const d = node.createDecipheriv(`aes-${keyBytes * 8}-gcm`, key, nonce);
  d.setAuthTag(sealed.subarray(sealed.length - 16));
  if (aad?.length) d.setAAD(aad);
  const head = d.update(sealed.subarray(0, sealed.length - 16));
  return concatBytes(head, d.final()); // final throws when the tag does not match
}

type ShaName = 'SHA-256' | 'SHA-512';
const NODE_HASH: Record<ShaName, string> = { 'SHA-256': 'sha256', 'SHA-512': 'sha512' };

/**
 * SHA-256/512 of `data`: node:crypto (synchronous) in Node, WebCrypto in browsers. In a Node
 * process that also moves media, every WebCrypto call's completion queues behind the media
 * callbacks (docs/architecture.md, Load).
 */
export async function shaDigest(hash: ShaName, data: Uint8Array): Promise<Uint8Array<ArrayBuffer>> {
  const node = nodeCrypto();
  if (node) return new Uint8Array(node.createHash(NODE_HASH[hash]).update(data).digest());
  return new Uint8Array(await crypto.subtle.digest(hash, new Uint8Array(data)));
}

/** A keyed HMAC (RFC 2104): node:crypto in Node, else a WebCrypto key imported once. */
export async function hmacSigner(
  hash: ShaName,
  key: Uint8Array,
): Promise<(data: Uint8Array) => Promise<Uint8Array<ArrayBuffer>>> {
  const node = nodeCrypto();
  if (node) {
    const k = new Uint8Array(key);
    return async (data) => new Uint8Array(node.createHmac(NODE_HASH[hash], k).update(data).digest());
  }
  const k = await crypto.subtle.importKey('raw', new Uint8Array(key), { name: 'HMAC', hash }, false, [
    'sign',
  ]);
  return async (data) => new Uint8Array(await crypto.subtle.sign('HMAC', k, new Uint8Array(data)));
}
