// MLS interop vectors: crypto-basics.json (RefHash, ExpandWithLabel, DeriveSecret, DeriveTreeSecret,
// SignWithLabel/VerifyWithLabel, EncryptWithLabel/DecryptWithLabel) against ts-mls.
import { describe, expect } from 'vitest';
import { refhash } from 'ts-mls/crypto/hash.js';
import { decryptWithLabel, encryptWithLabel } from 'ts-mls/crypto/hpke.js';
import { deriveSecret, deriveTreeSecret, expandWithLabel } from 'ts-mls/crypto/kdf.js';
import { signWithLabel, verifyWithLabel } from 'ts-mls/crypto/signature.js';
import { getCiphersuiteFromId } from 'ts-mls/crypto/ciphersuite.js';
import {
  hexToBytes,
  loadVectors,
  loadSuitesFor,
  requireSuite1,
  suiteOf,
  toHex,
  vectorTest,
} from './helpers.js';

const vectors = loadVectors('crypto-basics.json', {
  cipher_suite: 'number',
  ref_hash: { label: 'string', value: 'string', out: 'string' },
  expand_with_label: {
    secret: 'string',
    label: 'string',
    context: 'string',
    length: 'number',
    out: 'string',
  },
  derive_secret: { secret: 'string', label: 'string', out: 'string' },
  derive_tree_secret: {
    secret: 'string',
    label: 'string',
    generation: 'number',
    length: 'number',
    out: 'string',
  },
  sign_with_label: { priv: 'string', pub: 'string', content: 'string', label: 'string', signature: 'string' },
  encrypt_with_label: {
    priv: 'string',
    pub: 'string',
    label: 'string',
    context: 'string',
    plaintext: 'string',
    kem_output: 'string',
    ciphertext: 'string',
  },
});
const suites = await loadSuitesFor(vectors);

/** Flip one bit so negative checks use input that differs from the vector. */
function flipBit(b: Uint8Array): Uint8Array {
  const c = Uint8Array.from(b);
  c[0] = (c[0] ?? 0) ^ 1;
  return c;
}

describe('MLS test vectors: crypto-basics.json', () => {
  requireSuite1(suites, vectors, ['hpke', 'signature'], 1);

  for (const [i, v] of vectors.entries()) {
    const suite = suiteOf(suites, v.cipher_suite);
    const t = `#${i} suite ${v.cipher_suite} (${suite.name})`;

    vectorTest(`${t} ref_hash`, suite, [], async (cs) => {
      const { label, value, out } = v.ref_hash;
      expect(toHex(await refhash(label, hexToBytes(value), cs.hash))).toBe(out);
    });

    vectorTest(`${t} expand_with_label`, suite, [], async (cs) => {
      const o = v.expand_with_label;
      const res = await expandWithLabel(
        hexToBytes(o.secret),
        o.label,
        hexToBytes(o.context),
        o.length,
        cs.kdf,
      );
      expect(toHex(res)).toBe(o.out);
    });

    vectorTest(`${t} derive_secret`, suite, [], async (cs) => {
      const o = v.derive_secret;
      expect(toHex(await deriveSecret(hexToBytes(o.secret), o.label, cs.kdf))).toBe(o.out);
    });

    vectorTest(`${t} derive_tree_secret`, suite, [], async (cs) => {
      const o = v.derive_tree_secret;
      const res = await deriveTreeSecret(hexToBytes(o.secret), o.label, o.generation, o.length, cs.kdf);
      expect(toHex(res)).toBe(o.out);
    });

    vectorTest(`${t} sign_with_label`, suite, ['signature'], async (cs) => {
      const o = v.sign_with_label;
      const pub = hexToBytes(o.pub);
      const priv = hexToBytes(o.priv);
      const content = hexToBytes(o.content);
      const sig = hexToBytes(o.signature);

      // VerifyWithLabel(pub, label, content, signature) == true
      expect(await verifyWithLabel(pub, o.label, content, sig, cs.signature)).toBe(true);
      // ... and it really checks something: other content / other label must not verify.
      expect(await verifyWithLabel(pub, o.label, flipBit(content), sig, cs.signature)).toBe(false);
      expect(await verifyWithLabel(pub, `${o.label}x`, content, sig, cs.signature)).toBe(false);

      // VerifyWithLabel(pub, label, content, SignWithLabel(priv, label, content)) == true
      const ours = await signWithLabel(priv, o.label, content, cs.signature);
      expect(await verifyWithLabel(pub, o.label, content, ours, cs.signature)).toBe(true);

      // EdDSA is deterministic (RFC 8032), so our signature must be byte-identical to the vector's.
      const alg = getCiphersuiteFromId(suite.id).signature;
      if (alg === 'Ed25519' || alg === 'Ed448') expect(toHex(ours)).toBe(o.signature);
    });

    vectorTest(`${t} encrypt_with_label`, suite, ['hpke'], async (cs) => {
      const o = v.encrypt_with_label;
      const priv = await cs.hpke.importPrivateKey(hexToBytes(o.priv));
      const pub = await cs.hpke.importPublicKey(hexToBytes(o.pub));
      const context = hexToBytes(o.context);

      // DecryptWithLabel(priv, label, context, kem_output, ciphertext) == plaintext
      const pt = await decryptWithLabel(
        priv,
        o.label,
        context,
        hexToBytes(o.kem_output),
        hexToBytes(o.ciphertext),
        cs.hpke,
      );
      expect(toHex(pt)).toBe(o.plaintext);

      // Wrong context must not decrypt (the label/context are bound into the HPKE info).
      await expect(
        decryptWithLabel(
          priv,
          o.label,
          flipBit(context),
          hexToBytes(o.kem_output),
          hexToBytes(o.ciphertext),
          cs.hpke,
        ),
      ).rejects.toThrow();

      // DecryptWithLabel(priv, ..., EncryptWithLabel(pub, label, context, plaintext)) == plaintext
      const { ct, enc } = await encryptWithLabel(pub, o.label, context, hexToBytes(o.plaintext), cs.hpke);
      expect(toHex(await decryptWithLabel(priv, o.label, context, enc, ct, cs.hpke))).toBe(o.plaintext);
    });
  }
});
