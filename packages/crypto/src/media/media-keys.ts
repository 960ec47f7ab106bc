import { SFrameKeyRing, SFrameSender } from '../sframe/context.js';
import { SFrameError } from '../sframe/errors.js';
import { decodeHeader } from '../sframe/header.js';
import { DEFAULT_SUITE, getSuite } from '../sframe/suites.js';
import {
  clearPrefixLength,
  protectEncodedFrame,
  unprotectEncodedFrame,
  type FrameCodec,
} from '../sframe/codec.js';
import { KID_EPOCH_BITS, epochLowBits, mediaKid, parseMediaKid, type MediaContext } from './kid.js';

/** How long a receiver keeps an epoch's keys after a newer epoch arrived (frames in flight). */
export const DEFAULT_EPOCH_GRACE_MS = 5_000;

/**
 * At most this many epochs older than the current one are kept, grace or not: half of the 2^E
 * epoch-bit values stay free for epochs a sender may be in before us. A frame's KID names only
 * the epoch's low bits, so an epoch kept 2^E - 1 back shares them with the next one; while the
 * meeting grows fast (several commits a second, a 5 s grace) a sender's first frame of epoch
 * N + 1 was opened with the key of N - 15, and failed, instead of waiting for our commit
 * (`unknown_kid`).
 */
export const MAX_OLDER_EPOCHS = (1 << KID_EPOCH_BITS) / 2 - 1;

interface EpochKeys {
  epoch: bigint;
  baseKey: Uint8Array;
  /** Set when a newer epoch replaced this one: keys are dropped after this time. */
  retireAt: number | undefined;
  kids: Set<bigint>;
}

export interface MediaKeysOptions {
  /** SFrame cipher suite; AES_128_GCM_SHA256_128 by default. */
  suite?: number;
  graceMs?: number;
  /** Clock, for tests. */
  now?: () => number;
}

export interface DecryptedFrame {
  senderIndex: number;
  context: MediaContext | undefined;
  epoch: bigint;
  /** The SFrame KID the frame was protected under. */
  kid: bigint;
  frame: Uint8Array;
}

/** A frame this member protected, and the epoch and leaf index whose KID protected it. */
export interface ProtectedFrame {
  frame: Uint8Array;
  epoch: bigint;
  senderIndex: number;
}

export interface SenderStats {
  decrypted: number;
  /** Frames that did not authenticate, replays, malformed frames: a sign of trouble. */
  failures: number;
  /**
   * Frames for an epoch this member holds no key for: sent just before this member got the key
   * (at every join), or in an epoch it is not in. Dropped, but not an error.
   */
  withoutKey: number;
  /** When a frame of this sender last decrypted (this MediaKeys' clock, ms); undefined: never. */
  lastDecryptedAt: number | undefined;
  /** When a frame of this sender last failed (not counting frames without a key). */
  lastFailedAt: number | undefined;
  /**
   * Frame attestation (evidence/attestation-checker.ts), filled in by the key sink when it is
   * on (MediaKeys itself checks none): frames that decrypted under this sender's KIDs and that
   * the sender did not attest, and when that was last found.
   */
  unattested?: number;
  lastUnattestedAt?: number;
}

/**
 * The SFrame side of an MLS member: one sender per media context for the current epoch, and
 * a key ring for every member's KIDs of the current and recently retired epochs.
 *
 * Feed it `setEpoch` whenever the MLS epoch changes, with `base_key` from
 * `MlsSession.sframeBaseKey(nk)`. Keys are derived once per KID (lazily, on the first frame
 * that needs them); per frame only AES runs. A frame that fails is counted against its sender
 * and never returned.
 */
export class MediaKeys {
  readonly suite: number;
  readonly nk: number;
  private readonly graceMs: number;
  private readonly now: () => number;
  private readonly ring: SFrameKeyRing;
  private readonly epochs = new Map<number, EpochKeys>();
  private current: EpochKeys | undefined;
  private ownIndex = 0;
  private senders = new Map<MediaContext, Promise<SFrameSender>>();
  private readonly pendingKeys = new Map<bigint, Promise<void>>();
  private readonly stats = new Map<number, SenderStats>();

  constructor(opts: MediaKeysOptions = {}) {
    this.suite = opts.suite ?? DEFAULT_SUITE;
    this.nk = getSuite(this.suite).Nk;
    this.graceMs = opts.graceMs ?? DEFAULT_EPOCH_GRACE_MS;
    this.now = opts.now ?? (() => Date.now());
    this.ring = new SFrameKeyRing({ suite: this.suite });
  }

  /** The epoch this member sends in, if any. */
  get epoch(): bigint | undefined {
    return this.current?.epoch;
  }

  setEpoch(epoch: bigint, baseKey: Uint8Array, ownLeafIndex: number): void {
    if (this.current?.epoch === epoch) return;
    const now = this.now();
    if (this.current) this.current.retireAt = now + this.graceMs;
    const bits = epochLowBits(epoch);
    // RFC 9605 §5.2: an old epoch with the same low bits is removed when the new one arrives.
    const clash = this.epochs.get(bits);
    if (clash) this.dropEpoch(bits, clash);
    const entry: EpochKeys = { epoch, baseKey: baseKey.slice(), retireAt: undefined, kids: new Set() };
    this.epochs.set(bits, entry);
    this.current = entry;
    this.ownIndex = ownLeafIndex;
    this.senders = new Map();
    this.prune(now);
  }

  /** Drops every key: for a member that was removed or left. */
  forget(): void {
    for (const [bits, entry] of [...this.epochs]) this.dropEpoch(bits, entry);
    this.current = undefined;
    this.senders = new Map();
  }

  /** Encrypts one encoded frame of `codec` from this member's `context` stream with the current epoch. */
  async protect(context: MediaContext, codec: FrameCodec, frame: Uint8Array): Promise<Uint8Array> {
    return (await this.protectFrame(context, codec, frame)).frame;
  }

  /** Like `protect`, also saying which epoch and leaf index protected the frame (for attestation). */
  async protectFrame(context: MediaContext, codec: FrameCodec, frame: Uint8Array): Promise<ProtectedFrame> {
    // A setEpoch (or forget) while this frame is being encrypted would let it out under the
    // key of the epoch just left, which a member removed by that epoch's commit still holds.
    // So a frame is only returned under the key that is current when its encryption ends: the
    // promise "once the sink holds epoch N, nothing it sends opens with an older epoch's key".
    // Epochs change rarely; the retry is bounded all the same.
    for (let attempt = 0; attempt < 3; attempt++) {
      const entry = this.current;
      const senderIndex = this.ownIndex;
      const sender = await this.senderFor(context);
      const out = await protectEncodedFrame(sender, codec, frame);
      if (this.current === entry && entry) return { frame: out, epoch: entry.epoch, senderIndex };
    }
    throw new SFrameError('unknown_kid', 'the epoch key changed during every attempt to protect this frame');
  }

  /** Decrypts one protected frame; throws SFrameError (and counts it) when it cannot. */
  async unprotect(codec: FrameCodec, data: Uint8Array): Promise<DecryptedFrame> {
    let senderIndex = -1;
    try {
      const { kid } = decodeHeader(data, clearPrefixLength(codec, data));
      const parsed = parseMediaKid(kid);
      senderIndex = parsed.senderIndex;
      const entry = this.epochs.get(parsed.epochBits);
      if (!entry || (entry.retireAt !== undefined && entry.retireAt <= this.now())) {
        throw new SFrameError('unknown_kid', `no key for KID ${kid} (epoch bits ${parsed.epochBits})`);
      }
      await this.ensureKey(kid, entry);
      const frame = await unprotectEncodedFrame(this.ring, codec, data);
      const ok = this.statsFor(senderIndex);
      ok.decrypted++;
      ok.lastDecryptedAt = this.now();
      return { senderIndex, context: parsed.context, epoch: entry.epoch, kid, frame };
    } catch (e) {
      const stats = this.statsFor(senderIndex);
      if (e instanceof SFrameError && e.code === 'unknown_kid') stats.withoutKey++;
      else {
        stats.failures++;
        stats.lastFailedAt = this.now();
      }
      throw e;
    }
  }

  /**
   * sframe_key and sframe_salt of a KID this member decrypted frames of (RFC 9605 §4.4.2), while
   * its epoch is held: what a clip carries so a third party can decrypt that KID's frames only.
   */
  kidKeyMaterial(kid: bigint): { key: Uint8Array; salt: Uint8Array } | undefined {
    return this.ring.keyMaterial(kid);
  }

  /** Decrypted and failed frames per sender leaf index (-1: frames whose header could not be read). */
  senderStats(): Map<number, SenderStats> {
    return new Map([...this.stats].map(([k, v]) => [k, { ...v }]));
  }

  private statsFor(index: number): SenderStats {
    let s = this.stats.get(index);
    if (!s) {
      s = { decrypted: 0, failures: 0, withoutKey: 0, lastDecryptedAt: undefined, lastFailedAt: undefined };
      this.stats.set(index, s);
    }
    return s;
  }

  private senderFor(context: MediaContext): Promise<SFrameSender> {
    const current = this.current;
    if (!current) return Promise.reject(new SFrameError('unknown_kid', 'no MLS epoch key yet: cannot send'));
    // The promise is cached before it resolves so that concurrent first frames share one
    // sender (and one counter): two senders for one KID would reuse (KID, CTR) pairs.
    let sender = this.senders.get(context);
    if (!sender) {
      sender = SFrameSender.create(
        this.suite,
        mediaKid(context, this.ownIndex, current.epoch),
        current.baseKey,
      );
      this.senders.set(context, sender);
    }
    return sender;
  }

  private ensureKey(kid: bigint, entry: EpochKeys): Promise<void> {
    if (this.ring.hasKey(kid)) return Promise.resolve();
    let pending = this.pendingKeys.get(kid);
    if (!pending) {
      pending = this.ring.addKey(kid, entry.baseKey, this.suite).then(() => {
        entry.kids.add(kid);
        this.pendingKeys.delete(kid);
      });
      this.pendingKeys.set(kid, pending);
    }
    return pending;
  }

  private prune(now: number): void {
    const current = this.current?.epoch;
    for (const [bits, entry] of [...this.epochs]) {
      const tooOld = current !== undefined && current - entry.epoch > BigInt(MAX_OLDER_EPOCHS);
      if (tooOld || (entry.retireAt !== undefined && entry.retireAt <= now)) this.dropEpoch(bits, entry);
    }
  }

  private dropEpoch(bits: number, entry: EpochKeys): void {
    for (const kid of entry.kids) this.ring.removeKey(kid);
    entry.baseKey.fill(0);
    this.epochs.delete(bits);
  }
}
