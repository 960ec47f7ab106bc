/**
 * Frame attestation where frames are encrypted and decrypted (a key sink: the browser's E2EE
 * worker, a Node bot's LocalKeySink): `MediaKeys.protect` / `unprotect` plus what attestation
 * needs of every frame.
 *
 * - Sending: each protected frame is hashed (exactly the bytes that go to the packetizer) into
 *   the batch of its context; a batch closes once a second and goes to `onBatch`, for the SDK
 *   to sign and send.
 * - Receiving: each frame that decrypted is hashed (its protected bytes, as they arrived) and
 *   goes to the live checker under its KID's leaf, and into the clip buffer with its KID's key
 *   material. Frames that fail to decrypt are neither checked nor kept (see the checker).
 * - `accept`: the verified hashes of an attestation (the SDK checked its signature).
 *
 * Off (`setEnabled(false)`, the default; the meeting setting `attestation`): nothing is hashed,
 * checked or buffered, and turning it off drops what was held.
 */
import type { FrameCodec } from '../sframe/codec.js';
import type { MediaContext } from '../media/kid.js';
import type { DecryptedFrame, MediaKeys, SenderStats } from '../media/media-keys.js';
import { frameHash } from './attestation.js';
import {
  AttestationChecker,
  type AttestationCheckerOptions,
  type VerifiedHashes,
} from './attestation-checker.js';
import { FrameHashBatcher, type FrameBatch, type FrameHashBatcherOptions } from './attestation-recorder.js';
import { FrameBuffer, type BufferedClip, type FrameBufferOptions } from './frame-buffer.js';

export interface FrameEvidenceOptions {
  checker?: AttestationCheckerOptions;
  batcher?: FrameHashBatcherOptions;
  buffer?: FrameBufferOptions;
}

export class FrameEvidence {
  private enabled = false;
  private readonly batcher: FrameHashBatcher;
  private readonly checker: AttestationChecker;
  private readonly buffer: FrameBuffer;

  constructor(
    readonly keys: MediaKeys,
    onBatch: (batch: FrameBatch) => void,
    opts: FrameEvidenceOptions = {},
  ) {
    this.batcher = new FrameHashBatcher((b) => this.enabled && onBatch(b), opts.batcher);
    this.checker = new AttestationChecker(opts.checker);
    this.buffer = new FrameBuffer(opts.buffer);
  }

  get attesting(): boolean {
    return this.enabled;
  }

  setEnabled(on: boolean): void {
    if (on === this.enabled) return;
    this.enabled = on;
    this.batcher.clear();
    this.checker.clear();
    this.buffer.clear();
  }

  /** Keys forgotten (left, removed, reconnecting): frames not yet batched are not attested. */
  forget(): void {
    this.batcher.clear();
  }

  async protect(context: MediaContext, codec: FrameCodec, frame: Uint8Array): Promise<Uint8Array> {
    const p = await this.keys.protectFrame(context, codec, frame);
    if (this.enabled) this.batcher.record(context, p.epoch, p.senderIndex, p.frame);
    return p.frame;
  }

  async unprotect(codec: FrameCodec, data: Uint8Array): Promise<DecryptedFrame> {
    // MediaKeys does not alter `data`: hashed after it decrypted, these are the bytes that arrived.
    const out = await this.keys.unprotect(codec, data);
    if (this.enabled && out.context !== undefined) {
      this.checker.observe(out.senderIndex, out.context, out.epoch, frameHash(data));
      if (codec !== 'other') {
        const key = this.buffer.needsKey(out.kid) ? this.keys.kidKeyMaterial(out.kid) : undefined;
        this.buffer.add(out.senderIndex, out.context, codec, out.kid, data, key);
      }
    }
    return out;
  }

  /** The hashes of an attestation whose signature the SDK verified (its leaf sent it). */
  accept(v: VerifiedHashes): void {
    if (this.enabled) this.checker.accept(v);
  }

  /** MediaKeys' statistics per sender leaf with the checker's `unattested` counts. */
  senderStats(): Map<number, SenderStats> {
    const stats = this.keys.senderStats();
    if (!this.enabled) return stats;
    const checked = this.checker.stats();
    for (const [leaf, s] of stats) {
      const a = checked.get(leaf);
      stats.set(leaf, { ...s, unattested: a?.unattested ?? 0, lastUnattestedAt: a?.lastUnattestedAt });
    }
    return stats;
  }

  /** The buffered frames of `leafIndex` for a clip of the last `seconds`, undefined when off or none. */
  clip(leafIndex: number, seconds: number): BufferedClip | undefined {
    return this.enabled ? this.buffer.clip(leafIndex, seconds) : undefined;
  }
}
