import {
  FrameEvidence,
  MediaKeys,
  type BufferedClip,
  type DecryptedFrame,
  type FrameBatch,
  type FrameCodec,
  type FrameEvidenceOptions,
  type MediaContext,
  type MediaKeysOptions,
  type SenderStats,
  type VerifiedHashes,
} from '@conclave/crypto';

/**
 * Where the SDK puts each MLS epoch's SFrame base key: the one owner of media keys.
 *
 * The SDK derives the key (`MLS-Exporter`, RFC 9605 §5.2) and hands it to the sink; no public
 * event carries it. The sink is whatever encrypts the frames: an in-process `MediaKeys` (Node
 * bots, `LocalKeySink`) or the browser's E2EE worker (`@conclave/client/browser`). The client's
 * `e2ee.active` (the "end-to-end encrypted" badge) follows `confirmedEpoch` — what the
 * encryptor says it protects with — not the SDK's own view of the group.
 */
export interface MediaKeySink {
  /** The SFrame cipher suite the sink encrypts with. */
  readonly suite: number;
  /** Its key length in bytes (the exporter's output length). */
  readonly nk: number;
  /** A new epoch: the sink takes the base key (the SDK keeps no copy) and our leaf index in it. */
  setEpoch(epoch: bigint, baseKey: Uint8Array, ownLeafIndex: number): void;
  /** Left, removed or reconnecting: drop every key (nothing is sent until the next epoch). */
  forget(): void;
  /** The epoch the encryptor confirmed it now protects frames with; undefined while it holds no key. */
  readonly confirmedEpoch: bigint | undefined;
  /** Frames received per MLS sender leaf (-1: frames whose SFrame header did not parse), as last reported. */
  senderStats(): ReadonlyMap<number, SenderStats>;
  /** Called when `confirmedEpoch` or the sender statistics change. */
  onChange(cb: () => void): () => void;

  // Frame attestation (crypto/src/evidence/attestation.ts). A sink without these attests nothing.
  /**
   * On or off, as the meeting's `attestation` setting says (off by default). Off: nothing is
   * hashed, checked or buffered, and what was held (the clip buffer with its keys) is dropped.
   */
  setAttestation?(on: boolean): void;
  /** Our own frames' hashes, one batch per media context per second, for the SDK to sign and send. */
  onFrameBatch?(cb: (batch: FrameBatch) => void): () => void;
  /** The hashes of an attestation whose signature the SDK verified, sent by its own leaf. */
  acceptAttestation?(hashes: VerifiedHashes): void;
  /** The last `seconds` of ciphertext received under `leafIndex`'s KIDs, with those KIDs' keys. */
  clip?(leafIndex: number, seconds: number): Promise<BufferedClip | undefined>;
}

/**
 * The in-process sink: keys live in a `MediaKeys` in this thread, which also encrypts and
 * decrypts, so a key is confirmed as soon as it is set. Send and receive frames through
 * `protect` / `unprotect` (they attest and check frames when attestation is on); `keys` is the
 * MediaKeys itself.
 */
export class LocalKeySink implements MediaKeySink {
  readonly keys: MediaKeys;
  protected readonly evidence: FrameEvidence;
  private readonly listeners = new Set<() => void>();
  private readonly batchListeners = new Set<(batch: FrameBatch) => void>();

  constructor(opts: MediaKeysOptions & { evidence?: FrameEvidenceOptions } = {}) {
    this.keys = new MediaKeys(opts);
    this.evidence = new FrameEvidence(
      this.keys,
      (b) => {
        for (const cb of this.batchListeners) cb(b);
      },
      opts.evidence,
    );
  }

  /** Encrypts one of our frames (and hashes it for our attestation). */
  protect(context: MediaContext, codec: FrameCodec, frame: Uint8Array): Promise<Uint8Array> {
    return this.evidence.protect(context, codec, frame);
  }

  /** Decrypts a received frame (and checks it against its sender's attestations, buffers it for clips). */
  unprotect(codec: FrameCodec, data: Uint8Array): Promise<DecryptedFrame> {
    return this.evidence.unprotect(codec, data);
  }

  get suite(): number {
    return this.keys.suite;
  }

  get nk(): number {
    return this.keys.nk;
  }

  get confirmedEpoch(): bigint | undefined {
    return this.keys.epoch;
  }

  setEpoch(epoch: bigint, baseKey: Uint8Array, ownLeafIndex: number): void {
    this.keys.setEpoch(epoch, baseKey, ownLeafIndex);
    this.changed();
  }

  forget(): void {
    this.keys.forget();
    this.evidence.forget();
    this.changed();
  }

  senderStats(): ReadonlyMap<number, SenderStats> {
    return this.evidence.senderStats();
  }

  setAttestation(on: boolean): void {
    this.evidence.setEnabled(on);
  }

  onFrameBatch(cb: (batch: FrameBatch) => void): () => void {
    this.batchListeners.add(cb);
    return () => this.batchListeners.delete(cb);
  }

  acceptAttestation(hashes: VerifiedHashes): void {
    this.evidence.accept(hashes);
  }

  async clip(leafIndex: number, seconds: number): Promise<BufferedClip | undefined> {
    return this.evidence.clip(leafIndex, seconds);
  }

  onChange(cb: () => void): () => void {
    this.listeners.add(cb);
    return () => this.listeners.delete(cb);
  }

  private changed(): void {
    for (const cb of this.listeners) cb();
  }
}
