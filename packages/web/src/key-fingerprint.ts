import { fromBase64, toHex } from '@conclave/crypto';

/**
 * A public key's fingerprint: the first 8 bytes of SHA-256 of the key, as four groups of four
 * hex digits ("3f9a 12c0 88ab 7d21"). The same everywhere the app shows a key: the account
 * page's device keys, the waiting room's Admit buttons and the participants list, so a person
 * can read theirs aloud from the account page and the host can compare.
 */
export async function keyFingerprint(publicKey: Uint8Array | string): Promise<string> {
  const bytes = typeof publicKey === 'string' ? fromBase64(publicKey) : publicKey;
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes.slice()));
  const hex = toHex(digest.slice(0, 8));
  return hex.match(/.{4}/g)?.join(' ') ?? hex;
}

/** Fingerprints computed once per key, for rendering (undefined until the digest is done). */
export class KeyFingerprints {
  private readonly done = new Map<string, string>();
  private readonly pending = new Set<string>();

  constructor(private readonly onChange: () => void) {}

  of(publicKey: Uint8Array | string | undefined): string | undefined {
    if (publicKey === undefined) return undefined;
    const id = typeof publicKey === 'string' ? publicKey : toHex(publicKey);
    const known = this.done.get(id);
    if (known !== undefined) return known || undefined;
    if (this.pending.has(id)) return undefined;
    this.pending.add(id);
    keyFingerprint(publicKey)
      // Not base64 (cannot happen for what the protocol checked): shown without a fingerprint.
      .catch(() => '')
      .then((fp) => {
        this.pending.delete(id);
        this.done.set(id, fp);
        if (fp) this.onChange();
      });
    return undefined;
  }
}
