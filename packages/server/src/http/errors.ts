import { PROTOCOL_VERSION, type ErrorCode, type ErrorResponse } from '@conclave/protocol';
import type { FastifyReply } from 'fastify';

function errorBody(code: ErrorCode, message: string): ErrorResponse {
  return { v: PROTOCOL_VERSION, error: { code, message } };
}

export function sendError(
  reply: FastifyReply,
  status: number,
  code: ErrorCode,
  message: string,
): FastifyReply {
  return reply.code(status).type('application/json; charset=utf-8').send(errorBody(code, message));
}

/** HTTP status for a `ProtocolError` code thrown below a route. */
export function statusForCode(code: ErrorCode): number {
  switch (code) {
    case 'unknown_meeting':
    case 'unknown_participant':
      return 404;
    case 'forbidden':
    case 'denied':
    case 'removed':
    case 'wrong_passcode':
      return 403;
    case 'meeting_ended':
    case 'meeting_locked':
    case 'meeting_full':
      return 409;
    case 'message_too_large':
      return 413;
    case 'rate_limited':
      return 429;
    case 'internal_error':
    case 'media_error':
      return 500;
    default:
      return 400;
  }
}
