import {
  adminReportListQuery,
  moderationActionRequest,
  moderationLogQuery,
  PROTOCOL_VERSION,
  type AdminReportListResponse,
  type AdminReportResponse,
  type ModerationActionResponse,
  type ModerationKeyResponse,
  type ModerationLogResponse,
} from '@conclave/protocol';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import type { Accounts } from '../accounts/accounts.js';
import { parseJson } from '../accounts/http.js';
import { replyError, replyNoRoute } from '../http/errors.js';
import { ModerationKeys } from '../reports/moderation-keys.js';
import type { ModerationActions } from './actions.js';
import type { LiveEnforcement } from './live-enforcement.js';
import { ModerationLog } from './log.js';
import { reportDetail, listReports, resolveAccount } from './queue.js';

export interface ModerationApiOptions {
  accounts: Accounts;
  actions: ModerationActions;
  /** Closes the live connections an action concerns (absent: the HTTP app runs without signaling). */
  enforcement?: LiveEnforcement | undefined;
}

type IdRequest = FastifyRequest<{ Params: { id: string } }>;

/** A query string parsed with a protocol schema, or undefined after a 400 was sent. */
function parseQuery<T>(
  schema: z.ZodType<T, z.ZodTypeDef, unknown>,
  req: FastifyRequest,
  reply: FastifyReply,
): T | undefined {
  const parsed = schema.safeParse(req.query);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  void replyError(
    reply,
    'bad_request',
    `query ${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'not valid'}`,
  );
  return undefined;
}

/**
 * The moderation API for admin accounts (role `admin`), registered with the prefix
 * `/api/admin`: the report queue, one report with its history, actions on it, the audit log and
 * the moderators' public key. One `onRequest` hook guards the whole plugin — every route in it,
 * the catch-all for unknown `/api/admin/*` paths included — so no route can be added without it:
 * signed out → 401 `unauthenticated`, signed in without the admin role → 403 `forbidden`. The
 * POST needs the CSRF header like every other account POST (accounts/cookies.ts).
 */
export const moderationApi: FastifyPluginAsync<ModerationApiOptions> = async (app, opts) => {
  const { accounts, actions } = opts;
  const db = accounts.db;
  const log = new ModerationLog(db, accounts.now);

  app.addHook('onRequest', async (req, reply) => {
    const user = await accounts.currentUser(req);
    if (!user) return replyError(reply, 'unauthenticated', 'sign in with an admin account');
    if (user.role !== 'admin')
      return replyError(reply, 'forbidden', 'the moderation API is for admin accounts only');
  });

  /** The admin of the request (the hook let it through). */
  const admin = async (req: FastifyRequest) => (await accounts.currentUser(req))!;

  app.get('/reports', async (req, reply) => {
    const query = parseQuery(adminReportListQuery, req, reply);
    if (!query) return reply;
    const body: AdminReportListResponse = { v: PROTOCOL_VERSION, reports: await listReports(db, query) };
    return reply.send(body);
  });

  app.get('/reports/:id', async (req: IdRequest, reply) => {
    const detail = await reportDetail(db, req.params.id, accounts.now());
    if (!detail) return replyError(reply, 'unknown_report');
    if (detail.report.sealedEvidence !== undefined) {
      // The server cannot see the box opened (the console opens it with the moderators' key):
      // what it logs is who was handed it.
      await log.write({
        actor: (await admin(req)).email,
        action: 'evidence_opened',
        reportId: detail.report.id,
        accountId: detail.report.reportedAccount?.id,
        detail: 'the sealed evidence was sent to the moderation console',
      });
    }
    const body: AdminReportResponse = { v: PROTOCOL_VERSION, ...detail };
    return reply.send(body);
  });

  app.post<{ Params: { id: string } }>(
    '/reports/:id/actions',
    { preHandler: accounts.cookies.csrfGuard },
    async (req: IdRequest, reply) => {
      const body = parseJson(moderationActionRequest, req, reply);
      if (!body) return reply;
      const user = await admin(req);
      const result = await actions.act(req.params.id, body, { actor: user.email, accountId: user.id });
      // Whoever the action took out leaves the running meetings before the answer.
      if (result.blockedAccount !== undefined || result.bannedKeys.length > 0)
        await opts.enforcement?.sweep();
      req.log.info({ reportId: result.report.id, action: body.action, by: user.id }, 'moderation action');
      const answer: ModerationActionResponse = {
        v: PROTOCOL_VERSION,
        ok: true,
        entry: result.entry,
        report: result.report,
      };
      return reply.send(answer);
    },
  );

  app.get('/moderation-log', async (req, reply) => {
    const query = parseQuery(moderationLogQuery, req, reply);
    if (!query) return reply;
    let accountId: string | undefined;
    if (query.account !== undefined) {
      accountId = await resolveAccount(db, query.account);
      if (accountId === undefined) return reply.send({ v: PROTOCOL_VERSION, entries: [] });
    }
    const body: ModerationLogResponse = {
      v: PROTOCOL_VERSION,
      entries: await log.list({
        accountId,
        reportId: query.report,
        limit: query.limit,
        offset: query.offset,
      }),
    };
    return reply.send(body);
  });

  app.get('/moderation-key', async (_req, reply) => {
    const key = await new ModerationKeys(db).current();
    const body: ModerationKeyResponse = {
      v: PROTOCOL_VERSION,
      publicKey: key ? Buffer.from(key.publicKey).toString('base64') : null,
      createdAt: key?.createdAt ?? null,
    };
    return reply.send(body);
  });

  // Unknown paths under /api/admin pass the guard too: outsiders learn nothing of the routes.
  app.all('/*', replyNoRoute);
};
