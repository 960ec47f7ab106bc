import type { AddressInfo } from 'node:net';
import type { ExternalSender } from '@conclave/crypto';
import type { FastifyInstance } from 'fastify';
import type { ServerConfig } from './config.js';
import { buildHttpApp, urlHost, type HttpAppDeps } from './http/app.js';
import type { TokenBucketOptions } from './http/rate-limit.js';
import { createLogger, type Logger } from './logger.js';
import { MeetingStore, type MeetingStoreOptions } from './meeting-store/meeting-store.js';
import { loadOrCreateExternalSender } from './meeting-store/server-key.js';
import { PlaceholderHub } from './placeholder-hub.js';
import type { SignalingHub } from './signaling-hub.js';
import { createDatabase } from './store/database.js';
import { migrateToLatest } from './store/migrate.js';
import type { Db } from './store/schema.js';
import { attachWebSocketEndpoint } from './ws-endpoint.js';

export interface HubDeps {
  config: ServerConfig;
  store: MeetingStore;
  externalSender: ExternalSender;
  logger: Logger;
  db: Db;
}

export interface StartServerOptions {
  /** Builds the signaling hub; without it a placeholder answers every message with an error. */
  createHub?: (deps: HubDeps) => SignalingHub | Promise<SignalingHub>;
  /** Default: a pino logger at `config.logLevel` on stdout. */
  logger?: Logger;
  /** Folder of the built web app; `null` = none. Default: `packages/web/dist` when it exists. */
  webRoot?: string | null;
  /** Clock and passcode limit for the meeting store (tests). */
  meetingStore?: MeetingStoreOptions;
  /** Meeting creation limit per client (default in http/rate-limit.ts; load tests raise it). */
  createMeetingLimit?: TokenBucketOptions;
  /** The SFU's media-port pool, shown by /healthz (startConclave passes the SFU's). */
  mediaStatus?: HttpAppDeps['mediaStatus'];
}

export interface RunningServer {
  /** Where the server listens, e.g. `http://127.0.0.1:41234` (the actual port for port 0). */
  url: string;
  port: number;
  /** Base of meeting links: the configured public URL, or `url`. */
  publicUrl: string;
  /** Closes the hub, the WebSocket server, the HTTP server and the database. Idempotent. */
  close(): Promise<void>;
}

/**
 * Opens the database (creating and migrating it as needed), loads or makes the server's MLS
 * external-sender key, and serves HTTP and `/ws` on `config.host:config.port`.
 */
export async function startServer(
  config: ServerConfig,
  options: StartServerOptions = {},
): Promise<RunningServer> {
  const logger = options.logger ?? createLogger({ level: config.logLevel });
  // Everything opened so far, closed in reverse order on failure and by close().
  const cleanups: { name: string; run: () => Promise<void> }[] = [];
  const closeAll = async () => {
    for (const { name, run } of cleanups.reverse()) {
      try {
        await run();
      } catch (err) {
        logger.error({ err }, `closing ${name} failed`);
      }
    }
    cleanups.length = 0;
  };

  try {
    const db = createDatabase(config);
    cleanups.push({ name: 'database', run: () => db.destroy() });
    const applied = await migrateToLatest(db);
    if (applied.length > 0) logger.info({ migrations: applied }, 'database migrated');
    const externalSender = await loadOrCreateExternalSender(db);
    const store = new MeetingStore(db, {
      ...options.meetingStore,
      passcodeLimit: {
        failuresPerNetwork: config.passcodeFailuresPerNetwork,
        failuresPerMeeting: config.passcodeFailuresPerMeeting,
        ...options.meetingStore?.passcodeLimit,
      },
      onListenerError: (err) => logger.error({ err }, 'meeting change listener failed'),
    });

    const app: FastifyInstance = await buildHttpApp({
      config,
      store,
      logger,
      webRoot: options.webRoot,
      createMeetingLimit: options.createMeetingLimit,
      mediaStatus: options.mediaStatus,
      accounts: { db },
    });
    cleanups.push({ name: 'http server', run: () => app.close() });

    const hub = options.createHub
      ? await options.createHub({ config, store, externalSender, logger, db })
      : new PlaceholderHub();
    const ws = attachWebSocketEndpoint({
      server: app.server,
      logger,
      trustProxy: config.trustProxy,
      publicUrl: config.publicUrl,
      onConnection: (socket, info) =>
        hub.handleConnection(socket, {
          ip: info.ip,
          sessionUserId: async () => {
            const session = info.cookieHeader
              ? app.accounts.cookies.sessionFrom(app.parseCookie(info.cookieHeader))
              : undefined;
            return session ? (await app.accounts.store.userForSession(session))?.id : undefined;
          },
        }),
    });
    // The hub goes first (it may still send goodbyes), then the sockets, then HTTP, then the database.
    cleanups.push({
      name: 'signaling',
      run: async () => {
        try {
          await hub.close();
        } finally {
          await ws.close();
        }
      },
    });

    await app.listen({ port: config.port, host: config.host });
    const port = (app.server.address() as AddressInfo).port;
    const url = `http://${urlHost(config.host)}:${port}`;

    let closing: Promise<void> | undefined;
    return {
      url,
      port,
      publicUrl: config.publicUrl ?? url,
      close: () => (closing ??= closeAll()),
    };
  } catch (err) {
    await closeAll();
    throw err;
  }
}
