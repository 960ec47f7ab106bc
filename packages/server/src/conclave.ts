import { MeetingHub } from './meeting/hub.js';
import { DbAdmissionStore } from './meeting-store/admission-records.js';
import type { ServerConfig } from './config.js';
import { createLogger } from './logger.js';
import { startServer, type RunningServer, type StartServerOptions } from './server.js';
import { Sfu } from './sfu/index.js';

export interface ConclaveStartOptions extends Omit<StartServerOptions, 'createHub'> {
  /** Tests: the SFU binds and announces 127.0.0.1 only. */
  loopbackOnly?: boolean;
  /** Tests: the SFU emits every forwarded RTP payload as a 'tap' event. */
  tap?: boolean;
  /** A chosen committer that does not commit within this time is passed over (default 1.5 s). */
  commitTimeoutMs?: number;
}

export interface ConclaveServer extends RunningServer {
  sfu: Sfu;
  hub: MeetingHub;
}

/**
 * The whole service in one process tree: HTTP API and signaling (this process), the MLS
 * delivery service (in the hub) and the werift SFU (worker processes). `conclave serve` runs it.
 */
export async function startConclave(
  config: ServerConfig,
  opts: ConclaveStartOptions = {},
): Promise<ConclaveServer> {
  const logger = opts.logger ?? createLogger({ level: config.logLevel });
  const sfu = await Sfu.start({
    workers: config.sfuWorkers,
    announcedAddress: config.mediaAddress,
    portRange: [config.mediaPorts.min, config.mediaPorts.max],
    loopbackOnly: opts.loopbackOnly,
    tap: opts.tap,
    logger: logger.child({ component: 'sfu' }),
  });
  let hub: MeetingHub | undefined;
  let running: RunningServer;
  try {
    running = await startServer(config, {
      ...opts,
      logger,
      mediaStatus: () => sfu.mediaStatus(),
      createHub: async (deps) => {
        // Changes made over HTTP (PATCH, end) reach the live meeting.
        deps.store.onChange((change) => {
          if (change.type === 'ended') void hub?.endMeeting(change.meeting.id);
          else hub?.meetingUpdated(change.meeting);
        });
        const admission = new DbAdmissionStore(deps.db);
        await admission.afterRestart(config.resumeSeconds * 1000);
        hub = new MeetingHub({
          store: deps.store,
          admission,
          limits: {
            maxSocketsPerAddress: config.maxSocketsPerAddress,
            maxSocketsPerNetwork: config.maxSocketsPerNetwork,
            joinsPerMinutePerAddress: config.joinsPerMinutePerAddress,
            joinsPerMinutePerNetwork: config.joinsPerMinutePerNetwork,
            maxWaiting: config.maxWaiting,
            maxWaitingPerNetwork: config.maxWaitingPerNetwork,
            maxSendBufferBytes: config.maxSendBufferBytes,
            resumeMs: config.resumeSeconds * 1000,
          },
          externalSender: deps.externalSender,
          logger: deps.logger.child({ component: 'hub' }),
          sfu,
          timings: { rekeyMs: config.rekeySeconds * 1000, commitTimeoutMs: opts.commitTimeoutMs },
        });
        return hub;
      },
    });
  } catch (e) {
    await sfu.close();
    throw e;
  }
  sfu.on('workerExit', (meetingIds) =>
    logger.error({ meetingIds }, 'an SFU worker died; its meetings lost media'),
  );
  let closing: Promise<void> | undefined;
  return {
    ...running,
    sfu,
    hub: hub!,
    close() {
      closing ??= running.close().finally(() => sfu.close());
      return closing;
    },
  };
}
