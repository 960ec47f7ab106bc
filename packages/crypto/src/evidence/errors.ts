import { CryptoError } from '../errors.js';

export type EvidenceErrorCode = 'bad_proof' | 'bad_evidence';

/** Evidence that cannot be read at all (malformed encodings, a tree that is not the group's). */
export class EvidenceError extends CryptoError<EvidenceErrorCode> {
  constructor(code: EvidenceErrorCode, message: string) {
    super(code, message);
    this.name = 'EvidenceError';
  }
}
