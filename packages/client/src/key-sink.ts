import { MediaKeys, type MediaKeysOptions, type SenderStats } from '@conclave/crypto';

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
}

/**
 * The in-process sink: keys live in a `MediaKeys` in this thread, which also encrypts and
 * decrypts (`keys.protect` / `keys.unprotect`), so a key is confirmed as soon as it is set.
 */
export class LocalKeySink implements MediaKeySink {
  readonly keys: MediaKeys;
  private readonly listeners = new Set<() => void>();

  constructor(opts: MediaKeysOptions = {}) {
    this.keys = new MediaKeys(opts);
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
    this.changed();
  }

  senderStats(): ReadonlyMap<number, SenderStats> {
    return this.keys.senderStats();
  }

  onChange(cb: () => void): () => void {
    this.listeners.add(cb);
    return () => this.listeners.delete(cb);
  }

  private changed(): void {
    for (const cb of this.listeners) cb();
  }
}
