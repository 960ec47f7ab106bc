import type { Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import fastifyCookie from '@fastify/cookie';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyPluginAsync } from 'fastify';
import type { Accounts, AccountsOptions } from '../accounts/accounts.js';
import { accountsApi, openAccounts } from '../accounts/api.js';
import type { ServerConfig } from '../config.js';
import type { Logger } from '../logger.js';
import type { MeetingStore } from '../meeting-store/meeting-store.js';
import type { MediaPoolStatus } from '../sfu/port-pool.js';
import { verificationApi } from '../verification/routes.js';
import { ModerationActions } from '../moderation/actions.js';
import type { LiveEnforcement } from '../moderation/live-enforcement.js';
import { accountNoticesApi } from '../moderation/notices.js';
import { moderationApi } from '../moderation/routes.js';
import { reportsApi } from '../reports/routes.js';
import { ReportService } from '../reports/service.js';
import { HTTP_BODY_LIMIT, replyNoRoute, setErrorAnswers } from './errors.js';
import { healthApi } from './health.js';
import { meetingsApi } from './meeting-routes.js';
import { DEFAULT_CREATE_MEETING_LIMIT, TokenBucketLimiter, type TokenBucketOptions } from './rate-limit.js';
import { addSecurityHeaders, pageCsp, webSocketOrigin } from './security-headers.js';
import { ownScheme, reachedOverHttps, readTlsFiles, reloadOnChange } from './tls.js';
import { DEFAULT_WEB_ROOT, webApp } from './web-app.js';

export interface HttpAppDeps {
  config: ServerConfig;
  store: MeetingStore;
  logger: Logger;
  /** Folder of the built web app; `null` = never serve one. Default: `packages/web/dist`. */
  webRoot?: string | null;
  /** Meeting creation limit per client (see rate-limit.ts). */
  createMeetingLimit?: TokenBucketOptions;
  /** Accounts, phone verification and risk engine (accounts/accounts.ts); tests inject clocks etc. */
  accounts: AccountsOptions;
  /** The SFU's media-port pool for /healthz (`media`); without it the field is absent. */
  mediaStatus?: () => MediaPoolStatus;
  /** HTTPS mode: how often the certificate files are checked for a renewal (tls.ts; tests shorten it). */
  tlsCheckIntervalMs?: number;
  /** Closes the live connections a moderation action concerns (conclave.ts attaches it to the hub). */
  enforcement?: LiveEnforcement;
  /** Report a User (conclave.ts makes it, with the hub's participants and the retention sweep); default: one on the accounts' database. */
  reports?: ReportService;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The accounts service the APIs share (sessions, CSRF, risk gate); set on the root. */
    accounts: Accounts;
    /** Every route of the app as registered (method, full URL): tests enumerate route families. */
    routeTable: readonly { method: string; url: string }[];
  }
}

interface ApiOptions {
  accounts: Accounts;
  store: MeetingStore;
  publicUrl: () => string;
  createLimiter: TokenBucketLimiter;
  moderation: { actions: ModerationActions; enforcement: LiveEnforcement | undefined };
  reports: ReportService;
}

/**
 * Everything under `/api`: the meeting, accounts, verification and moderation (`/api/admin`,
 * admins only) APIs, each its own plugin with its prefix. API answers carry secrets (the host secret at creation) and live state, so this
 * context marks every answer `no-store`, including its own no-route answers (a catch-all, so
 * that the web app's wildcard never answers an `/api` path).
 */
const api: FastifyPluginAsync<ApiOptions> = async (app, opts) => {
  app.addHook('onSend', async (_req, reply) => {
    reply.header('cache-control', 'no-store');
  });
  await app.register(meetingsApi, {
    prefix: '/meetings',
    store: opts.store,
    accounts: opts.accounts,
    publicUrl: opts.publicUrl,
    createLimiter: opts.createLimiter,
  });
  await app.register(accountsApi, { accounts: opts.accounts });
  await app.register(verificationApi, { prefix: '/verification', accounts: opts.accounts });
  await app.register(moderationApi, { prefix: '/admin', accounts: opts.accounts, ...opts.moderation });
  await app.register(accountNoticesApi, { accounts: opts.accounts });
  await app.register(reportsApi, {
    prefix: '/reports',
    accounts: opts.accounts,
    meetings: opts.store,
    reports: opts.reports,
  });
  app.all('/*', replyNoRoute);
  app.setNotFoundHandler(replyNoRoute);
};

/**
 * The HTTP app as a Fastify instance, not listening (the composition root, conclave.ts, listens;
 * tests may `inject`). The root holds what every answer shares: the error answers (errors.ts:
 * every error, Fastify's own and unknown routes included, has the protocol's `errorResponse`
 * shape; nothing answers a bad request with a 500), the security headers (security-headers.ts;
 * the web app sets its own CSP), the cookie parser and the `accounts` decorator. With `tlsCert`
 * and `tlsKey` set (tls.ts) the server is Node's https server, and WebSocket upgrades arrive on
 * it as on the http one. The parts are encapsulated plugins with their prefixes — `/healthz`,
 * `/api` (meetings, accounts, verification) and the web app at `/` — so the order they are
 * registered in does not matter and their hooks stay inside them.
 */
export async function buildHttpApp(deps: HttpAppDeps): Promise<FastifyInstance> {
  const { config, logger } = deps;
  const tls = readTlsFiles(config);
  // With `https` Fastify's type names https.Server as the raw server; everything here (listen,
  // address, upgrades, close) is the same on both, so the app keeps the default type.
  const app = Fastify({
    // Fastify's logger type is pino's, minus generics; the instance is the same object.
    loggerInstance: logger as FastifyBaseLogger,
    bodyLimit: HTTP_BODY_LIMIT,
    trustProxy: config.trustProxy,
    // Clients may send `?` or a trailing slash by accident; ids never contain them.
    routerOptions: { ignoreTrailingSlash: true },
    ...(tls ? { https: tls } : {}),
  }) as FastifyInstance;
  if (tls) {
    const stop = reloadOnChange(
      app.server as unknown as HttpsServer,
      config,
      logger,
      deps.tlsCheckIntervalMs,
    );
    app.addHook('onClose', async () => stop());
  }
  // JSON only. text/plain is a CORS "simple" content type: a page on another site could POST it
  // without a preflight, so it must not reach the API as a body.
  app.removeContentTypeParser('text/plain');
  setErrorAnswers(app);
  const routeTable: { method: string; url: string }[] = [];
  app.decorate('routeTable', routeTable);
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) routeTable.push({ method, url: route.url });
  });
  addSecurityHeaders(app, { https: reachedOverHttps(config) });
  let accounts: Accounts | undefined;
  try {
    await app.register(fastifyCookie);
    const opened = (accounts = await openAccounts(config, logger, deps.accounts));
    app.decorate('accounts', opened);
    app.addHook('onClose', async () => opened.close());
    await registerParts(app, deps, opened);
    return app;
  } catch (err) {
    // A plugin that failed to register may make close() fail too: what was opened is closed anyway.
    accounts?.close();
    await app.close().catch(() => undefined);
    throw err;
  }
}

async function registerParts(app: FastifyInstance, deps: HttpAppDeps, accounts: Accounts): Promise<void> {
  const { config } = deps;
  const startedAt = Date.now();

  /** Configured public URL, or the address this app listens on (the actual port for --port 0). */
  const publicUrl = (): string => {
    if (config.publicUrl) return config.publicUrl;
    const address = app.server.address() as AddressInfo | string | null;
    const port = address && typeof address === 'object' ? address.port : config.port;
    return `${ownScheme(config)}://${urlHost(config.host)}:${port}`;
  };

  await app.register(healthApi, { prefix: '/healthz', startedAt, mediaStatus: deps.mediaStatus });
  await app.register(api, {
    prefix: '/api',
    accounts,
    store: deps.store,
    publicUrl,
    createLimiter: new TokenBucketLimiter(deps.createMeetingLimit ?? DEFAULT_CREATE_MEETING_LIMIT),
    moderation: {
      actions: new ModerationActions({ db: accounts.db, meetings: deps.store, now: accounts.now }),
      enforcement: deps.enforcement,
    },
    reports:
      deps.reports ??
      (await ReportService.open({
        db: accounts.db,
        settings: config,
        logger: deps.logger,
        now: accounts.now,
      })),
  });
  await app.register(webApp, {
    root: deps.webRoot === undefined ? DEFAULT_WEB_ROOT : deps.webRoot,
    csp: pageCsp(config.publicUrl && webSocketOrigin(config.publicUrl)),
  });
}

/** A host as it goes in a URL: IPv6 in brackets, the wildcard addresses as loopback. */
export function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}
