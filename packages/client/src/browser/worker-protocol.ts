/**
 * Messages between the main thread and the E2EE worker (e2ee-worker.ts).
 *
 * Keys travel main → worker only, by postMessage (structured clone within this origin's
 * process); neither side ever logs them. The worker answers with counters, the receivers'
 * senders, and an acknowledgement of every key it installs (the page's badge follows that).
 */
import type { BufferedClip, FrameBatch, MediaContext, SenderStats, VerifiedHashes } from '@conclave/crypto';

/** Which SFrame codec layout a stream uses: the transport forces VP8 video and Opus audio. */
export type TransformCodec = 'vp8' | 'opus';

/** Options of one RTCRtpScriptTransform (or the transferred streams of the fallback path). */
export type TransformOptions =
  | { operation: 'encrypt'; id: number; context: MediaContext; codec: TransformCodec }
  | { operation: 'decrypt'; id: number; codec: TransformCodec };

/** What both encoded-frame kinds have in common (RTCEncodedVideoFrame, RTCEncodedAudioFrame). */
export interface EncodedFrame {
  data: ArrayBuffer;
}

export type ToWorker =
  | { type: 'init'; suite: number }
  /** A new MLS epoch: its SFrame base key (RFC 9605 §5.2) and our leaf index in it. */
  | { type: 'key'; epoch: bigint; baseKey: Uint8Array; ownLeafIndex: number }
  /** Left, removed or reconnecting: drop every key (frames are dropped until the next 'key'). */
  | { type: 'forget' }
  /**
   * The SFU now says a receiver carries another stream (recycled m-line): forget who sent on
   * it, so the next decrypted frame reports its sender afresh.
   */
  | { type: 'resetSender'; id: number }
  /** Frame attestation on or off (the meeting's setting): off drops the clip buffer and its keys. */
  | { type: 'attestation'; on: boolean }
  /** The hashes of an attestation the SDK verified (its sender's own leaf), for the live check. */
  | ({ type: 'attested' } & VerifiedHashes)
  /** The buffered ciphertext of one sender for a clip (answered with `clip` and the same id). */
  | { type: 'clip'; id: number; leafIndex: number; seconds: number }
  /** createEncodedStreams() fallback: the streams of one sender or receiver, transferred. */
  | {
      type: 'streams';
      options: TransformOptions;
      readable: ReadableStream<EncodedFrame>;
      writable: WritableStream<EncodedFrame>;
    };

/** Counters of one transform (one sender or one receiver of a peer connection). */
export interface TransformCounters {
  /** Frames encrypted (sender) or decrypted (receiver) and passed on. */
  ok: number;
  /** Frames dropped because they did not decrypt: failed authentication, replay, malformed. */
  dropped: number;
  /** Receivers: frames dropped for want of their epoch's key (just before a join's key arrives). */
  withoutKey: number;
  /** Receivers: the MLS leaf index of the last frame that decrypted (who is sending on it). */
  lastSender: number | undefined;
}

export interface WorkerStats {
  type: 'stats';
  /** The epoch the worker encrypts with (decimal string), if it has a key. */
  epoch: string | undefined;
  /** Per MLS sender leaf index (-1: frames whose SFrame header could not be read). */
  senders: [number, SenderStats][];
  transforms: [number, TransformCounters][];
}

/**
 * Receivers whose sender changed: the MLS leaf index (from the SFrame KID, RFC 9605 §5.2) of
 * the frames that now decrypt on them. Sent at most every SENDER_REPORT_MS per worker, with
 * every change since the last report (the last value per receiver).
 */
export interface SenderReport {
  type: 'senders';
  changes: [number, number][];
}

/**
 * The worker installed the key of `epoch` (decimal string) and protects every frame it sends
 * with it from now on; `undefined`: it dropped every key (answer to `forget`).
 */
export interface KeyAck {
  type: 'keyAck';
  epoch: string | undefined;
}

/** Our own frames' hashes of one context and second, for the SDK to sign and send. */
export interface FrameBatchReport {
  type: 'frameBatch';
  batch: FrameBatch;
}

/** The answer to a `clip` request: the frames and the key material of their KIDs, or nothing. */
export interface ClipReport {
  type: 'clip';
  id: number;
  clip: BufferedClip | undefined;
}

export type FromWorker = WorkerStats | SenderReport | KeyAck | FrameBatchReport | ClipReport;
