import type { z } from 'zod';
import { type ErrorCode } from './errors.js';
import {
  clientMessage,
  serverMessage,
  MAX_SIGNALING_BYTES,
  PROTOCOL_VERSION,
  ridSchema,
  type ClientMessage,
  type ServerMessage,
} from './signaling.js';

export type ParseResult<T> =
  | { ok: true; value: T }
  | {
      ok: false;
      code: ErrorCode;
      message: string;
      /** The message's `type`, when it has one (at most 32 characters). */
      ref?: string;
      /** The message's `rid`, only when that field is a valid request id on its own. */
      rid?: string;
    };

function describe(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return 'invalid message';
  const path = issue.path.length ? issue.path.join('.') : 'message';
  return `${path}: ${issue.message}`;
}

function parseWith<T>(schema: z.ZodType<T, z.ZodTypeDef, unknown>, raw: string | Uint8Array): ParseResult<T> {
  const size = typeof raw === 'string' ? raw.length : raw.byteLength;
  if (size > MAX_SIGNALING_BYTES) {
    return {
      ok: false,
      code: 'message_too_large',
      message: `message of ${size} bytes exceeds ${MAX_SIGNALING_BYTES}`,
    };
  }
  let json: unknown;
  try {
    json = JSON.parse(typeof raw === 'string' ? raw : new TextDecoder().decode(raw));
  } catch {
    return { ok: false, code: 'bad_request', message: 'message is not valid JSON' };
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    return { ok: false, code: 'bad_request', message: 'message must be a JSON object' };
  }
  const rec = json as Record<string, unknown>;
  const ref = typeof rec.type === 'string' ? rec.type.slice(0, 32) : undefined;
  const rid = ridSchema.safeParse(rec.rid).data;
  if (rec.v !== PROTOCOL_VERSION) {
    return {
      ok: false,
      code: 'unsupported_version',
      message: `protocol version must be ${PROTOCOL_VERSION}`,
      ref,
      rid,
    };
  }
  const result = schema.safeParse(json);
  if (!result.success) return { ok: false, code: 'bad_request', message: describe(result.error), ref, rid };
  return { ok: true, value: result.data };
}

/** Validates one signaling frame from a client: size, JSON, version, then the schema of its type. */
export function parseClientMessage(raw: string | Uint8Array): ParseResult<ClientMessage> {
  return parseWith(clientMessage, raw);
}

/** Validates one signaling frame from the server (clients validate what they receive too). */
export function parseServerMessage(raw: string | Uint8Array): ParseResult<ServerMessage> {
  return parseWith(serverMessage, raw);
}

/** Validates an HTTP body against a schema, with the same error shape. */
export function parseBody<T>(schema: z.ZodType<T, z.ZodTypeDef, unknown>, body: unknown): ParseResult<T> {
  const result = schema.safeParse(body);
  if (!result.success) return { ok: false, code: 'bad_request', message: describe(result.error) };
  return { ok: true, value: result.data };
}
