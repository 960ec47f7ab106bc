import { describe, expect, it } from 'vitest';
import { hmacSigner, nodeCrypto, shaDigest } from '../src/util/node-crypto.js';

// In Node these helpers run on node:crypto; WebCrypto (what browsers use) is the reference.
describe('shaDigest and hmacSigner on node:crypto', () => {
  const data = new TextEncoder().encode('Conclave: the same bytes on both backends');

  it('run on node:crypto here', () => {
    expect(nodeCrypto()).toBeDefined();
  });

  for (const hash of ['SHA-256', 'SHA-512'] as const) {
    it(`${hash}: digest and HMAC equal WebCrypto's`, async () => {
      const key = crypto.getRandomValues(new Uint8Array(48));
      const want = new Uint8Array(await crypto.subtle.digest(hash, data));
      expect(await shaDigest(hash, data)).toEqual(want);
      const k = await crypto.subtle.importKey('raw', key, { name: 'HMAC', hash }, false, ['sign']);
      const mac = await hmacSigner(hash, key);
      expect(await mac(data)).toEqual(new Uint8Array(await crypto.subtle.sign('HMAC', k, data)));
      // The signer keeps its own copy of the key.
      const before = await mac(data);
      key.fill(0);
      expect(await mac(data)).toEqual(before);
    });
  }
});
