import { createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { RSABSSA, type BlindRSA } from '@cloudflare/blindrsa-ts';
import { VERIFICATION_TOKEN_SUITE } from '@conclave/protocol';
import { describe, expect, it } from 'vitest';
import { BlindSigner, BlindSignError } from '../../src/index.js';
import { createTokenRequest } from '@conclave/client';
import { fromBase64 } from '@conclave/crypto';
import { sharedSigner } from './harness.js';

/** RFC 9474 Appendix A, copied into test-vectors/blindrsa (4096-bit key). */
const VECTORS_FILE = fileURLToPath(
  new URL('../../../../test-vectors/blindrsa/rfc9474-test-vectors.json', import.meta.url),
);

interface Vector {
  name: string;
  p: string;
  q: string;
  n: string;
  e: string;
  d: string;
  msg: string;
  msg_prefix: string;
  input_msg: string;
  sLen: string;
  salt: string;
  encoded_msg?: string;
  is_randomized: string;
  inv: string;
  blinded_msg: string;
  blind_sig: string;
  sig: string;
}

const vectors = JSON.parse(readFileSync(VECTORS_FILE, 'utf8')) as Vector[];

const big = (hex: string) => BigInt(hex.startsWith('0x') ? hex : `0x${hex}`);
/** Bytes of a hex field; `0x…` integers (`inv`, `n`) padded to the modulus size. */
const hex = (h: string) =>
  h.startsWith('0x') ? Buffer.from(h.slice(2).padStart(1024, '0'), 'hex') : Buffer.from(h, 'hex');
const b64u = (x: bigint) => {
  let h = x.toString(16);
  if (h.length % 2) h = `0${h}`;
  return Buffer.from(h, 'hex').toString('base64url');
};
function modPow(b: bigint, e: bigint, m: bigint): bigint {
  let r = 1n;
  b %= m;
  for (; e > 0n; e >>= 1n) {
    if (e & 1n) r = (r * b) % m;
    b = (b * b) % m;
  }
  return r;
}
function modInv(a: bigint, m: bigint): bigint {
  let [g, x, g1, x1] = [a, 1n, m, 0n];
  while (g1) {
    const q = g / g1;
    [g, g1] = [g1, g - q * g1];
    [x, x1] = [x1, x - q * x1];
  }
  return ((x % m) + m) % m;
}

/** The vector's private key as a JWK (Node and WebCrypto both read it). */
function jwk(v: Vector): JsonWebKey & { [k: string]: unknown } {
  const [n, e, d, p, q] = [big(v.n), big(v.e), big(v.d), big(v.p), big(v.q)];
  return {
    kty: 'RSA',
    n: b64u(n),
    e: b64u(e),
    d: b64u(d),
    p: b64u(p),
    q: b64u(q),
    dp: b64u(d % (p - 1n)),
    dq: b64u(d % (q - 1n)),
    qi: b64u(modInv(q, p)),
  };
}

function suiteFor(name: string): BlindRSA {
  const suites: Record<string, () => BlindRSA> = {
    'RSABSSA-SHA384-PSS-Randomized': RSABSSA.SHA384.PSS.Randomized,
    'RSABSSA-SHA384-PSSZERO-Randomized': RSABSSA.SHA384.PSSZero.Randomized,
    'RSABSSA-SHA384-PSS-Deterministic': RSABSSA.SHA384.PSS.Deterministic,
    'RSABSSA-SHA384-PSSZERO-Deterministic': RSABSSA.SHA384.PSSZero.Deterministic,
  };
  const make = suites[name];
  if (!make) throw new Error(`unknown suite ${name}`);
  return make();
}

describe('RFC 9474 vectors', () => {
  it('the vector file holds the four RFC suites, ours among them', () => {
    expect(vectors.map((v) => v.name).sort()).toEqual([
      'RSABSSA-SHA384-PSS-Deterministic',
      'RSABSSA-SHA384-PSS-Randomized',
      'RSABSSA-SHA384-PSSZERO-Deterministic',
      'RSABSSA-SHA384-PSSZERO-Randomized',
    ]);
  });

  describe.each(vectors)('$name', (v) => {
    const key = createPrivateKey({ key: jwk(v), format: 'jwk' });

    it('the key is consistent (n = p·q, e·d ≡ 1 mod λ)', () => {
      const [n, p, q, e, d] = [big(v.n), big(v.p), big(v.q), big(v.e), big(v.d)];
      expect(p * q).toBe(n);
      expect(modPow(modPow(12345n, e, n), d, n)).toBe(12345n);
    });

    it('prepare: input_msg = msg_prefix ‖ msg (32 random bytes only when randomized)', () => {
      expect(v.input_msg).toBe(v.msg_prefix + v.msg);
      expect(hex(v.msg_prefix).length).toBe(big(v.is_randomized) === 1n ? 32 : 0);
    });

    it.runIf(v.encoded_msg !== undefined)('blind: blinded_msg = encoded_msg · r^e mod n, r = inv⁻¹', () => {
      const [n, e] = [big(v.n), big(v.e)];
      const r = modInv(big(v.inv), n);
      const z = (big(v.encoded_msg ?? '0') * modPow(r, e, n)) % n;
      expect(z.toString(16).padStart(v.blinded_msg.length, '0')).toBe(v.blinded_msg);
    });

    it('server BlindSign (Node RSA, privateDecrypt without padding) gives blind_sig', () => {
      const signer = new BlindSigner(key);
      expect(signer.blindSign(hex(v.blinded_msg)).toString('hex')).toBe(v.blind_sig);
    });

    const algorithm = { name: 'RSA-PSS', hash: 'SHA-384' };
    const importPublic = () =>
      crypto.subtle.importKey('jwk', { kty: 'RSA', n: jwk(v).n, e: jwk(v).e }, algorithm, true, ['verify']);

    it('the client library finalizes blind_sig into sig, which verifies', async () => {
      const suite = suiteFor(v.name);
      const publicKey = await importPublic();
      const input = new Uint8Array(hex(v.input_msg));
      const sig = await suite.finalize(
        publicKey,
        input,
        new Uint8Array(hex(v.blind_sig)),
        new Uint8Array(hex(v.inv)),
      );
      expect(Buffer.from(sig).toString('hex')).toBe(v.sig);
      expect(await suite.verify(publicKey, sig, input)).toBe(true);
    });

    // The library's own BlindSign (JavaScript big integers: ~2.5 s for this 4096-bit key), for
    // our suite only: it must agree with Node's.
    it.runIf(v.name === VERIFICATION_TOKEN_SUITE)(
      "the client library's BlindSign agrees with the server's",
      async () => {
        const privateKey = await crypto.subtle.importKey('jwk', jwk(v), algorithm, true, ['sign']);
        const libBlindSig = await suiteFor(v.name).blindSign(privateKey, new Uint8Array(hex(v.blinded_msg)));
        expect(Buffer.from(libBlindSig).toString('hex')).toBe(v.blind_sig);
      },
    );

    it.runIf(big(v.sLen) === 48n)(
      'server token verification accepts sig over input_msg, nothing else',
      () => {
        const signer = new BlindSigner(key);
        expect(signer.verify(hex(v.input_msg), hex(v.sig))).toBe(true);
        const other = hex(v.input_msg);
        other[0] = (other[0] ?? 0) ^ 1;
        expect(signer.verify(other, hex(v.sig))).toBe(false);
        const bad = hex(v.sig);
        bad[10] = (bad[10] ?? 0) ^ 1;
        expect(signer.verify(hex(v.input_msg), bad)).toBe(false);
      },
    );
  });

  it('BlindSign refuses a wrong size and a value not below n', () => {
    const v = vectors[0]!;
    const signer = new BlindSigner(createPrivateKey({ key: jwk(v), format: 'jwk' }));
    expect(() => signer.blindSign(hex(v.blinded_msg).subarray(1))).toThrow(BlindSignError);
    expect(() => signer.blindSign(Buffer.alloc(signer.modulusBytes, 0xff))).toThrow(/modulus/);
    expect(() => signer.blindSign(hex(v.n))).toThrow(/modulus/);
  });

  it('a full round trip with our 2048-bit key: client blinds, server signs, client finalizes, server verifies', async () => {
    const signer = await sharedSigner();
    expect(signer.modulusBits).toBe(2048);
    const request = await createTokenRequest(signer.publicKeySpki.toString('base64'));
    const blindSig = signer.blindSign(fromBase64(request.blindedMessage));
    const token = await request.finalize(blindSig.toString('base64'));
    const message = fromBase64(token.message);
    expect(message.length).toBe(64);
    expect(signer.verify(message, fromBase64(token.signature))).toBe(true);
    // The blinded message the server saw is not the token message, nor its signature input.
    expect(request.blindedMessage).not.toContain(token.message);
    // A signature over another blinded message does not finalize.
    const other = await createTokenRequest(signer.publicKeySpki.toString('base64'));
    await expect(
      request.finalize(signer.blindSign(fromBase64(other.blindedMessage)).toString('base64')),
    ).rejects.toThrow();
  });
});
