import { CryptoError } from '../errors.js';

/**
 * `bad_key`, `bad_box`, `wrong_key`: the evidence box (evidence-box.ts) — a key or key file that
 * is not one, a box that is not one, a box that does not open with the key given.
 */
export type EvidenceErrorCode = 'bad_proof' | 'bad_evidence' | 'bad_key' | 'bad_box' | 'wrong_key';

/** Evidence that cannot be read at all (malformed encodings, a tree that is not the group's). */
export class EvidenceError extends CryptoError<EvidenceErrorCode> {
  constructor(code: EvidenceErrorCode, message: string) {
    super(code, message);
    this.name = 'EvidenceError';
  }
}
