import {
  MAX_REPORT_BYTES,
  PROTOCOL_VERSION,
  reportReasonSchema,
  submitReportRequest,
  type myReportsResponse,
  type SubmitReportResponse,
} from '@conclave/protocol';
import type { z } from 'zod';
import type { FastifyError, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { Accounts } from '../accounts/accounts.js';
import { parseJson } from '../accounts/http.js';
import { replyError } from '../http/errors.js';
import type { MeetingStore } from '../meeting-store/meeting-store.js';
import type { Reporter } from './report-store.js';
import type { ReportService } from './service.js';

export interface ReportsApiOptions {
  accounts: Accounts;
  meetings: MeetingStore;
  reports: ReportService;
}

/**
 * Report submissions checked at once; more wait for none and are refused (each may hold a body
 * of up to MAX_REPORT_BYTES and the CPU of its verification).
 */
const MAX_CONCURRENT_SUBMISSIONS = 4;

/**
 * The reporter of a request: the signed-in account (then the CSRF header is required, as on
 * every state-changing account route), or a guest without a session, known by its network.
 * Undefined after an error answer.
 */
async function reporterOf(
  accounts: Accounts,
  req: FastifyRequest,
  reply: FastifyReply,
): Promise<Reporter | undefined> {
  const network = accounts.ipPrefix(req);
  const user = await accounts.currentUser(req);
  if (!user) return { kind: 'guest', network };
  await accounts.cookies.csrfGuard(req, reply);
  return reply.sent ? undefined : { kind: 'account', userId: user.id, network };
}

/**
 * Report a User, registered with the prefix `/api/reports`:
 * - `POST /` (submitReportRequest; an account with CSRF, or a guest): body limit MAX_REPORT_BYTES
 *   for this route only. The reporter's own limit and the number of submissions in progress are
 *   checked before the body is read (onRequest), so a refused reporter's 24 MB are never parsed.
 *   Answers 201 submitReportResponse, or our error body (413 `message_too_large` over the limit).
 * - `GET /mine` (signed in): the account's reports with their status and outcome.
 */
export const reportsApi: FastifyPluginAsync<ReportsApiOptions> = async (
  app,
  { accounts, meetings, reports },
) => {
  let inFlight = 0;
  const counted = new WeakSet<FastifyRequest>();
  const reporters = new WeakMap<FastifyRequest, Reporter>();

  // Fastify's body-size refusal names the app's limit; this route has its own.
  app.setErrorHandler((err: FastifyError, _req, reply) => {
    if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE')
      return replyError(reply, 'message_too_large', `a report is at most ${MAX_REPORT_BYTES} bytes`);
    throw err;
  });

  app.post(
    '/',
    {
      bodyLimit: MAX_REPORT_BYTES,
      onRequest: async (req, reply) => {
        const reporter = await reporterOf(accounts, req, reply);
        if (!reporter) return reply;
        const limited = await reports.reporterLimit(reporter);
        if (limited) return replyError(reply, limited.code, limited.message, limited);
        if (inFlight >= MAX_CONCURRENT_SUBMISSIONS)
          return replyError(
            reply,
            'rate_limited',
            'the server is checking other reports; try again in a minute',
            {
              retryAfterSeconds: 60,
            },
          );
        inFlight++;
        counted.add(req);
        reporters.set(req, reporter);
      },
      onResponse: async (req) => {
        if (counted.delete(req)) inFlight--;
      },
      onRequestAbort: async (req) => {
        if (counted.delete(req)) inFlight--;
      },
    },
    async (req, reply) => {
      const reporter = reporters.get(req);
      if (!reporter) return replyError(reply, 'internal_error');
      const body = parseJson(submitReportRequest, req, reply);
      if (!body) return reply;
      if (!(await meetings.get(body.meetingId))) return replyError(reply, 'unknown_meeting');
      if (body.reported.participantId === undefined && body.reported.signatureKey === undefined)
        return replyError(
          reply,
          'bad_request',
          'name the reported participant by its participant id or signature key',
        );
      const result = await reports.submit(reporter, body);
      if (!result.ok) return replyError(reply, result.code, result.message, result);
      const answer: SubmitReportResponse = {
        v: PROTOCOL_VERSION,
        report: {
          id: result.id,
          status: 'open',
          verification: result.verification,
          evidenceKept: result.evidenceKept,
        },
      };
      return reply.code(201).send(answer);
    },
  );

  app.get('/mine', async (req, reply) => {
    const user = await accounts.requireUser(req, reply);
    if (!user) return reply;
    const rows = await reports.store.filedBy(user.id);
    const answer: z.infer<typeof myReportsResponse> = {
      v: PROTOCOL_VERSION,
      reports: rows.map((r) => ({
        id: r.id,
        meetingId: r.meeting_id,
        reportedName: r.reported_name,
        // Stored from a validated request; an unknown value (a later reason read by an older server) shows as 'other'.
        reason: reportReasonSchema.catch('other').parse(r.reason),
        createdAt: r.created_at,
        status: r.status,
        ...(r.status !== 'open' && r.outcome !== null ? { outcome: r.outcome } : {}),
      })),
    };
    return reply.send(answer);
  });
};
