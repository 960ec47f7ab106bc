import { createCipheriv, createHmac } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  aeadDecrypt,
  aeadEncrypt,
  AES_128_CTR_HMAC_SHA256_64,
  deriveKeyMaterial,
  deriveSFrameKey,
  getSuite,
  hkdfExpand,
  hkdfExtract,
  importAeadKey,
  defaultAeadBackend,
  SFrameError,
  type CtrHmacSuite,
} from '../src/sframe/index.js';

/** Independent reference for RFC 9605 §4.5.1 using node:crypto (tests only; src/ uses WebCrypto). */
function referenceCtrHmac(suite: CtrHmacSuite, key: Buffer, nonce: Buffer, aad: Buffer, pt: Buffer): Buffer {
  const iv = Buffer.concat([nonce, Buffer.alloc(4)]);
  const c = createCipheriv('aes-128-ctr', key.subarray(0, suite.Nka), iv);
  const ct = Buffer.concat([c.update(pt), c.final()]);
  const lens = Buffer.alloc(24);
  lens.writeBigUInt64BE(BigInt(aad.length), 0);
  lens.writeBigUInt64BE(BigInt(ct.length), 8);
  lens.writeBigUInt64BE(BigInt(suite.Nt), 16);
  const tag = createHmac('sha256', key.subarray(suite.Nka))
    .update(Buffer.concat([lens, nonce, aad, ct]))
    .digest()
    .subarray(0, suite.Nt);
  return Buffer.concat([ct, tag]);
}

describe('AES-CTR + HMAC compound AEAD', () => {
  it('matches an independent node:crypto implementation on multi-block input', async () => {
    const suite = getSuite(AES_128_CTR_HMAC_SHA256_64) as CtrHmacSuite;
    const key = Buffer.from(Array.from({ length: 48 }, (_, i) => (i * 7) & 0xff));
    const nonce = Buffer.from(Array.from({ length: 12 }, (_, i) => (0xf0 + i) & 0xff));
    const aad = Buffer.from('header||metadata');
    const pt = Buffer.from(Array.from({ length: 1000 }, (_, i) => i & 0xff));
    const k = await importAeadKey(suite, key);
    const ct = await aeadEncrypt(k, nonce, aad, pt);
    expect(Buffer.from(ct).toString('hex')).toBe(
      referenceCtrHmac(suite, key, nonce, aad, pt).toString('hex'),
    );
    expect(Buffer.from(await aeadDecrypt(k, nonce, aad, ct)).toString('hex')).toBe(pt.toString('hex'));
    // The caller's key buffer is left intact (subkeys are copied, then wiped).
    expect(key.every((b, i) => b === ((i * 7) & 0xff))).toBe(true);
  });

  it('rejects short, truncated and wrong-AAD ciphertexts before decrypting', async () => {
    const suite = getSuite(AES_128_CTR_HMAC_SHA256_64);
    const k = await importAeadKey(suite, new Uint8Array(48));
    const nonce = new Uint8Array(12);
    const ct = await aeadEncrypt(k, nonce, new Uint8Array(0), new Uint8Array(10));
    await expect(aeadDecrypt(k, nonce, new Uint8Array(0), ct.subarray(0, 7))).rejects.toMatchObject({
      code: 'auth_failed',
    });
    await expect(aeadDecrypt(k, nonce, new Uint8Array(1), ct)).rejects.toBeInstanceOf(SFrameError);
  });

  it('rejects keys of the wrong size', async () => {
    await expect(importAeadKey(getSuite(4), new Uint8Array(15))).rejects.toMatchObject({ code: 'bad_input' });
    await expect(importAeadKey(getSuite(1), new Uint8Array(16))).rejects.toMatchObject({ code: 'bad_input' });
  });
});

describe('AES-GCM: node:crypto in Node, WebCrypto elsewhere', () => {
  it('both backends give the same ciphertext, open each other’s, and refuse a changed byte', async () => {
    expect(defaultAeadBackend()).toBe('node'); // what SFrame senders and key rings use here
    for (const id of [4, 5]) {
      const suite = getSuite(id);
      const key = crypto.getRandomValues(new Uint8Array(suite.Nk));
      const node = await importAeadKey(suite, key, 'node');
      const web = await importAeadKey(suite, key, 'webcrypto');
      expect([node.kind, web.kind]).toEqual(['aes-gcm-node', 'aes-gcm']);
      for (const [ptLen, aadLen] of [
        [0, 0],
        [1, 3],
        [1000, 0],
        [1200, 17],
      ] as const) {
        const nonce = crypto.getRandomValues(new Uint8Array(12));
        const aad = crypto.getRandomValues(new Uint8Array(aadLen));
        const pt = crypto.getRandomValues(new Uint8Array(ptLen));
        const a = await aeadEncrypt(node, nonce, aad, pt);
        const b = await aeadEncrypt(web, nonce, aad, pt);
        expect(Buffer.from(a).toString('hex')).toBe(Buffer.from(b).toString('hex'));
        expect(await aeadDecrypt(web, nonce, aad, a)).toEqual(pt);
        expect(await aeadDecrypt(node, nonce, aad, b)).toEqual(pt);
        for (const at of [0, a.length - 1]) {
          const bad = a.slice();
          bad[at]! ^= 1;
          for (const k of [node, web])
            await expect(aeadDecrypt(k, nonce, aad, bad)).rejects.toMatchObject({ code: 'auth_failed' });
        }
        await expect(aeadDecrypt(node, nonce, new Uint8Array([9, ...aad]), a)).rejects.toMatchObject({
          code: 'auth_failed',
        });
      }
    }
  });
});

describe('key derivation', () => {
  it('implements RFC 5869 HKDF (test case 1)', async () => {
    const ikm = new Uint8Array(22).fill(0x0b);
    const salt = Uint8Array.from(Buffer.from('000102030405060708090a0b0c', 'hex'));
    const info = Uint8Array.from(Buffer.from('f0f1f2f3f4f5f6f7f8f9', 'hex'));
    const prk = await hkdfExtract('SHA-256', salt, ikm);
    expect(Buffer.from(prk).toString('hex')).toBe(
      '077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5',
    );
    const okm = await hkdfExpand('SHA-256', prk, info, 42);
    expect(Buffer.from(okm).toString('hex')).toBe(
      '3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865',
    );
  });

  it('binds the KID and the suite into the key and salt', async () => {
    const base = new Uint8Array(16).fill(1);
    const a = await deriveKeyMaterial(4, 1n, base);
    const b = await deriveKeyMaterial(4, 2n, base);
    const c = await deriveKeyMaterial(1, 1n, base);
    expect(a.key).not.toEqual(b.key);
    expect(a.salt).not.toEqual(b.salt);
    expect(a.secret).toEqual(c.secret);
    expect(a.key).not.toEqual(c.key.subarray(0, 16));
    const d = await deriveSFrameKey(4, 1n, base);
    expect(d.key).toEqual(a.key);
    expect(d.salt).toEqual(a.salt);
    expect(d.aead.kind).toBe('aes-gcm-node'); // a GCM suite, bound to node:crypto in Node
    await expect(deriveSFrameKey(4, 1n, new Uint8Array(0))).rejects.toMatchObject({ code: 'bad_input' });
  });
});

describe('portability', () => {
  it('no SFrame source file imports node: modules (WebCrypto only)', () => {
    const dir = new URL('../src/sframe/', import.meta.url);
    for (const f of readdirSync(dir)) {
      const src = readFileSync(new URL(f, dir), 'utf8');
      expect(src, f).not.toMatch(/from ['"]node:|require\(/);
    }
  });
});
