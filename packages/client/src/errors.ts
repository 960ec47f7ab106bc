import { CodedError, type ErrorCode } from '@conclave/protocol';

/**
 * What the SDK throws and rejects with: a protocol error code (the server's, from the one
 * catalogue in `@conclave/protocol`) or `connection_failed` when the server was not reached.
 */
export class ConclaveError extends CodedError<ErrorCode | 'connection_failed'> {
  constructor(
    code: ErrorCode | 'connection_failed',
    message: string,
    /** The HTTP status, for errors of the HTTP API (0 when the server was not reached). */
    readonly status?: number,
  ) {
    super(code, message);
    this.name = 'ConclaveError';
  }
}
