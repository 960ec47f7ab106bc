import { CryptoError } from '../errors.js';

/**
 * Typed errors for the SFrame implementation. Callers switch on `code`, never on the message:
 * messages are for logs and may change.
 */
export type SFrameErrorCode =
  | 'truncated_header'
  | 'malformed_header'
  | 'auth_failed'
  | 'replay'
  | 'unknown_kid'
  | 'counter_exhausted'
  | 'bad_input'
  | 'unsupported_suite';

export class SFrameError extends CryptoError<SFrameErrorCode> {
  constructor(code: SFrameErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'SFrameError';
  }
}

export function isSFrameError(e: unknown, code?: SFrameErrorCode): e is SFrameError {
  return e instanceof SFrameError && (code === undefined || e.code === code);
}
