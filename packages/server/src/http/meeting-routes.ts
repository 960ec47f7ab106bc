import {
  createMeetingRequest,
  parseBody,
  PROTOCOL_VERSION,
  updateMeetingRequest,
  type CreateMeetingResponse,
  type MeetingInfo,
  type ParseResult,
} from '@conclave/protocol';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import type { Accounts } from '../accounts/accounts.js';
import { hostingEntitlement } from '../accounts/entitlement.js';
import { clientKeyForIp } from '../meeting-store/client-key.js';
import type { MeetingStore } from '../meeting-store/meeting-store.js';
import { replyError } from './errors.js';
import type { TokenBucketLimiter } from './rate-limit.js';

export const HOST_SECRET_HEADER = 'x-host-secret';

interface MeetingsApiOptions {
  store: MeetingStore;
  /** Sessions, CSRF and the risk gate of meeting creation. */
  accounts: Accounts;
  /** The base of meeting links, without a trailing slash. */
  publicUrl: () => string;
  createLimiter: TokenBucketLimiter;
}

type IdRequest = FastifyRequest<{ Params: { id: string } }>;

/** The protocol's `parseBody`, with a plainer message when there is no JSON object at all. */
function parseJsonObject<T>(schema: z.ZodType<T, z.ZodTypeDef, unknown>, body: unknown): ParseResult<T> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return {
      ok: false,
      code: 'bad_request',
      message: 'the body must be a JSON object (content-type: application/json)',
    };
  }
  return parseBody(schema, body);
}

/**
 * The meetings API. Creating a meeting needs a signed-in account with the hosting entitlement
 * for the mode (accounts/entitlement.ts), passes the risk engine (`meeting_create`) and is rate
 * limited per client; the host secret returned at creation is what authorises changes. Bodies are validated
 * with the protocol package's schemas; every error is an `errorResponse`. Registered with the
 * prefix `/api/meetings`.
 */
export const meetingsApi: FastifyPluginAsync<MeetingsApiOptions> = async (app, deps) => {
  const { store, accounts } = deps;

  const meetingBody = (meeting: MeetingInfo) => ({ v: PROTOCOL_VERSION, meeting });

  /** The meeting, or an error already sent (404, or 403 when `hostOnly` and the secret is wrong). */
  async function loadMeeting(
    req: IdRequest,
    reply: FastifyReply,
    hostOnly: boolean,
  ): Promise<MeetingInfo | undefined> {
    const meeting = await store.get(req.params.id);
    if (!meeting) {
      replyError(reply, 'unknown_meeting');
      return undefined;
    }
    if (hostOnly) {
      const secret = req.headers[HOST_SECRET_HEADER];
      if (typeof secret !== 'string' || !(await store.checkHostSecret(meeting.id, secret))) {
        replyError(reply, 'forbidden', `the ${HOST_SECRET_HEADER} header is missing or wrong`);
        return undefined;
      }
    }
    return meeting;
  }

  app.post('/', { preHandler: accounts.cookies.csrfGuard }, async (req, reply) => {
    const parsed = parseJsonObject(createMeetingRequest, req.body);
    if (!parsed.ok) return replyError(reply, parsed.code, parsed.message);
    const user = await accounts.currentUser(req);
    const entitlement = hostingEntitlement(user);
    if (!user || !entitlement.standard) {
      return replyError(reply, 'unauthenticated', 'sign in to host a meeting; guests can join meetings');
    }
    if (parsed.value.mode === 'e2ee' && !entitlement.e2ee) {
      return replyError(
        reply,
        'e2ee_not_entitled',
        'end-to-end encrypted meetings need a paid plan or the one-time phone check of a free account (Account → Unlock E2EE); standard meetings need neither',
      );
    }
    // Only valid requests spend a token: a client fixing its body is not punished.
    const limit = deps.createLimiter.take(clientKeyForIp(req.ip));
    if (!limit.ok) {
      return replyError(
        reply,
        'rate_limited',
        `too many meetings created from this address; try again in ${limit.retryAfterSeconds} s`,
        limit,
      );
    }
    const gate = await accounts.gate(req, reply, 'meeting_create', user, parsed.value.totp);
    if (!gate.ok) return replyError(reply, gate.code, gate.message, gate);
    const { meeting, hostSecret } = await store.create(parsed.value, user.id);
    const base = deps.publicUrl();
    const body: CreateMeetingResponse = {
      v: PROTOCOL_VERSION,
      meeting,
      joinUrl: `${base}/m/${meeting.id}`,
      // In the fragment: browsers never send it to the server when they load the page.
      hostUrl: `${base}/m/${meeting.id}#host=${hostSecret}`,
      hostSecret,
    };
    req.log.info({ meetingId: meeting.id, mode: meeting.mode, userId: user.id }, 'meeting created');
    return reply.code(201).send(body);
  });

  app.get('/:id', async (req: IdRequest, reply) => {
    const meeting = await loadMeeting(req, reply, false);
    return meeting ? reply.send(meetingBody(meeting)) : reply;
  });

  app.patch('/:id', async (req: IdRequest, reply) => {
    const meeting = await loadMeeting(req, reply, true);
    if (!meeting) return reply;
    const parsed = parseJsonObject(updateMeetingRequest, req.body);
    if (!parsed.ok) return replyError(reply, parsed.code, parsed.message);
    // An ended meeting throws ProtocolError('meeting_ended'): 409 from the error handler.
    const updated = await store.update(meeting.id, parsed.value);
    req.log.info(
      { meetingId: meeting.id, fields: Object.keys(parsed.value).filter((k) => k !== 'v') },
      'meeting updated',
    );
    return reply.send(meetingBody(updated));
  });

  app.post('/:id/end', async (req: IdRequest, reply) => {
    const meeting = await loadMeeting(req, reply, true);
    if (!meeting) return reply;
    const ended = await store.end(meeting.id);
    req.log.info({ meetingId: meeting.id }, 'meeting ended');
    return reply.send(meetingBody(ended));
  });
};
