/**
 * Entry point of an SFU worker process (forked by Sfu.start with tsx as loader). It owns
 * meetings and their werift peer connections, and speaks the typed IPC of ../ipc.ts.
 */
import {
  requestSchema,
  type WorkerConfig,
  type WorkerMessage,
  type WorkerRequest,
  type WorkerStats,
} from '../ipc.js';
import { LAYER_TICK_MS, type WorkerContext, type WorkerLog } from './context.js';
import { Meeting } from './meeting.js';
import { Mutex } from './mutex.js';
import { advertisedAddress, workerPortRange } from './pc-config.js';

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
  info: (obj, msg) => send({ type: 'log', level: 'info', obj, ...(msg === undefined ? {} : { msg }) }),
  warn: (obj, msg) => send({ type: 'log', level: 'warn', obj, ...(msg === undefined ? {} : { msg }) }),
  error: (obj, msg) => send({ type: 'log', level: 'error', obj, ...(msg === undefined ? {} : { msg }) }),
};

const meetings = new Map<string, Meeting>();
const counters = { packetsIn: 0, packetsForwarded: 0 };
let ctx: WorkerContext | undefined;

function init(config: WorkerConfig): void {
  if (ctx) throw new Error('worker already initialised');
  ctx = {
    config,
    portRange: workerPortRange(config),
    address: advertisedAddress(config),
    counters,
    gatherLock: new Mutex(),
    send,
    log,
  };
  let last = performance.now();
  setInterval(() => {
    const now = performance.now();
    for (const m of meetings.values()) m.tick(now - last);
    last = now;
  }, LAYER_TICK_MS).unref();
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
  for (const m of meetings.values()) participants += m.participants.size;
  return {
    pid: process.pid,
    cpuUserMicros: cpu.user,
    cpuSystemMicros: cpu.system,
    rssBytes: process.memoryUsage.rss(),
    packetsIn: counters.packetsIn,
    packetsForwarded: counters.packetsForwarded,
    meetings: meetings.size,
    participants,
  };
}

async function handle(req: WorkerRequest): Promise<unknown> {
  switch (req.op) {
    case 'init':
      init(req.config);
      return null;
    case 'join': {
      let m = meetings.get(req.meetingId);
      if (!m) {
        m = new Meeting(req.meetingId, context());
        meetings.set(req.meetingId, m);
      }
      m.join(req.participantId);
      return null;
    }
    case 'publishOffer':
      return meeting(req.meetingId).publishOffer(req.participantId, req.sdp);
    case 'subscribeAnswer':
      await meeting(req.meetingId).subscribeAnswer(req.participantId, req.sdp);
      return null;
    case 'addIce':
      await meeting(req.meetingId).addIce(req.participantId, req.pc, req.candidate);
      return null;
    case 'setReceiving':
      meeting(req.meetingId).setReceiving(req.participantId, req.allowed);
      return null;
    case 'setMuted':
      meeting(req.meetingId).setMuted(req.participantId, req.kind, req.muted);
      return null;
    case 'setPreferredLayer':
      meeting(req.meetingId).setPreferredLayer(req.participantId, req.publisherId, req.rid);
      return null;
    case 'leave': {
      const m = meetings.get(req.meetingId);
      if (!m) return null;
      await m.leave(req.participantId);
      // An empty meeting is gone; the facade forgets its worker assignment too.
      if (m.empty) meetings.delete(req.meetingId);
      return null;
    }
    case 'closeMeeting': {
      const m = meetings.get(req.meetingId);
      meetings.delete(req.meetingId);
      await m?.close();
      return null;
    }
    case 'stats':
      return stats();
    case 'shutdown': {
      const all = [...meetings.values()];
      meetings.clear();
      await Promise.allSettled(all.map((m) => m.close()));
      return null;
    }
  }
}

process.on('message', (raw: unknown) => {
  const parsed = requestSchema.safeParse(raw);
  if (!parsed.success) {
    const id =
      typeof raw === 'object' && raw !== null && 'id' in raw && typeof raw.id === 'number' ? raw.id : -1;
    send({
      type: 'result',
      id,
      ok: false,
      value: null,
      error: `bad request: ${parsed.error.issues[0]?.message ?? 'invalid'}`,
    });
    return;
  }
  const req = parsed.data;
  handle(req).then(
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
