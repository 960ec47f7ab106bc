import {
  CodedError,
  ERROR_CATALOGUE,
  HTTP_ERROR_VARIANTS,
  isErrorCode,
  PROTOCOL_VERSION,
  type ErrorCode,
  type ErrorResponse,
  type HttpErrorVariant,
} from '@conclave/protocol';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/** Largest HTTP request body. API bodies are a few hundred bytes; signaling uses the WebSocket. */
export const HTTP_BODY_LIMIT = 64 * 1024;

/** What an error answer is named by: a code (its catalogue status) or a named variant. */
export type HttpErrorKey = ErrorCode | HttpErrorVariant;

/**
 * A refusal decided below a route (risk gate, phone check), answered with
 * `replyError(reply, r.code, r.message, r)`: the status is the code's.
 */
export interface Refusal {
  code: ErrorCode;
  message: string;
  /** Sent as `Retry-After`. */
  retryAfterSeconds?: number;
}

function send(reply: FastifyReply, status: number, code: ErrorCode, message: string): FastifyReply {
  const body: ErrorResponse = { v: PROTOCOL_VERSION, error: { code, message } };
  return reply.code(status).type('application/json; charset=utf-8').send(body);
}

/**
 * The one way a route answers an error: the status comes from the protocol's catalogue
 * (ERROR_CATALOGUE, or HTTP_ERROR_VARIANTS for a named variant), the message is the route's or
 * the catalogue's default.
 */
export function replyError(
  reply: FastifyReply,
  key: HttpErrorKey,
  message?: string,
  options: { retryAfterSeconds?: number } = {},
): FastifyReply {
  const spec = isErrorCode(key) ? { code: key, ...ERROR_CATALOGUE[key] } : HTTP_ERROR_VARIANTS[key];
  if (options.retryAfterSeconds !== undefined) {
    reply.header('retry-after', String(options.retryAfterSeconds));
  }
  return send(reply, spec.status, spec.code, message ?? spec.message);
}

/** The no-route answer (404 `bad_request`), for the root and for the API's own catch-all. */
export function replyNoRoute(req: FastifyRequest, reply: FastifyReply): FastifyReply {
  return replyError(reply, 'no_route', `no route for ${req.method} ${req.url.split('?')[0] ?? ''}`);
}

/** Errors Fastify raises before a handler runs (body parsing), with a code and message of ours. */
const FASTIFY_ERRORS: Record<string, { code: ErrorCode; message: string }> = {
  FST_ERR_CTP_INVALID_JSON_BODY: { code: 'bad_request', message: 'the body is not valid JSON' },
  FST_ERR_CTP_EMPTY_JSON_BODY: {
    code: 'bad_request',
    message: 'the body is empty but content-type is application/json',
  },
  FST_ERR_CTP_BODY_TOO_LARGE: {
    code: 'message_too_large',
    message: `the body is larger than ${HTTP_BODY_LIMIT} bytes`,
  },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { code: 'bad_request', message: 'the body must be application/json' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: {
    code: 'bad_request',
    message: 'content-length does not match the body',
  },
};

function isFastifyClientError(err: unknown): err is FastifyError & { statusCode: number } {
  const e = err as Partial<FastifyError>;
  return (
    err instanceof Error &&
    typeof e.code === 'string' &&
    e.statusCode !== undefined &&
    e.statusCode >= 400 &&
    e.statusCode < 500
  );
}

/**
 * Error answers for the whole app, set on the root (every plugin inherits them):
 * - a thrown `CodedError` answers with its code's catalogue status and its message, except that
 *   a 5xx code answers with the catalogue's sentence (the error is logged, its text not sent);
 * - Fastify's own client errors (malformed JSON, too large, wrong content type) keep Fastify's
 *   4xx status, with a code and message of ours;
 * - anything else is logged and answers `internal_error` 500 without its message;
 * - a request no route takes answers 404 `bad_request`.
 */
export function setErrorAnswers(app: FastifyInstance): void {
  app.setErrorHandler((err: unknown, req, reply) => {
    if (err instanceof CodedError && isErrorCode(err.code)) {
      if (ERROR_CATALOGUE[err.code].status >= 500) {
        req.log.error({ err }, 'request failed');
        return replyError(reply, err.code);
      }
      return replyError(reply, err.code, err.message);
    }
    if (isFastifyClientError(err)) {
      const known = FASTIFY_ERRORS[err.code];
      return send(reply, err.statusCode, known?.code ?? 'bad_request', known?.message ?? err.message);
    }
    req.log.error({ err }, 'request failed');
    return replyError(reply, 'internal_error');
  });
  app.setNotFoundHandler(replyNoRoute);
}
