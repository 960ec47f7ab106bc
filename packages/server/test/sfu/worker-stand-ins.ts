/** Stand-ins for the worker's surroundings in tests without a network (forwarding, m-line binding). */
import { Event, type RTCRtpTransceiver } from 'werift';
import type { WorkerMessage } from '../../src/sfu/ipc.js';
import type { WorkerContext } from '../../src/sfu/worker/context.js';
import { Mutex } from '../../src/sfu/worker/mutex.js';
import { PublishPorts } from '../../src/sfu/worker/publish-ports.js';

/** A worker context on loopback with its own port range; `send` gets what would go to the parent. */
export function context(
  portRange: [number, number] = [40000, 40100],
  send: (msg: WorkerMessage) => void = () => undefined,
): WorkerContext {
  const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };
  return {
    config: {
      worker: 0,
      workers: 1,
      announcedAddress: '127.0.0.1',
      portRange,
      loopbackOnly: true,
      tap: false,
    },
    portRange,
    address: '127.0.0.1',
    counters: { packetsIn: 0, packetsForwarded: 0, subscribeOffers: 0 },
    publishPorts: new PublishPorts([portRange[0], Math.floor((portRange[0] + portRange[1]) / 2)]),
    gatherLock: new Mutex(),
    send,
    log: quiet,
  };
}

/** The publish side: only what PublishedStream touches (onTrack, receiver tracks and PLI). */
export function publishTransceiver(plis: number[] = []): RTCRtpTransceiver {
  const fake = {
    onTrack: new Event(),
    headerExtensions: [],
    receiver: { tracks: [], sendRtcpPLI: async (ssrc: number) => void plis.push(ssrc) },
  };
  // A structural stand-in for the fields PublishedStream uses.
  return fake as unknown as RTCRtpTransceiver;
}
