/**
 * The one base of this package's errors: each carries a `code` of its own family (SFrame, the
 * vector files, later the MLS layer) that callers switch on; messages are for logs and may
 * change. `packages/crypto` imports nothing of ours, so this is not the protocol's `CodedError`
 * (docs/architecture.md, "Errors").
 */
export class CryptoError<Code extends string = string> extends Error {
  constructor(
    readonly code: Code,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'CryptoError';
  }
}
