import { describe, expect, it } from 'vitest';
// Compares our HPKE with ts-mls's own (@hpke/core over WebCrypto), so it imports ts-mls (tests may).
import { getCiphersuiteFromName, getCiphersuiteImpl } from 'ts-mls';
import { mlsSuite } from '../src/mls/index.js';
import { fromHex as hexOrNull, toHex } from '../src/util/bytes.js';

// RFC 9180, Appendix A.1.1: DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-128-GCM, base mode
// (the values as published there; the first encryption, sequence number 0, and the first export).
const A11 = {
  info: '4f6465206f6e2061204772656369616e2055726e',
  ikmE: '7268600d403fce431561aef583ee1613527cff655c1343f29812e66706df3234',
  pkEm: '37fda3567bdbd628e88668c3c8d7e97d1d1253b6d4ea6d44c150f741f1bf4431',
  ikmR: '6db9df30aa07dd42ee5e8181afdb977e538f5e1fec8a06223f33f7013e525037',
  pkRm: '3948cfe0ad1ddb695d780e59077195da6c56506b027329794ab02bca80815c4d',
  skRm: '4612c550263fc8ad58375df3f557aac531d26850903e55a9f23f21d8534e8ac8',
  enc: '37fda3567bdbd628e88668c3c8d7e97d1d1253b6d4ea6d44c150f741f1bf4431',
  pt: '4265617574792069732074727574682c20747275746820626561757479',
  aad0: '436f756e742d30',
  ct0: 'f938558b5d72f1a23810b4be2ab4f84331acc02fc97babc53a52ae8218a355a96d8770ac83d07bea87e13c512a',
  export0: '3853fe2b4035195a573ffc53856e77058e15d9ea064de3e59f4961d0095250ee', // context "", L = 32
};
const SUITE = 'MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519';
const fromHex = (h: string): Uint8Array => hexOrNull(h)!; // the constants above are hex
const rnd = (n: number) => crypto.getRandomValues(new Uint8Array(n));

describe('HPKE of MLS suite 1 on node:crypto (hpke-node.ts)', async () => {
  const ours = (await mlsSuite(SUITE)).hpke;
  const theirs = (await getCiphersuiteImpl(getCiphersuiteFromName(SUITE))).hpke;

  it('is the one mlsSuite uses in Node (not ts-mls’s)', () => {
    expect(ours).not.toBe(theirs);
    expect([ours.keyLength, ours.nonceLength]).toEqual([16, 12]);
  });

  it('RFC 9180 A.1.1: DeriveKeyPair, Decap, the key schedule, open and export', async () => {
    for (const [ikm, pk] of [
      [A11.ikmE, A11.pkEm],
      [A11.ikmR, A11.pkRm],
    ] as const) {
      const kp = await ours.deriveKeyPair(fromHex(ikm));
      expect(toHex(await ours.exportPublicKey(kp.publicKey))).toBe(pk);
    }
    const r = await ours.deriveKeyPair(fromHex(A11.ikmR));
    expect(toHex(await ours.exportPrivateKey(r.privateKey))).toBe(A11.skRm);
    const sk = await ours.importPrivateKey(fromHex(A11.skRm));
    const pt = await ours.open(sk, fromHex(A11.enc), fromHex(A11.ct0), fromHex(A11.info), fromHex(A11.aad0));
    expect(toHex(pt)).toBe(A11.pt);
    expect(
      toHex(await ours.importSecret(sk, new Uint8Array(0), fromHex(A11.enc), 32, fromHex(A11.info))),
    ).toBe(A11.export0);
    // any other AAD, info, ciphertext byte or recipient key fails, as ts-mls's CryptoError
    const ct = fromHex(A11.ct0);
    ct[5]! ^= 1;
    const other = (await ours.generateKeyPair()).privateKey;
    for (const attempt of [
      ours.open(sk, fromHex(A11.enc), ct, fromHex(A11.info), fromHex(A11.aad0)),
      ours.open(sk, fromHex(A11.enc), fromHex(A11.ct0), fromHex(A11.info), fromHex(A11.aad0 + '00')),
      ours.open(sk, fromHex(A11.enc), fromHex(A11.ct0), new Uint8Array(3), fromHex(A11.aad0)),
      ours.open(other, fromHex(A11.enc), fromHex(A11.ct0), fromHex(A11.info), fromHex(A11.aad0)),
      ours.open(sk, new Uint8Array(32), fromHex(A11.ct0), fromHex(A11.info), fromHex(A11.aad0)), // small order
      ours.importPublicKey(new Uint8Array(31)),
    ])
      await expect(attempt).rejects.toMatchObject({ name: 'CryptoError' });
  });

  it('seals what ts-mls’s HPKE opens and opens what it seals; same exports, same AEAD', async () => {
    for (const [sealer, opener] of [
      [ours, theirs],
      [theirs, ours],
    ] as const) {
      const kp = await opener.generateKeyPair();
      const raw = await opener.exportPublicKey(kp.publicKey);
      expect(raw.length).toBe(32);
      const pk = await sealer.importPublicKey(raw);
      const skRaw = await opener.exportPrivateKey(kp.privateKey);
      const sk = await opener.importPrivateKey(skRaw);
      for (const len of [0, 1, 100, 2000]) {
        const pt = rnd(len);
        const info = rnd(len % 50);
        const aad = len % 2 ? rnd(9) : undefined;
        const { ct, enc } = await sealer.seal(pk, pt, info, aad);
        expect(await opener.open(sk, enc, ct, info, aad)).toEqual(pt);
      }
      const ctx = rnd(12);
      const { enc, secret } = await sealer.exportSecret(pk, ctx, 42, rnd(0));
      expect(await opener.importSecret(sk, ctx, enc, 42, rnd(0))).toEqual(secret);
    }
    // the same derived key pair from the same secret (MLS path secrets become node keys this way)
    const ikm = rnd(32);
    const a = await ours.deriveKeyPair(ikm);
    const b = await theirs.deriveKeyPair(ikm);
    expect(toHex(await ours.exportPublicKey(a.publicKey))).toBe(
      toHex(await theirs.exportPublicKey(b.publicKey)),
    );
    expect(toHex(await ours.exportPrivateKey(a.privateKey))).toBe(
      toHex(await theirs.exportPrivateKey(b.privateKey)),
    );
    const key = rnd(16);
    const nonce = rnd(12);
    for (const aad of [undefined, rnd(20)]) {
      const pt = rnd(300);
      const ct = await ours.encryptAead(key, nonce, aad, pt);
      expect(toHex(ct)).toBe(toHex(await theirs.encryptAead(key, nonce, aad, pt)));
      expect(await theirs.decryptAead(key, nonce, aad, ct)).toEqual(pt);
      ct[0]! ^= 1;
      await expect(ours.decryptAead(key, nonce, aad, ct)).rejects.toMatchObject({ name: 'CryptoError' });
    }
  });
});
