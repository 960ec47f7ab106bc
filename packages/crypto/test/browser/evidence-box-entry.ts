// Bundled by esbuild and loaded in headless Chromium and Firefox: the evidence box (HPKE with
// the browser's WebCrypto X25519 and AES-GCM) as the moderators' console uses it.
import {
  encodeModerationKeyFile,
  fromBase64,
  generateModerationKeyPair,
  openEvidence,
  parseModerationKeyFile,
  sealEvidence,
  toBase64,
} from '../../src/index.js';

const enc = new TextEncoder();
const dec = new TextDecoder();

const evidenceBox = {
  /** A new key file made in the browser. */
  async keyFile(): Promise<string> {
    return encodeModerationKeyFile(await generateModerationKeyPair(), new Date().toISOString());
  },
  /** Seals `text` to a base64 public key; the box in base64. */
  async seal(publicKey: string, text: string, aad: string): Promise<string> {
    return toBase64(await sealEvidence(fromBase64(publicKey), enc.encode(text), enc.encode(aad)));
  },
  /** Opens a base64 box with a key file's text: the plaintext, or the error code. */
  async open(keyFile: string, box: string, aad: string): Promise<{ text?: string; error?: string }> {
    try {
      const key = parseModerationKeyFile(keyFile);
      return { text: dec.decode(await openEvidence(key.privateKey, fromBase64(box), enc.encode(aad))) };
    } catch (e) {
      return { error: (e as { code?: string }).code ?? String(e) };
    }
  },
};

declare global {
  interface Window {
    evidenceBox: typeof evidenceBox;
  }
}

window.evidenceBox = evidenceBox;
document.title = 'ready';
