/**
 * The sender side of frame attestation, in two halves because they run in different places:
 *
 * - `FrameHashBatcher` runs where frames are encrypted (the browser's E2EE worker, or a Node
 *   bot's LocalKeySink): it hashes every protected frame right after SFrame protect and closes a
 *   batch per media context once a second (earlier when the epoch or our leaf changes, or at
 *   MAX_ATTESTATION_HASHES frames). It knows nothing of the MLS group.
 * - `AttestationRecorder` runs in the SDK, which holds the group: it turns each batch into an
 *   AttestationBody of the group (seq and prev chained per context) to be signed and sent.
 */
import type { MediaContext } from '../media/kid.js';
import {
  ATTESTATION_DIGEST_BYTES,
  FRAME_HASH_BYTES,
  MAX_ATTESTATION_HASHES,
  attestationDigest,
  encodeAttestation,
  frameHash,
  type AttestationBody,
} from './attestation.js';

/** How often a sender closes a body per media context. */
export const ATTESTATION_INTERVAL_MS = 1_000;

/** The hashes of one context's frames in one interval, as the encryptor saw them. */
export interface FrameBatch {
  context: MediaContext;
  epoch: bigint;
  leafIndex: number;
  startedAt: number;
  endedAt: number;
  /** count × 16 bytes (see AttestationBody.hashes). */
  hashes: Uint8Array;
}

interface OpenBatch {
  epoch: bigint;
  leafIndex: number;
  startedAt: number;
  endedAt: number;
  hashes: Uint8Array;
  count: number;
  cancel: () => void;
}

export interface FrameHashBatcherOptions {
  intervalMs?: number;
  now?: () => number;
  /** Closes a batch after `ms` (default setTimeout, unref'd in Node); tests pass a manual clock. */
  schedule?: (ms: number, fn: () => void) => { cancel(): void };
}

function defaultSchedule(ms: number, fn: () => void): { cancel(): void } {
  const t = setTimeout(fn, ms);
  (t as { unref?: () => void }).unref?.();
  return { cancel: () => clearTimeout(t) };
}

export class FrameHashBatcher {
  private readonly open = new Map<MediaContext, OpenBatch>();
  private readonly intervalMs: number;
  private readonly now: () => number;
  private readonly schedule: NonNullable<FrameHashBatcherOptions['schedule']>;

  constructor(
    private readonly emit: (batch: FrameBatch) => void,
    opts: FrameHashBatcherOptions = {},
  ) {
    this.intervalMs = opts.intervalMs ?? ATTESTATION_INTERVAL_MS;
    this.now = opts.now ?? (() => Date.now());
    this.schedule = opts.schedule ?? defaultSchedule;
  }

  /** One protected frame of ours, exactly as it goes to the packetizer. */
  record(context: MediaContext, epoch: bigint, leafIndex: number, protectedFrame: Uint8Array): void {
    const now = this.now();
    let b = this.open.get(context);
    if (b && (b.epoch !== epoch || b.leafIndex !== leafIndex)) {
      this.close(context);
      b = undefined;
    }
    if (!b) {
      const opened: OpenBatch = {
        epoch,
        leafIndex,
        startedAt: now,
        endedAt: now,
        hashes: new Uint8Array(MAX_ATTESTATION_HASHES * FRAME_HASH_BYTES),
        count: 0,
        cancel: () => undefined,
      };
      opened.cancel = this.schedule(this.intervalMs, () => {
        if (this.open.get(context) === opened) this.close(context);
      }).cancel;
      this.open.set(context, opened);
      b = opened;
    }
    b.hashes.set(frameHash(protectedFrame), b.count * FRAME_HASH_BYTES);
    b.count++;
    b.endedAt = now;
    if (b.count === MAX_ATTESTATION_HASHES) this.close(context);
  }

  /** Closes every open batch now (emitting it). */
  flush(): void {
    for (const context of [...this.open.keys()]) this.close(context);
  }

  /** Drops every open batch without emitting it (keys forgotten, attestation turned off). */
  clear(): void {
    for (const b of this.open.values()) b.cancel();
    this.open.clear();
  }

  private close(context: MediaContext): void {
    const b = this.open.get(context);
    if (!b) return;
    this.open.delete(context);
    b.cancel();
    if (b.count === 0) return;
    this.emit({
      context,
      epoch: b.epoch,
      leafIndex: b.leafIndex,
      startedAt: b.startedAt,
      endedAt: b.endedAt,
      hashes: b.hashes.slice(0, b.count * FRAME_HASH_BYTES),
    });
  }
}

/** A body ready to sign: its fields, its encoding, and its digest (the next body's prev). */
export interface RecordedAttestation {
  body: AttestationBody;
  encoded: Uint8Array;
  digest: Uint8Array;
}

/**
 * Chains a sender's bodies per media context: seq from 0, each `prev` the digest of the body
 * before. One chain per context for as long as this recorder lives (epoch changes included: a
 * body says its epoch); `reset` starts new chains (a new group, a rejoin under another leaf).
 */
export class AttestationRecorder {
  private readonly chains = new Map<MediaContext, { seq: number; prev: Uint8Array }>();

  next(groupId: Uint8Array, batch: FrameBatch): RecordedAttestation {
    const chain = this.chains.get(batch.context) ?? {
      seq: 0,
      prev: new Uint8Array(ATTESTATION_DIGEST_BYTES),
    };
    const body: AttestationBody = {
      groupId,
      epoch: batch.epoch,
      leafIndex: batch.leafIndex,
      context: batch.context,
      seq: chain.seq,
      prev: chain.prev,
      startedAt: batch.startedAt,
      endedAt: batch.endedAt,
      hashes: batch.hashes,
    };
    const encoded = encodeAttestation(body);
    const digest = attestationDigest(encoded);
    this.chains.set(batch.context, { seq: chain.seq + 1, prev: digest });
    return { body, encoded, digest };
  }

  reset(): void {
    this.chains.clear();
  }
}
