import type { AddressInfo } from 'node:net';
import type { ServerConfig } from './config.js';
import { buildHttpApp, urlHost } from './http/app.js';
import type { TokenBucketOptions } from './http/rate-limit.js';
import { ownScheme } from './http/tls.js';
import { createLogger, type LogSink, type Logger } from './logger.js';
import type { HubLimits, MeetingHub } from './meeting/hub.js';
import type { MeetingStoreOptions } from './meeting-store/meeting-store.js';
import { BannedKeys } from './moderation/banned-keys.js';
import { ReportService } from './reports/service.js';
import { LiveEnforcement } from './moderation/live-enforcement.js';
import { Sfu, type SfuOptions } from './sfu/index.js';
import { openSignaling } from './signaling.js';
import { openStorage, type Storage } from './storage.js';

export interface ConclaveStartOptions {
  /** Default: a pino logger at `config.logLevel` on stdout. */
  logger?: Logger;
  /** Folder of the built web app; `null` = none. Default: `packages/web/dist` when it exists. */
  webRoot?: string | null;
  /** Clock and passcode limit for the meeting store (tests). */
  meetingStore?: MeetingStoreOptions;
  /** Meeting creation limit per client (default in http/rate-limit.ts; load tests raise it). */
  createMeetingLimit?: TokenBucketOptions;
  /** Tests: the SFU binds and announces 127.0.0.1 only. */
  loopbackOnly?: boolean;
  /** Tests: the SFU emits every forwarded RTP payload as a 'tap' event. */
  tap?: boolean;
  /** A chosen committer that does not commit within this time is passed over (default 1.5 s). */
  commitTimeoutMs?: number;
  /** How often running meetings are checked against moderation done by other processes (default 5 s). */
  moderationSweepMs?: number;
}

/** The running service and its parts. `Media` is `undefined` when started with `media: false`. */
export interface ConclaveServer<Media extends Sfu | undefined = Sfu> {
  /** Where the server listens, e.g. `http://127.0.0.1:41234` (the actual port for port 0; https with a certificate). */
  url: string;
  port: number;
  /** Base of meeting links: the configured public URL, or `url`. */
  publicUrl: string;
  storage: Storage;
  sfu: Media;
  hub: MeetingHub;
  /** Closes every part, the last opened first. Idempotent. */
  close(): Promise<void>;
}

/** Every limit of the hub and its rooms, from the settings of the same names. */
function hubLimits(config: ServerConfig): HubLimits {
  return {
    maxSocketsPerAddress: config.maxSocketsPerAddress,
    maxSocketsPerNetwork: config.maxSocketsPerNetwork,
    joinsPerMinutePerAddress: config.joinsPerMinutePerAddress,
    joinsPerMinutePerNetwork: config.joinsPerMinutePerNetwork,
    maxWaiting: config.maxWaiting,
    maxWaitingPerNetwork: config.maxWaitingPerNetwork,
    maxSendBufferBytes: config.maxSendBufferBytes,
    resumeMs: config.resumeSeconds * 1000,
  };
}

function sfuOptions(config: ServerConfig, opts: ConclaveStartOptions, logger: Logger): SfuOptions {
  return {
    workers: config.sfuWorkers,
    announcedAddress: config.mediaAddress,
    portRange: [config.mediaPorts.min, config.mediaPorts.max],
    loopbackOnly: opts.loopbackOnly,
    tap: opts.tap,
    logger: logger.child({ component: 'sfu' }),
  };
}

/** The parts opened so far, closed the last first (by `close()`, or when start-up fails). */
class OpenParts {
  private readonly open: { name: string; close: () => Promise<void> }[] = [];

  constructor(private readonly logger: LogSink) {}

  async add<T>(name: string, opening: () => Promise<T> | T, close: (part: T) => Promise<void>): Promise<T> {
    const part = await opening();
    this.open.push({ name, close: () => close(part) });
    this.logger.debug({ part: name }, 'part opened');
    return part;
  }

  /** Closes every part even when one fails to (the failure is logged). */
  async closeAll(): Promise<void> {
    for (let p = this.open.pop(); p; p = this.open.pop()) {
      try {
        await p.close();
        this.logger.debug({ part: p.name }, 'part closed');
      } catch (err) {
        this.logger.error({ err, part: p.name }, 'closing a part failed');
      }
    }
  }
}

/**
 * The whole service in one process tree, and its one composition root. `conclave serve` runs
 * it. The parts, each with its own open and close, in the order they open:
 *
 * 1. storage (storage.ts): the database, migrated; the meeting store, the admission records and
 *    the MLS external-sender key;
 * 2. the SFU (sfu/): its worker processes (skipped with `media: false`);
 * 3. reports (reports/service.ts): Report a User — the chat-seal key, and the sweep that
 *    deletes report evidence past its retention;
 * 4. HTTP (http/app.ts): the Fastify app and its plugins, not listening yet;
 * 5. signaling (signaling.ts): the meeting hub (HTTP signaling, the MLS delivery service) and the
 *    WebSocket endpoint on the HTTP server;
 * 6. the moderation sweep (moderation/live-enforcement.ts): running meetings follow the
 *    moderators' decisions, also those of `conclave admin reports act`;
 *
 * and then the HTTP server listens. They close the other way round — the sweep, signaling, HTTP,
 * reports, SFU, storage — by `close()`, and also when start-up fails half-way (a port in use, a database that
 * does not migrate): whatever was opened is closed before the error is thrown.
 */
export function startConclave(config: ServerConfig, opts?: ConclaveStartOptions): Promise<ConclaveServer>;
/**
 * Tests: `media: false` runs without the SFU — no media worker processes, no `media` in
 * /healthz, media requests answered with `media_error`. Starting the SFU costs about a second
 * (a worker process loading werift); the rest of the service starts in tens of milliseconds.
 */
export function startConclave(
  config: ServerConfig,
  opts: ConclaveStartOptions & { media: false },
): Promise<ConclaveServer<undefined>>;
export async function startConclave(
  config: ServerConfig,
  opts: ConclaveStartOptions & { media?: false } = {},
): Promise<ConclaveServer<Sfu | undefined>> {
  const logger = opts.logger ?? createLogger({ level: config.logLevel });
  const parts = new OpenParts(logger);
  try {
    const storage = await parts.add(
      'storage',
      () =>
        openStorage({
          dataDir: config.dataDir,
          meetingStore: {
            ...opts.meetingStore,
            passcodeLimit: {
              failuresPerNetwork: config.passcodeFailuresPerNetwork,
              failuresPerMeeting: config.passcodeFailuresPerMeeting,
              ...opts.meetingStore?.passcodeLimit,
            },
          },
          resumeGraceMs: config.resumeSeconds * 1000,
          logger,
        }),
      (s) => s.close(),
    );
    const sfu =
      opts.media === false
        ? undefined
        : await parts.add(
            'SFU',
            () => Sfu.start(sfuOptions(config, opts, logger)),
            (s) => s.close(),
          );
    // The hub comes later (signaling); a report until then finds no live participants.
    const live: { hub?: MeetingHub } = {};
    const reports = await parts.add(
      'reports',
      async () => {
        const r = await ReportService.open({
          db: storage.db,
          settings: config,
          logger: logger.child({ component: 'reports' }),
          liveParticipants: () => live.hub?.participants() ?? [],
        });
        r.startSweeping();
        return r;
      },
      async (r) => r.close(),
    );
    const enforcement = new LiveEnforcement(storage.db, logger.child({ component: 'moderation' }));
    const app = await parts.add(
      'HTTP',
      () =>
        buildHttpApp({
          config,
          store: storage.meetings,
          logger,
          webRoot: opts.webRoot,
          createMeetingLimit: opts.createMeetingLimit,
          mediaStatus: sfu && (() => sfu.mediaStatus()),
          accounts: { db: storage.db },
          enforcement,
          reports,
        }),
      async (a) => {
        await a.close();
      },
    );
    const signaling = await parts.add(
      'signaling',
      () =>
        openSignaling({
          server: app.server,
          hub: {
            store: storage.meetings,
            admission: storage.admission,
            externalSender: storage.externalSender,
            limits: hubLimits(config),
            logger: logger.child({ component: 'hub' }),
            sfu,
            timings: { rekeyMs: config.rekeySeconds * 1000, commitTimeoutMs: opts.commitTimeoutMs },
            serverBans: new BannedKeys(storage.db),
            chatSeal: reports.sealer,
          },
          meetings: storage.meetings,
          accounts: app.accounts,
          trustProxy: config.trustProxy,
          publicUrl: config.publicUrl,
          logger,
        }),
      (s) => s.close(),
    );
    live.hub = signaling.hub;
    await parts.add(
      'moderation sweep',
      () => {
        enforcement.attach(signaling.hub);
        enforcement.start(opts.moderationSweepMs);
      },
      async () => enforcement.stop(),
    );

    await app.listen({ port: config.port, host: config.host });
    const port = (app.server.address() as AddressInfo).port;
    const url = `${ownScheme(config)}://${urlHost(config.host)}:${port}`;
    let closing: Promise<void> | undefined;
    return {
      url,
      port,
      publicUrl: config.publicUrl ?? url,
      storage,
      sfu,
      hub: signaling.hub,
      close: () => (closing ??= parts.closeAll()),
    };
  } catch (err) {
    await parts.closeAll();
    throw err;
  }
}
