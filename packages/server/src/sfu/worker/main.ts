/**
 * Entry point of an SFU worker process (forked by Sfu.start with tsx as loader). It owns
 * meetings and their werift peer connections, and speaks the typed IPC of ../ipc.ts.
 */
import nodeDataChannel from 'node-datachannel';
import {
  parseRequest,
  type ArgsOf,
  type Op,
  type OpHandlers,
  type ResultOf,
  type WorkerConfig,
  type WorkerMessage,
  type WorkerStats,
} from '../ipc.js';
import { LAYER_TICK_MS, POLICY_TICK_MS, type WorkerContext, type WorkerLog } from './context.js';
import { Meeting } from './meeting.js';
import { Mutex } from './mutex.js';
import { advertisedAddress, publishPortRange, workerPortRange } from './pc-config.js';
import { PublishPorts } from './publish-ports.js';

function send(msg: WorkerMessage): void {
  // The channel may be gone while the parent shuts down; nothing useful to do then.
  if (!process.connected || !process.send) return;
  try {
    process.send(msg);
  } catch {
    /* channel closed */
  }
}

const log: WorkerLog = {
  info: (obj, msg) =>
    send({ type: 'log', level: 'info', obj: { ...obj }, ...(msg === undefined ? {} : { msg }) }),
  warn: (obj, msg) =>
    send({ type: 'log', level: 'warn', obj: { ...obj }, ...(msg === undefined ? {} : { msg }) }),
  error: (obj, msg) =>
    send({ type: 'log', level: 'error', obj: { ...obj }, ...(msg === undefined ? {} : { msg }) }),
};

const meetings = new Map<string, Meeting>();
const counters = { packetsIn: 0, packetsForwarded: 0, subscribeOffers: 0 };
let ctx: WorkerContext | undefined;

/** libdatachannel's (and libjuice's) own warnings, at most this many a minute. */
const NATIVE_LOG_PER_MINUTE = 30;

/**
 * libdatachannel's warnings and errors go to our log: they say why a connection failed ("Lost
 * connectivity", a DTLS verification failure), which its state callbacks do not.
 */
function forwardNativeLog(): void {
  let windowStart = Date.now();
  let count = 0;
  nodeDataChannel.initLogger('Warning', (level, message) => {
    const now = Date.now();
    if (now - windowStart > 60_000) [windowStart, count] = [now, 0];
    if (++count > NATIVE_LOG_PER_MINUTE) return;
    (level === 'Warning' ? log.warn : log.error)({ libdatachannel: level }, message);
  });
}

function init(config: WorkerConfig): void {
  if (ctx) throw new Error('worker already initialised');
  forwardNativeLog();
  ctx = {
    config,
    portRange: workerPortRange(config),
    address: advertisedAddress(config),
    counters,
    gatherLock: new Mutex(),
    publishPorts: new PublishPorts(publishPortRange(workerPortRange(config))),
    send,
    log,
  };
  let last = performance.now();
  setInterval(() => {
    const now = performance.now();
    for (const m of meetings.values()) m.tick(now - last);
    last = now;
  }, LAYER_TICK_MS).unref();
  let lastPolicy = performance.now();
  setInterval(() => {
    const now = performance.now();
    for (const m of meetings.values()) m.policyTick(now - lastPolicy, now);
    lastPolicy = now;
  }, POLICY_TICK_MS).unref();
}

function context(): WorkerContext {
  if (!ctx) throw new Error('worker not initialised');
  return ctx;
}

function meeting(id: string): Meeting {
  const m = meetings.get(id);
  if (!m) throw new Error(`meeting ${id} is not on this worker`);
  return m;
}

function stats(): WorkerStats {
  const cpu = process.cpuUsage();
  let participants = 0;
  let subscribeMLines = 0;
  for (const m of meetings.values()) {
    participants += m.participants.size;
    for (const p of m.participants.values()) subscribeMLines += p.mLines;
  }
  return {
    pid: process.pid,
    cpuUserMicros: cpu.user,
    cpuSystemMicros: cpu.system,
    rssBytes: process.memoryUsage.rss(),
    packetsIn: counters.packetsIn,
    packetsForwarded: counters.packetsForwarded,
    subscribeOffers: counters.subscribeOffers,
    subscribeMLines,
    meetings: meetings.size,
    participants,
  };
}

/** One handler per op of the IPC table (../ipc.ts, `ops`): the compiler refuses a missing or extra one. */
const handlers: OpHandlers = {
  init: ({ config }) => {
    init(config);
    return null;
  },
  join: ({ meetingId, participantId, view }) => {
    let m = meetings.get(meetingId);
    if (!m) {
      m = new Meeting(meetingId, context());
      meetings.set(meetingId, m);
    }
    m.join(participantId, view);
    return null;
  },
  publishOffer: ({ meetingId, participantId, sdp }) => meeting(meetingId).publishOffer(participantId, sdp),
  subscribeAnswer: async ({ meetingId, participantId, sdp }) => {
    await meeting(meetingId).subscribeAnswer(participantId, sdp);
    return null;
  },
  addIce: async ({ meetingId, participantId, pc, candidate }) => {
    await meeting(meetingId).addIce(participantId, pc, candidate);
    return null;
  },
  setReceiving: ({ meetingId, participantId, allowed }) => {
    meeting(meetingId).setReceiving(participantId, allowed);
    return null;
  },
  setMuted: ({ meetingId, participantId, kind, muted }) => {
    meeting(meetingId).setMuted(participantId, kind, muted);
    return null;
  },
  setPreferredLayer: ({ meetingId, participantId, publisherId, rid }) => {
    meeting(meetingId).setPreferredLayer(participantId, publisherId, rid);
    return null;
  },
  setView: ({ meetingId, participantId, lastN, pinned, tiles, defaultHeight }) => {
    meeting(meetingId).setView(participantId, { lastN, pinned, tiles, defaultHeight });
    return null;
  },
  leave: async ({ meetingId, participantId }) => {
    const m = meetings.get(meetingId);
    if (!m) return null;
    await m.leave(participantId);
    // An empty meeting is gone; the facade forgets its worker assignment too.
    if (m.empty) meetings.delete(meetingId);
    return null;
  },
  closeMeeting: async ({ meetingId }) => {
    const m = meetings.get(meetingId);
    meetings.delete(meetingId);
    await m?.close();
    return null;
  },
  stats: () => stats(),
  shutdown: async () => {
    const all = [...meetings.values()];
    meetings.clear();
    await Promise.allSettled(all.map((m) => m.close()));
    return null;
  },
};

/** Runs the op's handler; a throw becomes a rejection (answered with ok: false). */
async function run<O extends Op>(op: O, args: ArgsOf<O>): Promise<ResultOf<O>> {
  return handlers[op](args);
}

process.on('message', (raw: unknown) => {
  const parsed = parseRequest(raw);
  if (!parsed.ok) {
    send({ type: 'result', id: parsed.id, ok: false, value: null, error: `bad request: ${parsed.error}` });
    return;
  }
  const req = parsed.request;
  run(req.op, req.args).then(
    (value) => {
      send({ type: 'result', id: req.id, ok: true, value });
      // Exit once the reply is on its way: the parent waits for our exit.
      if (req.op === 'shutdown') setImmediate(() => process.exit(0));
    },
    (err: unknown) =>
      send({
        type: 'result',
        id: req.id,
        ok: false,
        value: null,
        error: err instanceof Error ? err.message : String(err),
      }),
  );
});

// The parent is gone: nobody can reach our meetings any more.
process.on('disconnect', () => process.exit(0));
// werift raises from timers and socket callbacks now and then; one bad connection must not take
// down every meeting of this worker.
process.on('uncaughtException', (err) =>
  log.error({ err: err.stack ?? String(err) }, 'uncaught exception in SFU worker'),
);
process.on('unhandledRejection', (err) =>
  log.error(
    { err: err instanceof Error ? (err.stack ?? err.message) : String(err) },
    'unhandled rejection in SFU worker',
  ),
);

send({ type: 'ready' });
