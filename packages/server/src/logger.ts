import { pino, type DestinationStream, type Logger } from 'pino';
import type { LogLevel } from './config.js';

export type { Logger } from 'pino';

/**
 * What the server's parts log through: a pino `Logger` is one, tests pass a silent or
 * recording one. The one logger type of the server (meeting hub, rooms, SFU).
 */
export interface LogSink {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
}

/**
 * Paths pino replaces with `[redacted]` before a line is written. Passcodes, host secrets,
 * resume tokens and keys must never reach a log: they grant entry or host powers. Wildcards
 * cover the secret one level below any logged object (`{ msg: joinMessage }`), and the exact
 * paths cover the usual places (request headers, the join message's `resume` object).
 * Code should still not log whole client messages; this is the safety net.
 */
export const REDACT_PATHS = [
  'passcode',
  'hostSecret',
  'token',
  'resumeToken',
  'privateKey',
  'signKey',
  '*.passcode',
  '*.hostSecret',
  '*.token',
  '*.resumeToken',
  '*.privateKey',
  '*.signKey',
  '*.resume.token',
  '*.*.passcode',
  '*.*.hostSecret',
  '*.*.token',
  '*.*.resumeToken',
  'req.headers["x-host-secret"]',
  'req.headers.authorization',
  'req.headers.cookie',
  'headers["x-host-secret"]',
  'headers.authorization',
  'headers.cookie',
];

export interface LoggerOptions {
  level: LogLevel;
  /** Where lines go; stdout by default. Tests pass a stream to read what was logged. */
  destination?: DestinationStream;
  /** Bound to every line. */
  base?: Record<string, unknown>;
}

/** JSON lines (one object per line) with secrets redacted. */
export function createLogger(options: LoggerOptions): Logger {
  const opts = {
    level: options.level,
    base: { service: 'conclave', ...options.base },
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
  };
  return options.destination ? pino(opts, options.destination) : pino(opts);
}
