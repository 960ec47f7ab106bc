import type { AddressInfo } from 'node:net';
import { ProtocolError, type ErrorCode, type healthResponse } from '@conclave/protocol';
import Fastify, { type FastifyBaseLogger, type FastifyError, type FastifyInstance } from 'fastify';
import type { z } from 'zod';
import type { AccountsOptions } from '../accounts/accounts.js';
import { registerAccounts } from '../accounts/register.js';
import type { ServerConfig } from '../config.js';
import type { Logger } from '../logger.js';
import type { MeetingStore } from '../meeting-store/meeting-store.js';
import type { MediaPoolStatus } from '../sfu/port-pool.js';
import { SERVER_VERSION } from '../version.js';
import { sendError, statusForCode } from './errors.js';
import { registerMeetingRoutes } from './meeting-routes.js';
import { DEFAULT_CREATE_MEETING_LIMIT, TokenBucketLimiter, type TokenBucketOptions } from './rate-limit.js';
import { DEFAULT_WEB_ROOT, registerWebApp } from './web-app.js';

type HealthResponse = z.infer<typeof healthResponse>;

/** Largest HTTP request body. API bodies are a few hundred bytes; signaling uses the WebSocket. */
export const HTTP_BODY_LIMIT = 64 * 1024;

export interface HttpAppDeps {
  config: ServerConfig;
  store: MeetingStore;
  logger: Logger;
  /** Folder of the built web app; `null` = never serve one. Default: `packages/web/dist`. */
  webRoot?: string | null;
  /** Meeting creation limit per client (see rate-limit.ts). */
  createMeetingLimit?: TokenBucketOptions;
  /** Accounts, phone verification and risk engine (accounts/accounts.ts); tests inject clocks etc. */
  accounts?: AccountsOptions;
  /** The SFU's media-port pool for /healthz (`media`); without it the field is absent. */
  mediaStatus?: () => MediaPoolStatus;
}

/** Error codes Fastify raises before a handler runs, with a message of ours. */
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

function isFastifyError(err: unknown): err is FastifyError {
  return err instanceof Error && typeof (err as Partial<FastifyError>).code === 'string';
}

/**
 * The HTTP API as a Fastify instance (not listening: `server.ts` listens, tests may `inject`).
 * Every error, including Fastify's own (malformed JSON, too large, wrong content type) and
 * unknown routes, answers with the protocol's `errorResponse` shape; nothing answers a bad
 * request with a 500.
 */
export async function buildHttpApp(deps: HttpAppDeps): Promise<FastifyInstance> {
  const { config, logger } = deps;
  const app: FastifyInstance = Fastify({
    // Fastify's logger type is pino's, minus generics; the instance is the same object.
    loggerInstance: logger as FastifyBaseLogger,
    bodyLimit: HTTP_BODY_LIMIT,
    trustProxy: config.trustProxy,
    // Clients may send `?` or a trailing slash by accident; ids never contain them.
    routerOptions: { ignoreTrailingSlash: true },
  });
  const startedAt = Date.now();
  // JSON only. text/plain is a CORS "simple" content type: a page on another site could POST it
  // without a preflight, so it must not reach the API as a body.
  app.removeContentTypeParser('text/plain');

  /** Configured public URL, or the address this app listens on (the actual port for --port 0). */
  const publicUrl = (): string => {
    if (config.publicUrl) return config.publicUrl;
    const address = app.server.address() as AddressInfo | string | null;
    const port = address && typeof address === 'object' ? address.port : config.port;
    return `http://${urlHost(config.host)}:${port}`;
  };

  app.addHook('onSend', async (req, reply) => {
    reply.header('x-content-type-options', 'nosniff');
    reply.header('referrer-policy', 'no-referrer');
    // API answers carry secrets (the host secret at creation) and live state: never cache them.
    if (req.url.startsWith('/api/')) reply.header('cache-control', 'no-store');
  });

  app.setErrorHandler((err: unknown, req, reply) => {
    if (err instanceof ProtocolError) {
      return sendError(reply, statusForCode(err.code), err.code, err.message);
    }
    if (
      isFastifyError(err) &&
      err.statusCode !== undefined &&
      err.statusCode >= 400 &&
      err.statusCode < 500
    ) {
      const known = FASTIFY_ERRORS[err.code];
      return sendError(reply, err.statusCode, known?.code ?? 'bad_request', known?.message ?? err.message);
    }
    req.log.error({ err }, 'request failed');
    return sendError(reply, 500, 'internal_error', 'internal error');
  });

  app.setNotFoundHandler((req, reply) => {
    // No `not_found` code in the protocol yet: `bad_request` with status 404.
    return sendError(reply, 404, 'bad_request', `no route for ${req.method} ${req.url.split('?')[0] ?? ''}`);
  });

  app.get('/healthz', async (): Promise<HealthResponse> => ({
    status: 'ok' as const,
    version: SERVER_VERSION,
    uptimeSeconds: Math.floor((Date.now() - startedAt) / 1000),
    ...(deps.mediaStatus ? { media: deps.mediaStatus() } : {}),
  }));

  // Before the meeting routes, so they can use `app.accounts` (sessions, entitlement, risk).
  await registerAccounts(app, { config, logger, ...deps.accounts });
  registerMeetingRoutes(app, {
    store: deps.store,
    publicUrl,
    createLimiter: new TokenBucketLimiter(deps.createMeetingLimit ?? DEFAULT_CREATE_MEETING_LIMIT),
  });

  await registerWebApp(app, deps.webRoot === undefined ? DEFAULT_WEB_ROOT : deps.webRoot);
  return app;
}

/** A host as it goes in a URL: IPv6 in brackets, the wildcard addresses as loopback. */
export function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}
