import { describe, expect, it } from 'vitest';
// Compares our suite with ts-mls's own default implementation, so it imports ts-mls (tests may).
import { getCiphersuiteFromName, getCiphersuiteImpl, type CiphersuiteName } from 'ts-mls';
import { mlsSuite } from '../src/mls/index.js';
import { toHex } from '../src/util/bytes.js';

// mlsSuite computes the MLS hash, HMAC and HKDF itself (synchronously) and keeps imported Ed25519
// keys: the results must be those of ts-mls's WebCrypto implementation, byte for byte.

const SUITES: CiphersuiteName[] = [
  'MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519',
  'MLS_256_DHKEMP521_AES256GCM_SHA512_P521',
  'MLS_256_DHKEMP384_AES256GCM_SHA384_P384',
];
const rnd = (n: number) => crypto.getRandomValues(new Uint8Array(n));
const hex = (b: Uint8Array) => toHex(b);

describe('mlsSuite hashing', () => {
  for (const name of SUITES) {
    it(`${name}: digest, mac, verifyMac, extract and expand equal ts-mls's own`, async () => {
      const ours = await mlsSuite(name);
      const theirs = await getCiphersuiteImpl(getCiphersuiteFromName(name));
      expect(ours.kdf.size).toBe(theirs.kdf.size);
      for (const len of [0, 1, 31, 32, 33, 64, 65, 128, 200, 1000]) {
        const data = rnd(len);
        const key = rnd(len % 2 ? theirs.kdf.size : 7);
        expect(hex(await ours.hash.digest(data))).toBe(hex(await theirs.hash.digest(data)));
        const tag = await theirs.hash.mac(key, data);
        expect(hex(await ours.hash.mac(key, data))).toBe(hex(tag));
        expect(await ours.hash.verifyMac(key, tag, data)).toBe(true);
        const bad = tag.slice();
        bad[len % bad.length]! ^= 1;
        expect(await ours.hash.verifyMac(key, bad, data)).toBe(false);
        expect(await ours.hash.verifyMac(key, tag.subarray(1), data)).toBe(false);
        // An empty salt is a string of zeros (RFC 5869 §2.2); MLS's salts are Nh bytes (ts-mls's refuses others).
        for (const salt of [new Uint8Array(0), rnd(theirs.kdf.size)]) {
          const prk = await theirs.kdf.extract(salt, data);
          expect(hex(await ours.kdf.extract(salt, data))).toBe(hex(prk));
          // Within one block, exactly one, and several (the MLS secret tree asks for Nh; HPKE-free paths more).
          for (const out of [1, 16, theirs.kdf.size, theirs.kdf.size + 1, 3 * theirs.kdf.size + 5]) {
            const info = rnd(len % 40);
            expect(hex(await ours.kdf.expand(prk, info, out))).toBe(
              hex(await theirs.kdf.expand(prk, info, out)),
            );
          }
        }
      }
    });
  }

  it('HKDF-SHA256 matches RFC 5869 test case 1', async () => {
    const cs = await mlsSuite('MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519');
    const fromHex = (h: string) => Uint8Array.from(h.match(/../g)!.map((b) => parseInt(b, 16)));
    const prk = await cs.kdf.extract(fromHex('000102030405060708090a0b0c'), new Uint8Array(22).fill(0x0b));
    expect(hex(prk)).toBe('077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5');
    const okm = await cs.kdf.expand(prk, fromHex('f0f1f2f3f4f5f6f7f8f9'), 42);
    expect(hex(okm)).toBe(
      '3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865',
    );
  });

  it('Ed25519: verifies what ts-mls signs, refuses a changed message, signature or key, also with the key cached', async () => {
    const cs = await mlsSuite();
    const theirs = await getCiphersuiteImpl(
      getCiphersuiteFromName('MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519'),
    );
    const { signKey, publicKey } = await theirs.signature.keygen();
    const other = await theirs.signature.keygen();
    const msg = rnd(100);
    const sig = await theirs.signature.sign(signKey, msg);
    for (let round = 0; round < 2; round++) {
      expect(await cs.signature.verify(publicKey, msg, sig)).toBe(true);
      const m2 = msg.slice();
      m2[3]! ^= 1;
      expect(await cs.signature.verify(publicKey, m2, sig)).toBe(false);
      const s2 = sig.slice();
      s2[10]! ^= 1;
      expect(await cs.signature.verify(publicKey, msg, s2)).toBe(false);
      expect(await cs.signature.verify(other.publicKey, msg, sig)).toBe(false);
    }
  });

  it('Ed25519 (node:crypto in Node): ts-mls verifies what it signs, from a PKCS#8 key or a raw seed; junk keys and signatures are refused', async () => {
    const cs = await mlsSuite();
    const theirs = await getCiphersuiteImpl(
      getCiphersuiteFromName('MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519'),
    );
    const { signKey, publicKey } = await theirs.signature.keygen(); // PKCS#8, as ts-mls exports it
    expect(signKey.length).toBeGreaterThan(32);
    const seed = signKey.subarray(signKey.length - 32); // the raw form: RFC 8410's last 32 bytes
    const msg = rnd(77);
    for (const key of [signKey, seed]) {
      const sig = await cs.signature.sign(key, msg);
      expect(await theirs.signature.verify(publicKey, msg, sig)).toBe(true);
      // Ed25519 is deterministic (RFC 8032): the same signature as ts-mls's own
      expect(hex(sig)).toBe(hex(await theirs.signature.sign(signKey, msg)));
    }
    const sig = await cs.signature.sign(signKey, msg);
    expect(await cs.signature.verify(publicKey.subarray(1), msg, sig)).toBe(false);
    expect(await cs.signature.verify(publicKey, msg, sig.subarray(1))).toBe(false);
    expect(await cs.signature.verify(new Uint8Array(32).fill(0xff), msg, sig)).toBe(false);
  });
});
