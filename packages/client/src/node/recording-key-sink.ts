import { LocalKeySink } from '../key-sink.js';

/**
 * TEST ONLY: an in-process key sink that also keeps a copy of every epoch key it is given.
 * No SDK event carries a media key; a test that must look at the keys (a departed member's keys
 * open nothing sent after, each rekey yields a fresh key) injects this as `keySink`.
 */
export class RecordingKeySink extends LocalKeySink {
  readonly seen: { epoch: bigint; ownLeafIndex: number; baseKey: Uint8Array }[] = [];

  override setEpoch(epoch: bigint, baseKey: Uint8Array, ownLeafIndex: number): void {
    this.seen.push({ epoch, ownLeafIndex, baseKey: baseKey.slice() });
    super.setEpoch(epoch, baseKey, ownLeafIndex);
  }
}
