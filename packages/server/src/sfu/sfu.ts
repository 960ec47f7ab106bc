import type { LogSink } from '../logger.js';
import { EventEmitter } from 'node:events';
import type { IceCandidate, MediaViewFields, StreamInfo } from '@conclave/protocol';
import type { ArgsOf, MediaStatus, Op, PcKind, ResultOf, TapRecord, WorkerConfig } from './ipc.js';
import { PortPool, assertPortRangeFits, type MediaPoolStatus, type PortPoolSnapshot } from './port-pool.js';
import { WorkerHandle, type WorkerEvent } from './worker-handle.js';

export interface SfuOptions {
  /** Worker processes (one per core is the intent). */
  workers: number;
  /** The address put in our ICE candidates (the public one behind a 1:1 NAT). */
  announcedAddress: string;
  /**
   * UDP ports for ICE, shared out between the workers; each participant takes 2 of its
   * meeting's worker (MEDIA_PORTS_PER_PARTICIPANT), so a worker's slice must have at least 2.
   */
  portRange: [number, number];
  /** Tests: bind and advertise 127.0.0.1 only. */
  loopbackOnly?: boolean;
  /** Tests: emit a 'tap' event with every forwarded RTP payload. */
  tap?: boolean;
  logger?: LogSink;
}

export interface SfuWorkerStats {
  worker: number;
  pid: number;
  cpuUserMicros: number;
  cpuSystemMicros: number;
  rssBytes: number;
  packetsIn: number;
  packetsForwarded: number;
  /** Subscribe offers made (each a renegotiation of one subscriber's connection). */
  subscribeOffers: number;
  /** m-lines of the worker's subscribe connections now. */
  subscribeMLines: number;
  meetings: number;
}

export interface SfuEvents {
  /** A new offer for the participant's subscribe connection; `streams` names its sending m-lines. */
  subscribeOffer: [meetingId: string, participantId: string, sdp: string, streams: StreamInfo[]];
  /** A trickled SFU candidate (rare: candidates gathered before an SDP left are inside it). */
  ice: [meetingId: string, participantId: string, pc: PcKind, candidate: IceCandidate];
  tap: [record: TapRecord];
  /** What the SFU forwards to the participant and why (the hub sends it as `media_status`). */
  mediaStatus: [meetingId: string, participantId: string, status: MediaStatus];
  /**
   * One of the participant's peer connections failed for good (ICE or DTLS gave up): its media
   * session is dead and must be made anew (`leave`, then `join`). Once per session.
   */
  connectionFailed: [meetingId: string, participantId: string, pc: PcKind, state: string];
  /**
   * A worker died; these meetings lost their media state: their participants must join again
   * (on a live worker: `join` waits for a replacement when no worker is running).
   */
  workerExit: [meetingIds: string[]];
}

/**
 * The ops the facade routes to the meeting's worker as they are. The others keep its books:
 * `join`, `leave` and `closeMeeting` (worker choice, media ports), `stats` (every worker),
 * `init` and `shutdown` (a worker's life).
 */
export type RoutedOp = Exclude<Op, 'init' | 'shutdown' | 'stats' | 'join' | 'leave' | 'closeMeeting'>;

interface MeetingSlot {
  worker: WorkerHandle;
  participants: Set<string>;
}

const silentLogger: LogSink = {
  info: () => undefined,
  debug: () => undefined,
  warn: (o, m) => console.warn(m ?? '', o),
  error: (o, m) => console.error(m ?? '', o),
};

/** Delay before a crashed worker is replaced; doubles while replacements keep dying young. */
const RESTART_DELAY_MIN_MS = 100;
const RESTART_DELAY_MAX_MS = 10_000;
/** A worker that lived this long resets the restart backoff. */
const STABLE_UPTIME_MS = 10_000;
/** How long a join waits for a replacement while no worker is running. */
const REPLACEMENT_WAIT_MS = RESTART_DELAY_MAX_MS + 5_000;

/**
 * The SFU as the signaling side sees it: a facade over worker processes that run werift, so
 * packet forwarding never competes with the signaling event loop. Every meeting lives on one
 * worker (the least loaded with room when it starts). A crashed worker is logged, reported
 * with the meetings it took along ('workerExit'), and replaced; the signaling hub joins their
 * participants again (meeting/room.ts, `mediaLost`).
 *
 * Operations are those of the IPC table (ipc.ts, `ops`): `call` passes a RoutedOp to the
 * meeting's worker; `join`, `leave`, `closeMeeting` and `stats` keep the facade's books too.
 *
 * Media ports: every participant reserves MEDIA_PORTS_PER_PARTICIPANT ports of its meeting's
 * worker slice at `join` (port-pool.ts); a join that does not fit throws MediaCapacityError
 * (`code: 'media_capacity'`) and reserves nothing.
 */
export class Sfu extends EventEmitter<SfuEvents> {
  private readonly workers: WorkerHandle[] = [];
  private readonly meetings = new Map<string, MeetingSlot>();
  private readonly restartDelay: number[];
  private readonly pool: PortPool;
  private readonly logger: LogSink;
  /** Joins waiting for a worker to be spawned (while none is running). */
  private readonly spawnWaiters = new Set<{ resolve: () => void; reject: (err: Error) => void }>();
  private closing = false;

  private constructor(private readonly opts: SfuOptions) {
    super();
    if (!Number.isInteger(opts.workers) || opts.workers < 1)
      throw new RangeError('workers must be a positive integer');
    const [lo, hi] = opts.portRange;
    if (!(lo >= 1 && hi <= 65535 && lo < hi))
      throw new RangeError('portRange must be [min, max] with min < max');
    assertPortRangeFits(opts.portRange, opts.workers);
    this.pool = PortPool.forRange(opts.portRange, opts.workers);
    this.logger = opts.logger ?? silentLogger;
    this.restartDelay = Array.from({ length: opts.workers }, () => RESTART_DELAY_MIN_MS);
  }

  static async start(opts: SfuOptions): Promise<Sfu> {
    const sfu = new Sfu(opts);
    try {
      await Promise.all(Array.from({ length: opts.workers }, (_, slot) => sfu.spawn(slot).ready));
    } catch (err) {
      await sfu.close();
      throw err;
    }
    return sfu;
  }

  /**
   * Adds the participant to the meeting's worker (the meeting starts on the least-loaded worker
   * with room). Throws MediaCapacityError, with nothing reserved, when that worker has fewer than
   * MEDIA_PORTS_PER_PARTICIPANT free ports (for a new meeting: when no worker has them).
   * While every worker is dead (a crash, its replacement not spawned yet) a new meeting waits
   * for the replacement.
   */
  /** `view`: the participant's `media_view`, when known at join (applied before the first offer). */
  async join(meetingId: string, participantId: string, view?: MediaViewFields): Promise<void> {
    if (!this.meetings.has(meetingId) && this.workers.every((w) => w.exited)) await this.spawned();
    const existing = this.meetings.get(meetingId);
    const slot = existing ?? { worker: this.pickWorker(), participants: new Set<string>() };
    if (slot.participants.has(participantId))
      throw new Error(`participant ${participantId} already joined meeting ${meetingId}`);
    // Reserved and counted before the round trip, so concurrent joins spread over the workers
    // and never share ports. Throws before anything is registered.
    this.pool.reserve(slot.worker.config.worker, meetingId, participantId);
    if (!existing) this.meetings.set(meetingId, slot);
    slot.participants.add(participantId);
    try {
      await slot.worker.ready;
      await slot.worker.call('join', { meetingId, participantId, ...(view ? { view } : {}) });
    } catch (err) {
      // Unless leave, closeMeeting or the worker's exit took it out meanwhile (and released it).
      if (this.meetings.get(meetingId) === slot && slot.participants.delete(participantId)) {
        this.pool.release(meetingId, participantId);
        if (slot.participants.size === 0) this.meetings.delete(meetingId);
      }
      throw err;
    }
  }

  /** An op on a participant's media session, sent to its meeting's worker (ipc.ts, `ops`). */
  async call<O extends RoutedOp>(op: O, args: ArgsOf<O>): Promise<ResultOf<O>> {
    const slot = this.meetings.get(args.meetingId);
    if (!slot) throw new Error(`meeting ${args.meetingId} is not on the SFU`);
    await slot.worker.ready;
    return slot.worker.call(op, args);
  }

  async leave(meetingId: string, participantId: string): Promise<void> {
    const slot = this.meetings.get(meetingId);
    if (!slot || !slot.participants.has(participantId)) return;
    slot.participants.delete(participantId);
    if (slot.participants.size === 0) this.meetings.delete(meetingId);
    // Its ports count until the worker has closed its connections (or failed to answer).
    const released = this.pool.retire(meetingId, participantId);
    try {
      await this.request(slot.worker, 'leave', { meetingId, participantId });
    } finally {
      released();
    }
  }

  async closeMeeting(meetingId: string): Promise<void> {
    const slot = this.meetings.get(meetingId);
    if (!slot) return;
    this.meetings.delete(meetingId);
    const released = this.pool.retireMeeting(meetingId);
    try {
      await this.request(slot.worker, 'closeMeeting', { meetingId });
    } finally {
      released();
    }
  }

  /** Media ports over all workers: in the slices, reserved by participants, free. */
  portPool(): PortPoolSnapshot {
    return this.pool.snapshot();
  }

  /** The pool as /healthz shows it. */
  mediaStatus(): MediaPoolStatus {
    return this.pool.status();
  }

  /** One entry per running worker; cumulative counters (take deltas for rates). */
  async stats(): Promise<SfuWorkerStats[]> {
    const results = await Promise.allSettled(
      this.workers.map(async (w) => {
        const s = await this.request(w, 'stats', {});
        return {
          worker: w.config.worker,
          pid: s.pid,
          cpuUserMicros: s.cpuUserMicros,
          cpuSystemMicros: s.cpuSystemMicros,
          rssBytes: s.rssBytes,
          packetsIn: s.packetsIn,
          packetsForwarded: s.packetsForwarded,
          subscribeOffers: s.subscribeOffers,
          subscribeMLines: s.subscribeMLines,
          meetings: s.meetings,
        };
      }),
    );
    return results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  }

  /** The worker slot and process id hosting a meeting (for operators and tests). */
  workerOf(meetingId: string): { worker: number; pid: number } | undefined {
    const slot = this.meetings.get(meetingId);
    return slot ? { worker: slot.worker.config.worker, pid: slot.worker.pid } : undefined;
  }

  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    this.meetings.clear();
    this.pool.clear();
    for (const waiter of this.spawnWaiters) waiter.reject(new Error('the SFU is closing'));
    this.spawnWaiters.clear();
    await Promise.all(
      this.workers.map(async (w) => {
        await w.call('shutdown', {}, 3_000).catch(() => undefined);
        if (!(await w.waitExit(2_000))) {
          w.kill('SIGKILL');
          await w.waitExit(2_000);
        }
      }),
    );
  }

  private spawn(slot: number): WorkerHandle {
    const config: WorkerConfig = {
      worker: slot,
      workers: this.opts.workers,
      announcedAddress: this.opts.announcedAddress,
      portRange: this.opts.portRange,
      loopbackOnly: this.opts.loopbackOnly ?? false,
      tap: this.opts.tap ?? false,
    };
    const w = new WorkerHandle(config);
    this.workers[slot] = w;
    w.on('event', (msg) => this.onWorkerEvent(w, msg));
    w.on('invalid', (issue) =>
      this.logger.warn({ worker: slot, pid: w.pid, issue }, 'SFU worker sent an invalid message'),
    );
    w.on('exit', (code, signal) => this.onWorkerExit(w, code, signal));
    for (const waiter of this.spawnWaiters) waiter.resolve();
    this.spawnWaiters.clear();
    return w;
  }

  /** Resolves when the next worker is spawned (a replacement), or fails after REPLACEMENT_WAIT_MS. */
  private spawned(): Promise<void> {
    return new Promise((resolve, reject) => {
      const waiter = {
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
        reject: (err: Error) => {
          clearTimeout(timer);
          reject(err);
        },
      };
      const timer = setTimeout(() => {
        this.spawnWaiters.delete(waiter);
        reject(new Error('no SFU worker is running'));
      }, REPLACEMENT_WAIT_MS);
      timer.unref();
      this.spawnWaiters.add(waiter);
    });
  }

  private onWorkerExit(w: WorkerHandle, code: number | null, signal: NodeJS.Signals | null): void {
    const slot = w.config.worker;
    if (this.workers[slot] !== w || this.closing) return;
    const lost: string[] = [];
    for (const [meetingId, m] of this.meetings) {
      if (m.worker !== w) continue;
      lost.push(meetingId);
      this.meetings.delete(meetingId);
    }
    // Its sockets died with it; the replacement starts on an empty slice.
    this.pool.releaseWorker(slot);
    const uptime = Date.now() - w.startedAt;
    this.logger.error(
      { worker: slot, pid: w.pid, code, signal, uptimeMs: uptime, meetings: lost },
      'SFU worker exited; replacing it',
    );
    const delay =
      uptime >= STABLE_UPTIME_MS ? RESTART_DELAY_MIN_MS : (this.restartDelay[slot] ?? RESTART_DELAY_MIN_MS);
    this.restartDelay[slot] = Math.min(delay * 2, RESTART_DELAY_MAX_MS);
    setTimeout(() => {
      if (this.closing || this.workers[slot] !== w) return;
      const next = this.spawn(slot);
      next.ready.then(
        () => this.logger.info({ worker: slot, pid: next.pid }, 'SFU worker replaced'),
        () => undefined, // its exit handler schedules the next attempt
      );
    }, delay).unref();
    this.emit('workerExit', lost);
  }

  private onWorkerEvent(w: WorkerHandle, msg: WorkerEvent): void {
    switch (msg.type) {
      case 'subscribeOffer':
        this.emit('subscribeOffer', msg.meetingId, msg.participantId, msg.sdp, msg.streams);
        break;
      case 'ice':
        this.emit('ice', msg.meetingId, msg.participantId, msg.pc, msg.candidate);
        break;
      case 'tap':
        this.emit('tap', msg.record);
        break;
      case 'mediaStatus':
        this.emit('mediaStatus', msg.meetingId, msg.participantId, msg.status);
        break;
      case 'connectionFailed': {
        // Only for a session this worker still holds (not one already left or moved).
        const slot = this.meetings.get(msg.meetingId);
        if (slot?.worker === w && slot.participants.has(msg.participantId))
          this.emit('connectionFailed', msg.meetingId, msg.participantId, msg.pc, msg.state);
        break;
      }
      case 'log':
        this.logger[msg.level]({ ...msg.obj, worker: w.config.worker, pid: w.pid }, msg.msg);
        break;
    }
  }

  /**
   * Least loaded live worker with room for a participant: fewest participants, then fewest
   * meetings. MediaCapacityError when every live worker is full.
   */
  private pickWorker(): WorkerHandle {
    let best: WorkerHandle | undefined;
    let bestScore = Infinity;
    const load = new Map<WorkerHandle, number>();
    for (const m of this.meetings.values())
      load.set(m.worker, (load.get(m.worker) ?? 0) + m.participants.size * 1000 + 1);
    let live = false;
    for (const w of this.workers) {
      if (w.exited) continue;
      live = true;
      if (!this.pool.hasRoom(w.config.worker)) continue;
      const score = load.get(w) ?? 0;
      if (score < bestScore) {
        best = w;
        bestScore = score;
      }
    }
    if (!live) throw new Error('no SFU worker is running');
    if (!best) throw this.pool.capacityError();
    return best;
  }

  private async request<O extends Op>(w: WorkerHandle, op: O, args: ArgsOf<O>): Promise<ResultOf<O>> {
    await w.ready;
    return w.call(op, args);
  }
}
