import { RSABSSA } from '@cloudflare/blindrsa-ts';
import { fromBase64, toBase64 } from '@conclave/crypto';

/**
 * The client side of a verification token (RFC 9474 RSABSSA-SHA384-PSS-Randomized with
 * `@cloudflare/blindrsa-ts`): make a random token message, blind it for
 * `/api/verification/check`, and finalize the server's blind signature into a token for
 * `/api/verification/redeem`. The server sees the blinded message when it signs and the token
 * when it is redeemed, and cannot tell which blinded message a token came from.

 *
 * WebCrypto and the library only: the same code runs in browsers and in Node (bots, tests).
 */
export interface TokenRequest {
  /** For `/api/verification/check` (standard base64). */
  blindedMessage: string;
  /** Turns the server's `blindSignature` into the token to redeem. Throws if it does not verify. */
  finalize(blindSignature: string): Promise<{ message: string; signature: string }>;
}

const TOKEN_NONCE_BYTES = 32;

/** Imports the key of `GET /api/verification/key` (SPKI, base64) as the library wants it. */
export function importVerificationKey(spkiBase64: string): Promise<CryptoKey> {
  return crypto.subtle.importKey(
    'spki',
    fromBase64(spkiBase64),
    { name: 'RSA-PSS', hash: 'SHA-384' },
    // The library reads n and e through a JWK export.
    true,
    ['verify'],
  );
}

export async function createTokenRequest(spkiBase64: string): Promise<TokenRequest> {
  const suite = RSABSSA.SHA384.PSS.Randomized();
  const publicKey = await importVerificationKey(spkiBase64);
  const nonce = crypto.getRandomValues(new Uint8Array(TOKEN_NONCE_BYTES));
  // prepare: 32 random bytes in front (the "Randomized" variant), so 64 bytes in all.
  const message = suite.prepare(nonce);
  const { blindedMsg, inv } = await suite.blind(publicKey, message);
  return {
    blindedMessage: toBase64(blindedMsg),
    async finalize(blindSignature) {
      const signature = await suite.finalize(publicKey, message, fromBase64(blindSignature), inv);
      return { message: toBase64(message), signature: toBase64(signature) };
    },
  };
}
