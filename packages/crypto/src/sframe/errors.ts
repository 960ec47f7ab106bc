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

export class SFrameError extends Error {
  readonly code: SFrameErrorCode;

  constructor(code: SFrameErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SFrameError';
    this.code = code;
  }
}

export function isSFrameError(e: unknown, code?: SFrameErrorCode): e is SFrameError {
  return e instanceof SFrameError && (code === undefined || e.code === code);
}
