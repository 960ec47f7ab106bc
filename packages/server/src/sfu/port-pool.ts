/**
 * Media-port accounting of the SFU, kept by the facade (parent process). No werift here: the
 * worker processes bind the ports, this module only decides who may have them.
 *
 * Each worker gets a disjoint slice of the UDP port range (`workerPortSlice`). A participant
 * has two peer connections (publish and subscribe), bundled, and each binds one UDP port of
 * its worker's slice when it gathers ICE (see worker/pc-config.ts for why it is exactly one),
 * so a participant reserves MEDIA_PORTS_PER_PARTICIPANT ports at join. A join that finds fewer
 * free ports on its meeting's worker fails with MediaCapacityError instead of producing a
 * connection without candidates (werift's port search fails quietly, the SDP goes out with no
 * candidate and no media ever flows).
 */
import { CodedError } from '@conclave/protocol';

/** Publish + subscribe connection, one UDP port each. */
export const MEDIA_PORTS_PER_PARTICIPANT = 2;

/** `Sfu.portPool()`: sums over the workers. */
export interface PortPoolSnapshot {
  total: number;
  used: number;
  free: number;
  perParticipant: number;
}

/** What /healthz shows (`healthResponse.media` in @conclave/protocol). */
export interface MediaPoolStatus {
  ports: { total: number; used: number; free: number };
  perParticipant: number;
  /** Participants the pool holds when empty: per worker, its slice / perParticipant, summed. */
  participantCapacity: number;
}

/**
 * A join found no room: the meeting's worker has fewer than MEDIA_PORTS_PER_PARTICIPANT free
 * ports. `code` is the protocol's error code, for the signaling side to pass on.
 */
export class MediaCapacityError extends CodedError<'media_capacity'> {
  constructor(
    /** Ports in use and in total where the join failed (the meeting's worker, or the whole pool). */
    readonly used: number,
    readonly total: number,
    /** True when only the meeting's worker is full and other workers still have room. */
    readonly workerOnly = false,
  ) {
    super(
      'media_capacity',
      workerOnly
        ? `the server has no free media ports for this meeting (${used} in use of ${total} on its media worker): try again later`
        : `the server has no free media ports (${used} in use of ${total}): try again later`,
    );
    this.name = 'MediaCapacityError';
  }
}

/**
 * The slice of `range` that worker `worker` of `workers` binds: equal disjoint slices, the
 * remainder unused. A range too small to give each worker 2 ports is shared whole (the Sfu
 * refuses such ranges, see `assertPortRangeFits`).
 */
export function workerPortSlice(range: [number, number], workers: number, worker: number): [number, number] {
  const [lo, hi] = range;
  const size = Math.floor((hi - lo + 1) / workers);
  if (size < 2) return [lo, hi];
  const start = lo + worker * size;
  return [start, start + size - 1];
}

/** Throws when some worker's slice could not hold a single participant. */
export function assertPortRangeFits(range: [number, number], workers: number): void {
  const ports = range[1] - range[0] + 1;
  if (Math.floor(ports / workers) < MEDIA_PORTS_PER_PARTICIPANT)
    throw new RangeError(
      `portRange ${range[0]}-${range[1]} (${ports} ports) gives each of ${workers} SFU workers fewer than ` +
        `${MEDIA_PORTS_PER_PARTICIPANT} ports: widen the range or use fewer workers`,
    );
}

interface Held {
  worker: number;
  participants: Set<string>;
}

/** Ports given up whose sockets may still be open: counted until the worker confirms. */
interface Retiring {
  participants: number;
}

/**
 * Reservations per worker slot, by meeting and participant: one reservation of
 * `perParticipant` ports per participant, never two, and every release is idempotent, so the
 * counts cannot drift whatever order leave, closeMeeting and a worker's death come in.
 *
 * Leaving is two steps: `retire` frees the participant's name at once (it may join again
 * straight away, as a new participant of the worker) but keeps its ports counted until the
 * returned function is called, once the worker has closed its connections; a join cannot be
 * promised ports whose sockets are still bound.
 */
export class PortPool {
  private readonly heldCount: number[];
  private readonly retiring: Set<Retiring>[];
  private readonly meetings = new Map<string, Held>();

  /** `slices[w]`: the number of ports of worker slot w. */
  constructor(
    private readonly slices: readonly number[],
    readonly perParticipant = MEDIA_PORTS_PER_PARTICIPANT,
  ) {
    if (!Number.isInteger(perParticipant) || perParticipant < 1)
      throw new RangeError('perParticipant must be a positive integer');
    this.heldCount = slices.map(() => 0);
    this.retiring = slices.map(() => new Set());
  }

  /** The pool of an Sfu with these options. */
  static forRange(range: [number, number], workers: number): PortPool {
    const slices = Array.from({ length: workers }, (_, w) => {
      const [lo, hi] = workerPortSlice(range, workers, w);
      return hi - lo + 1;
    });
    return new PortPool(slices);
  }

  get workers(): number {
    return this.slices.length;
  }

  totalOf(worker: number): number {
    return this.slices[worker] ?? 0;
  }

  usedOf(worker: number): number {
    let participants = this.heldCount[worker] ?? 0;
    for (const r of this.retiring[worker] ?? []) participants += r.participants;
    return participants * this.perParticipant;
  }

  freeOf(worker: number): number {
    return this.totalOf(worker) - this.usedOf(worker);
  }

  /** Whether one more participant fits on `worker`. */
  hasRoom(worker: number): boolean {
    return this.freeOf(worker) >= this.perParticipant;
  }

  /** The worker a meeting's reservations are on, if it has any. */
  workerOf(meetingId: string): number | undefined {
    return this.meetings.get(meetingId)?.worker;
  }

  holds(meetingId: string, participantId: string): boolean {
    return this.meetings.get(meetingId)?.participants.has(participantId) ?? false;
  }

  /**
   * The error for a join that does not fit on `worker` (or, without a worker, anywhere): the
   * worker's numbers when other workers still have room, the whole pool's otherwise.
   */
  capacityError(worker?: number): MediaCapacityError {
    if (worker !== undefined && this.slices.some((_, w) => w !== worker && this.hasRoom(w)))
      return new MediaCapacityError(this.usedOf(worker), this.totalOf(worker), true);
    const { used, total } = this.snapshot();
    return new MediaCapacityError(used, total);
  }

  /**
   * Reserves the participant's ports on `worker`. Throws MediaCapacityError when they do not
   * fit (nothing is reserved then), and an Error when the participant holds ports already or
   * the meeting's ports are on another worker.
   */
  reserve(worker: number, meetingId: string, participantId: string): void {
    if (!Number.isInteger(worker) || worker < 0 || worker >= this.slices.length)
      throw new RangeError(`no worker slot ${worker}`);
    const held = this.meetings.get(meetingId);
    if (held && held.worker !== worker)
      throw new Error(`meeting ${meetingId} holds ports on worker ${held.worker}, not ${worker}`);
    if (held?.participants.has(participantId))
      throw new Error(`participant ${participantId} of meeting ${meetingId} holds media ports already`);
    if (!this.hasRoom(worker)) throw this.capacityError(worker);
    if (held) held.participants.add(participantId);
    else this.meetings.set(meetingId, { worker, participants: new Set([participantId]) });
    this.heldCount[worker] = (this.heldCount[worker] ?? 0) + 1;
  }

  /** Gives back the participant's ports now; false when it held none. */
  release(meetingId: string, participantId: string): boolean {
    return this.takeParticipant(meetingId, participantId) !== undefined;
  }

  /**
   * The participant holds no reservation any more, but its ports stay counted until the
   * returned function is called (idempotent; a no-op once the worker died or the pool cleared).
   */
  retire(meetingId: string, participantId: string): () => void {
    const held = this.takeParticipant(meetingId, participantId);
    return held ? this.retiringOn(held.worker, 1) : noop;
  }

  /** `retire` for every participant of the meeting. */
  retireMeeting(meetingId: string): () => void {
    const held = this.meetings.get(meetingId);
    if (!held) return noop;
    this.meetings.delete(meetingId);
    const n = held.participants.size;
    this.heldCount[held.worker] = (this.heldCount[held.worker] ?? 0) - n;
    return this.retiringOn(held.worker, n);
  }

  /** A worker died (its sockets with it): every reservation on it is gone. Returns its meetings. */
  releaseWorker(worker: number): string[] {
    const gone: string[] = [];
    for (const [meetingId, held] of this.meetings) if (held.worker === worker) gone.push(meetingId);
    for (const meetingId of gone) this.meetings.delete(meetingId);
    if (worker >= 0 && worker < this.slices.length) {
      this.heldCount[worker] = 0;
      this.retiring[worker]?.clear();
    }
    return gone;
  }

  /** Every reservation dropped (the Sfu closes). */
  clear(): void {
    this.meetings.clear();
    this.heldCount.fill(0);
    for (const r of this.retiring) r.clear();
  }

  snapshot(): PortPoolSnapshot {
    const total = sum(this.slices);
    const used = sum(this.slices.map((_, w) => this.usedOf(w)));
    return { total, used, free: total - used, perParticipant: this.perParticipant };
  }

  status(): MediaPoolStatus {
    const { total, used, free, perParticipant } = this.snapshot();
    const participantCapacity = sum(this.slices.map((s) => Math.floor(s / perParticipant)));
    return { ports: { total, used, free }, perParticipant, participantCapacity };
  }

  private takeParticipant(meetingId: string, participantId: string): Held | undefined {
    const held = this.meetings.get(meetingId);
    if (!held?.participants.delete(participantId)) return undefined;
    this.heldCount[held.worker] = (this.heldCount[held.worker] ?? 0) - 1;
    if (held.participants.size === 0) this.meetings.delete(meetingId);
    return held;
  }

  private retiringOn(worker: number, participants: number): () => void {
    const set = this.retiring[worker];
    if (!set || participants === 0) return noop;
    const entry: Retiring = { participants };
    set.add(entry);
    return () => void set.delete(entry);
  }
}

const noop = (): void => undefined;

function sum(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0);
}
