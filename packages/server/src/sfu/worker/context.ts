import type { LogSink } from '../../logger.js';
import type { WorkerConfig, WorkerMessage } from '../ipc.js';
import type { Mutex } from './mutex.js';
import type { PublishPorts } from './publish-ports.js';

/** The server's one logger type, as far as a worker uses it (its lines travel to the parent's logger). */
export type WorkerLog = Pick<LogSink, 'info' | 'warn' | 'error'>;

/** What every meeting of a worker shares. */
export interface WorkerContext {
  readonly config: WorkerConfig;
  /** This worker's slice of the port range. */
  readonly portRange: [number, number];
  /** The address of every candidate we advertise. */
  readonly address: string;
  /** Cumulative: packets received and forwarded, subscribe offers made (every (re)negotiation). */
  readonly counters: { packetsIn: number; packetsForwarded: number; subscribeOffers: number };
  /** Serialises ICE gathering: werift probes a port and binds it later, so concurrent gatherings could pick the same one. */
  readonly gatherLock: Mutex;
  /** Where each publish connection's port search starts (publish-ports.ts). */
  readonly publishPorts: PublishPorts;
  send(msg: WorkerMessage): void;
  readonly log: WorkerLog;
}

/** Minimum interval between two key-frame requests relayed to one publisher stream (layer). */
export const KEY_FRAME_REQUEST_INTERVAL_MS = 500;
/** Period of the simulcast measurement and layer choice. */
export const LAYER_TICK_MS = 500;
/** Period of the forwarding policy: speaker ranking, last-N, layers per subscriber (view-policy.ts). */
export const POLICY_TICK_MS = 200;

export const noop = (): void => undefined;
