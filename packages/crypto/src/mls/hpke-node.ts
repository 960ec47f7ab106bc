import { bigintToBytes, concatBytes } from '../util/bytes.js';
import { hkdfExpandSync } from '../util/hkdf-expand.js';
import {
  gcmOpen,
  gcmSeal,
  plainBytes,
  rfc8410Der,
  type NodeCrypto,
  type NodeKey,
} from '../util/node-crypto.js';
import { CryptoError, type CiphersuiteImpl } from './ts-mls.js';

type Hpke = CiphersuiteImpl['hpke'];
type HpkePrivateKey = Parameters<Hpke['open']>[0];
type HpkePublicKey = Parameters<Hpke['seal']>[0];

/**
 * HPKE (RFC 9180, base mode) for MLS cipher suite 1 — DHKEM(X25519, HKDF-SHA256), HKDF-SHA256,
 * AES-128-GCM — on node:crypto, synchronous, in place of ts-mls's @hpke/core over WebCrypto.
 *
 * Why: there every HKDF step is a WebCrypto importKey and a job on Node's thread pool, about 20
 * per HPKE operation, and an add or removal commit does dozens of HPKE operations (a removal's
 * UpdatePath at 30 members: ~830 WebCrypto calls). In a process that also moves media — the load
 * tool's bots, 25 to a process — each call's completion waits behind the media callbacks: a host's
 * commit of 10 adds took up to 10 s of waiting for 30 ms of work. Browsers keep ts-mls's own.
 *
 * Same bytes as @hpke/core: test/mls-hpke.test.ts checks RFC 9180's test vector for this suite
 * and seals and opens across both implementations; the MLS interop vectors run through it.
 * Keys are opaque objects holding the raw key and its KeyObject, only ever handled by this module
 * (ts-mls types them as CryptoKeys but never looks inside). Failures to open or import throw
 * ts-mls's CryptoError, as its own HPKE does.
 */
export function nodeHpke(node: NodeCrypto): Hpke {
  const enc = new TextEncoder();
  const i2osp = (v: number, n: number) => bigintToBytes(BigInt(v), n);
  const KEM_ID = 0x0020; // DHKEM(X25519, HKDF-SHA256)
  const KDF_ID = 0x0001; // HKDF-SHA256
  const AEAD_ID = 0x0001; // AES-128-GCM
  const [Nh, Nk, Nn, Nsecret] = [32, 16, 12, 32];
  const HPKE_V1 = enc.encode('HPKE-v1');
  const KEM_SUITE = concatBytes(enc.encode('KEM'), i2osp(KEM_ID, 2));
  const HPKE_SUITE = concatBytes(enc.encode('HPKE'), i2osp(KEM_ID, 2), i2osp(KDF_ID, 2), i2osp(AEAD_ID, 2));
  const EMPTY = new Uint8Array(0);

  const hmac = (key: Uint8Array, data: Uint8Array) =>
    plainBytes(node.createHmac('sha256', key).update(data).digest());
  const extract = (salt: Uint8Array, ikm: Uint8Array) => hmac(salt.length ? salt : new Uint8Array(Nh), ikm);
  const expand = (prk: Uint8Array, info: Uint8Array, len: number) => hkdfExpandSync(hmac, Nh, prk, info, len);
  // RFC 9180 §4: LabeledExtract and LabeledExpand, for the KEM's suite_id or the HPKE one.
  const labeledExtract = (suite: Uint8Array, salt: Uint8Array, label: string, ikm: Uint8Array) =>
    extract(salt, concatBytes(HPKE_V1, suite, enc.encode(label), ikm));
  const labeledExpand = (suite: Uint8Array, prk: Uint8Array, label: string, info: Uint8Array, len: number) =>
    expand(prk, concatBytes(i2osp(len, 2), HPKE_V1, suite, enc.encode(label), info), len);

  interface Key {
    type: 'private' | 'public';
    raw: Uint8Array;
    key: NodeKey;
  }
  const publicKey = (raw: Uint8Array): Key => {
    if (raw.length !== 32) throw new Error(`an X25519 public key is 32 bytes, got ${raw.length}`);
    const key = node.createPublicKey({ key: rfc8410Der('X25519', 'spki', raw), format: 'der', type: 'spki' });
    return { type: 'public', raw: raw.slice(), key };
  };
  const privateKey = (raw: Uint8Array): Key => {
    if (raw.length !== 32) throw new Error(`an X25519 private key is 32 bytes, got ${raw.length}`);
    const key = node.createPrivateKey({
      key: rfc8410Der('X25519', 'pkcs8', raw),
      format: 'der',
      type: 'pkcs8',
    });
    return { type: 'private', raw: raw.slice(), key };
  };
  const publicOf = (sk: Key): Key => {
    const der = node.createPublicKey(sk.key).export({ format: 'der', type: 'spki' });
    return publicKey(plainBytes(der).subarray(der.length - 32));
  };
  // ts-mls types HPKE keys as CryptoKeys and only passes them back to this module.
  const asPrivate = (k: Key) => k as unknown as HpkePrivateKey;
  const asPublic = (k: Key) => k as unknown as HpkePublicKey;
  const own = (k: HpkePrivateKey | HpkePublicKey): Key => {
    const key = k as unknown as Partial<Key>;
    if (!(key.raw instanceof Uint8Array) || key.key === undefined) throw new Error('not a key of this HPKE');
    return key as Key;
  };
  const dh = (sk: Key, pk: Key) => {
    const out = plainBytes(node.diffieHellman({ privateKey: sk.key, publicKey: pk.key }));
    if (out.every((b) => b === 0)) throw new Error('X25519 gave the all-zero value'); // RFC 9180 §7.1.4
    return out;
  };
  const generate = () => privateKey(crypto.getRandomValues(new Uint8Array(32)));

  // RFC 9180 §4.1: DHKEM's ExtractAndExpand, Encap, Decap.
  const sharedSecret = (dhOut: Uint8Array, kemContext: Uint8Array) =>
    labeledExpand(
      KEM_SUITE,
      labeledExtract(KEM_SUITE, EMPTY, 'eae_prk', dhOut),
      'shared_secret',
      kemContext,
      Nsecret,
    );
  const encap = (pkR: Key) => {
    const skE = generate();
    const pkE = publicOf(skE);
    return { secret: sharedSecret(dh(skE, pkR), concatBytes(pkE.raw, pkR.raw)), enc: pkE.raw };
  };
  const decap = (encapsulated: Uint8Array, skR: Key) =>
    sharedSecret(dh(skR, publicKey(encapsulated)), concatBytes(encapsulated, publicOf(skR).raw));

  // RFC 9180 §5.1: the key schedule, mode_base (no PSK).
  const keySchedule = (secret: Uint8Array, info: Uint8Array) => {
    const context = concatBytes(
      Uint8Array.of(0),
      labeledExtract(HPKE_SUITE, EMPTY, 'psk_id_hash', EMPTY),
      labeledExtract(HPKE_SUITE, EMPTY, 'info_hash', info),
    );
    const s = labeledExtract(HPKE_SUITE, secret, 'secret', EMPTY);
    return {
      key: labeledExpand(HPKE_SUITE, s, 'key', context, Nk),
      nonce: labeledExpand(HPKE_SUITE, s, 'base_nonce', context, Nn),
      exporter: labeledExpand(HPKE_SUITE, s, 'exp', context, Nh),
    };
  };
  const exportFrom = (exporter: Uint8Array, context: Uint8Array, len: number) =>
    labeledExpand(HPKE_SUITE, exporter, 'sec', context, len);

  // The HPKE and MLS AEAD keys are per message: imported at each use.
  const aeadSeal = (key: Uint8Array, nonce: Uint8Array, aad: Uint8Array | undefined, pt: Uint8Array) =>
    gcmSeal(node, node.createSecretKey(key), 16, nonce, aad, pt);
  const aeadOpen = (key: Uint8Array, nonce: Uint8Array, aad: Uint8Array | undefined, sealed: Uint8Array) =>
    gcmOpen(node, node.createSecretKey(key), 16, nonce, aad, sealed);

  const failsAsCryptoError = <T>(fn: () => T): T => {
    try {
      return fn();
    } catch (e) {
      throw new CryptoError(`${e instanceof Error ? e.message : String(e)}`);
    }
  };

  return {
    async seal(pk, plaintext, info, aad) {
      const { secret, enc: e } = encap(own(pk));
      const ks = keySchedule(secret, info);
      return { ct: aeadSeal(ks.key, ks.nonce, aad, plaintext), enc: e };
    },
    async open(sk, kemOutput, ciphertext, info, aad) {
      return failsAsCryptoError(() => {
        const ks = keySchedule(decap(kemOutput, own(sk)), info);
        return aeadOpen(ks.key, ks.nonce, aad, ciphertext);
      });
    },
    async exportSecret(pk, exporterContext, length, info) {
      const { secret, enc: e } = encap(own(pk));
      return { enc: e, secret: exportFrom(keySchedule(secret, info).exporter, exporterContext, length) };
    },
    async importSecret(sk, exporterContext, kemOutput, length, info) {
      return failsAsCryptoError(() => {
        const ks = keySchedule(decap(kemOutput, own(sk)), info);
        return exportFrom(ks.exporter, exporterContext, length);
      });
    },
    async importPrivateKey(k) {
      return failsAsCryptoError(() => asPrivate(privateKey(k)));
    },
    async importPublicKey(k) {
      return failsAsCryptoError(() => asPublic(publicKey(k)));
    },
    async exportPublicKey(k) {
      return own(k).raw.slice();
    },
    async exportPrivateKey(k) {
      return own(k).raw.slice();
    },
    async encryptAead(key, nonce, aad, plaintext) {
      return aeadSeal(key, nonce, aad, plaintext);
    },
    async decryptAead(key, nonce, aad, ciphertext) {
      return failsAsCryptoError(() => aeadOpen(key, nonce, aad, ciphertext));
    },
    async deriveKeyPair(ikm) {
      // RFC 9180 §7.1.3: X25519 takes any 32 bytes (clamped when used).
      const prk = labeledExtract(KEM_SUITE, EMPTY, 'dkp_prk', ikm);
      const sk = privateKey(labeledExpand(KEM_SUITE, prk, 'sk', EMPTY, 32));
      return { privateKey: asPrivate(sk), publicKey: asPublic(publicOf(sk)) };
    },
    async generateKeyPair() {
      const sk = generate();
      return { privateKey: asPrivate(sk), publicKey: asPublic(publicOf(sk)) };
    },
    keyLength: Nk,
    nonceLength: Nn,
  };
}
