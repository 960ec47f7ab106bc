import { parseBody, PROTOCOL_VERSION, type MeResponse } from '@conclave/protocol';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import { replyError } from '../http/errors.js';
import type { AccountUser } from './account-store.js';
import { hostingEntitlement } from './entitlement.js';

/** The body parsed with a protocol schema, or undefined after a 400 was sent. */
export function parseJson<T>(
  schema: z.ZodType<T, z.ZodTypeDef, unknown>,
  req: FastifyRequest,
  reply: FastifyReply,
): T | undefined {
  const body = req.body;
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    void replyError(reply, 'bad_request', 'the body must be a JSON object (content-type: application/json)');
    return undefined;
  }
  const parsed = parseBody(schema, body);
  if (!parsed.ok) {
    void replyError(reply, parsed.code, parsed.message);
    return undefined;
  }
  return parsed.value;
}

export function meBody(user: AccountUser, csrfToken?: string): MeResponse {
  return {
    v: PROTOCOL_VERSION,
    account: {
      id: user.id,
      email: user.email,
      displayName: user.displayName,
      plan: user.plan,
      role: user.role,
      createdAt: user.createdAt,
      totpEnabled: user.totpEnabled,
      phoneVerified: user.phoneVerified,
    },
    entitlement: hostingEntitlement(user),
    ...(csrfToken ? { csrfToken } : {}),
  };
}
