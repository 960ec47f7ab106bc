/**
 * The E2EE encoded-transform worker: SFrame (RFC 9605) on every encoded frame that leaves or
 * enters this browser, with keys from the meeting's MLS group.
 *
 * - Senders: `MediaKeys.protect(context, codec, frame)` with the codec's clear prefix (VP8 10/3
 *   bytes, Opus 1), so packetizers, key-frame detection and the SFU keep working. Without a key
 *   (not in the MLS group yet) frames are dropped: nothing leaves in clear.
 * - Receivers: `MediaKeys.unprotect`; a frame that fails (failed authentication, replay,
 *   malformed) is dropped and counted as a failure, never handed to the decoder; a frame for an
 *   epoch without a key (the few sent just before this page got the key) is dropped and counted
 *   apart (`withoutKey`): the page does not show it as media that did not decrypt.
 * - One worker serves every sender and receiver of the session, so one `MediaKeys` holds the
 *   send counters: no (KID, CTR) pair is ever used twice.
 * - Frame attestation (when the page turns it on: the meeting's setting), through
 *   `FrameEvidence`: each protected frame is hashed and the hashes go to the page once a second
 *   per stream (`frameBatch`) for the SDK to sign; each received frame that decrypted is checked
 *   against the attestations the SDK verified (`attested`; `unattested` in the sender stats)
 *   and kept for clips with its KID's key material (`clip`), for 60 s.
 *
 * Two ways frames get here: RTCRtpScriptTransform (the `rtctransform` event; Chromium,
 * Firefox, Safari) or, as a fallback, the streams of `createEncodedStreams()` transferred by
 * the main thread (older Chromium). Keys are never logged; only counters go back, and each
 * receiver's sender leaf index when it changes (the page labels tiles with that member).
 */
import { FrameEvidence, MediaKeys } from '@conclave/crypto';
import type {
  EncodedFrame,
  FromWorker,
  ToWorker,
  TransformCounters,
  TransformOptions,
} from './worker-protocol.js';

/** The worker side of RTCRtpScriptTransform (lib.webworker's types are not in our DOM build). */
interface ScriptTransformer {
  readonly readable: ReadableStream<EncodedFrame>;
  readonly writable: WritableStream<EncodedFrame>;
  readonly options: unknown;
  generateKeyFrame?: () => Promise<unknown>;
}

interface WorkerScope {
  onmessage: ((ev: MessageEvent<ToWorker>) => void) | null;
  onrtctransform: ((ev: { transformer: ScriptTransformer }) => void) | null;
  postMessage(msg: FromWorker, transfer?: Transferable[]): void;
}

const scope = self as unknown as WorkerScope;

const STATS_INTERVAL_MS = 1000;
/** Sender changes are reported at most this often (a stream that flips between senders cannot flood the page). */
const SENDER_REPORT_MS = 100;

let keys = new MediaKeys();
/** MediaKeys with frame attestation: our frames hashed for the SDK to sign, received ones checked and buffered. */
const evidenceFor = (k: MediaKeys): FrameEvidence =>
  new FrameEvidence(k, (batch) => scope.postMessage({ type: 'frameBatch', batch }));
let evidence = evidenceFor(keys);
const counters = new Map<number, TransformCounters>();
/** Sender transformers, asked for a key frame when the first key arrives. */
const senders = new Set<ScriptTransformer>();
/** Receivers whose sender changed since the last report, with the new sender's leaf index. */
const senderChanges = new Map<number, number>();
let senderTimer: ReturnType<typeof setTimeout> | undefined;

/** Reports that frames on receiver `id` now decrypt under `leaf`'s key (throttled). */
function senderChanged(id: number, leaf: number): void {
  senderChanges.set(id, leaf);
  senderTimer ??= setTimeout(() => {
    senderTimer = undefined;
    scope.postMessage({ type: 'senders', changes: [...senderChanges] });
    senderChanges.clear();
  }, SENDER_REPORT_MS);
}

function isTransformOptions(o: unknown): o is TransformOptions {
  if (typeof o !== 'object' || o === null) return false;
  const r = o as Record<string, unknown>;
  return (r.operation === 'encrypt' || r.operation === 'decrypt') && typeof r.id === 'number';
}

/** The bytes as an ArrayBuffer of exactly their length (copies only when `u` is a view). */
function exactBuffer(u: Uint8Array): ArrayBuffer {
  if (u.byteOffset === 0 && u.byteLength === u.buffer.byteLength && u.buffer instanceof ArrayBuffer)
    return u.buffer;
  return u.slice().buffer as ArrayBuffer;
}

/** Encrypts or decrypts one frame in place; false or a throw means: drop it. */
async function transformFrame(
  options: TransformOptions,
  c: TransformCounters,
  frame: EncodedFrame,
): Promise<boolean> {
  const data = new Uint8Array(frame.data);
  if (options.operation === 'encrypt') {
    // No key yet (or any more): drop, never send in clear. Empty frames carry nothing.
    if (keys.epoch === undefined || data.length === 0) return false;
    frame.data = exactBuffer(await evidence.protect(options.context, options.codec, data));
    return true;
  }
  const result = await evidence.unprotect(options.codec, data);
  frame.data = exactBuffer(result.frame);
  // Who really sends on this receiver: the KID's leaf index, proven by the key that decrypted.
  if (c.lastSender !== result.senderIndex) senderChanged(options.id, result.senderIndex);
  c.lastSender = result.senderIndex;
  return true;
}

function run(
  options: TransformOptions,
  readable: ReadableStream<EncodedFrame>,
  writable: WritableStream<EncodedFrame>,
  onEnd?: () => void,
): void {
  const c: TransformCounters = { ok: 0, dropped: 0, withoutKey: 0, lastSender: undefined };
  counters.set(options.id, c);
  const transform = new TransformStream<EncodedFrame, EncodedFrame>({
    // Frames are handled one at a time, in order (pipeThrough awaits each transform call).
    async transform(frame, controller) {
      // A throw (failed authentication, replay, malformed) counts as a drop below, a frame for
      // an epoch without a key (sent just before this page got it) apart; MediaKeys also
      // counts both against the frame's sender.
      const ok = await transformFrame(options, c, frame).catch((e: unknown) =>
        (e as { code?: unknown }).code === 'unknown_kid' ? ('no_key' as const) : false,
      );
      if (ok === true) {
        c.ok++;
        controller.enqueue(frame);
      } else if (ok === 'no_key') {
        c.withoutKey++;
      } else {
        c.dropped++;
      }
    },
  });
  readable
    .pipeThrough(transform)
    .pipeTo(writable)
    .catch(() => {
      // The sender or receiver went away (connection closed): nothing to do.
    })
    .finally(() => {
      counters.delete(options.id);
      onEnd?.();
    });
}

function requestKeyFrame(t: ScriptTransformer): void {
  try {
    void t.generateKeyFrame?.().catch(() => undefined);
  } catch {
    // Not supported for this transformer (or not yet negotiated): receivers ask with a PLI anyway.
  }
}

scope.onrtctransform = (ev) => {
  const { transformer } = ev;
  if (!isTransformOptions(transformer.options)) return;
  if (transformer.options.operation === 'encrypt') senders.add(transformer);
  run(transformer.options, transformer.readable, transformer.writable, () => senders.delete(transformer));
};

scope.onmessage = (ev) => {
  const msg = ev.data;
  switch (msg.type) {
    case 'init': {
      const on = evidence.attesting;
      keys = new MediaKeys({ suite: msg.suite });
      evidence = evidenceFor(keys);
      evidence.setEnabled(on);
      return;
    }
    case 'key': {
      const first = keys.epoch === undefined;
      keys.setEpoch(msg.epoch, msg.baseKey, msg.ownLeafIndex);
      msg.baseKey.fill(0); // MediaKeys keeps its own copy
      scope.postMessage({ type: 'keyAck', epoch: String(msg.epoch) });
      // Video frames were dropped until now: start the receivers off with a key frame.
      if (first) for (const t of senders) requestKeyFrame(t);
      return;
    }
    case 'forget':
      keys.forget();
      evidence.forget();
      scope.postMessage({ type: 'keyAck', epoch: undefined });
      return;
    case 'resetSender': {
      const c = counters.get(msg.id);
      if (c) c.lastSender = undefined;
      senderChanges.delete(msg.id);
      return;
    }
    case 'streams':
      run(msg.options, msg.readable, msg.writable);
      return;
    case 'attestation':
      evidence.setEnabled(msg.on);
      return;
    case 'attested':
      evidence.accept(msg);
      return;
    case 'clip': {
      const clip = evidence.clip(msg.leafIndex, msg.seconds);
      const transfer = clip
        ? [
            ...clip.frames.map((f) => f.data.buffer),
            ...clip.keys.flatMap((k) => [k.key.buffer, k.salt.buffer]),
          ]
        : [];
      scope.postMessage({ type: 'clip', id: msg.id, clip }, transfer);
      return;
    }
  }
};

setInterval(() => {
  scope.postMessage({
    type: 'stats',
    epoch: keys.epoch === undefined ? undefined : String(keys.epoch),
    senders: [...evidence.senderStats()],
    transforms: [...counters].map(([id, c]) => [id, { ...c }]),
  });
}, STATS_INTERVAL_MS);
