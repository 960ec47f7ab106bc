import {
  DEFAULT_SUITE,
  getSuite,
  type BufferedClip,
  type FrameBatch,
  type MediaContext,
  type SenderStats,
  type VerifiedHashes,
} from '@conclave/crypto';
import { KeyConfirmation } from '../key-confirmation.js';
import type { MediaKeySink } from '../key-sink.js';
import type {
  FromWorker,
  SenderReport,
  ToWorker,
  TransformCodec,
  TransformOptions,
  WorkerStats,
} from './worker-protocol.js';

/**
 * How this browser can run a function on every encoded frame:
 * - 'script-transform': RTCRtpScriptTransform (WebRTC Encoded Transform; Chromium 141+,
 *   Firefox, Safari). Preferred.
 * - 'encoded-streams': the older Chromium-only `createEncodedStreams()`, which needs
 *   `encodedInsertableStreams: true` in the RTCPeerConnection configuration.
 */
export type E2eeApi = 'script-transform' | 'encoded-streams';

interface EncodedStreams {
  readable: ReadableStream<{ data: ArrayBuffer }>;
  writable: WritableStream<{ data: ArrayBuffer }>;
}
interface WithEncodedStreams {
  createEncodedStreams(): EncodedStreams;
}
function hasEncodedStreams(x: unknown): x is WithEncodedStreams {
  return typeof (x as Partial<WithEncodedStreams>).createEncodedStreams === 'function';
}

/** The API to use; `prefer` (a test switch) can pick the fallback where both exist. */
export function detectE2eeApi(prefer?: E2eeApi): E2eeApi | undefined {
  const script = typeof RTCRtpScriptTransform === 'function';
  const streams = typeof RTCRtpSender !== 'undefined' && hasEncodedStreams(RTCRtpSender.prototype);
  if (prefer === 'encoded-streams' && streams) return prefer;
  if (script) return 'script-transform';
  if (streams) return 'encoded-streams';
  return undefined;
}

/** Why E2EE cannot run here, as a sentence for the user, or undefined when it can. */
export function e2eeUnsupportedReason(): string | undefined {
  if (!window.isSecureContext || !globalThis.crypto?.subtle) {
    return 'This page was not loaded over HTTPS, so the browser withholds the cryptography that end-to-end encryption needs. Open the meeting link with https:// (or ask whoever runs this server to enable HTTPS).';
  }
  if (typeof RTCPeerConnection === 'undefined') {
    return 'This browser has no WebRTC, which video meetings need. Use a current version of Chrome, Edge, Firefox or Safari.';
  }
  if (!detectE2eeApi()) {
    return 'This browser cannot encrypt video and audio end-to-end (it lacks WebRTC Encoded Transform). Join from a current version of Chrome, Edge, Firefox or Safari.';
  }
  return undefined;
}

/** Who sends on a receiver, as its decrypted frames prove: an MLS leaf index, and since when (ms). */
export interface ReceiverSender {
  leafIndex: number;
  since: number;
}

/**
 * End-to-end media encryption in a browser, and the SDK's key sink there: owns the E2EE worker
 * (e2ee-worker.ts), which holds the only copy of the epoch keys and encrypts and decrypts every
 * encoded frame; attaches a transform to every sender and receiver; collects the worker's
 * counters once a second and each receiver's MLS sender when it changes.
 *
 * Pass it to the client as `keySink`: the SDK hands it each epoch's base key (moved to the
 * worker, none kept on this thread), and `confirmedEpoch` — hence `client.e2ee.active` and the
 * page's badge — is the epoch the worker acknowledged it installed, not what the page hoped.
 * One per meeting session (it outlives reconnects, whose new peer connections attach to the
 * same worker).
 */
export class BrowserE2ee implements MediaKeySink {
  readonly suite: number;
  readonly nk: number;
  private readonly worker: Worker;
  private nextId = 1;
  private latest: WorkerStats = { type: 'stats', epoch: undefined, senders: [], transforms: [] };
  private latestSenders: ReadonlyMap<number, SenderStats> = new Map();
  /** Only the worker's acknowledgement of the key handed over last counts. */
  private readonly confirmation = new KeyConfirmation();
  private readonly listeners = new Set<() => void>();
  private readonly statsListeners = new Set<(s: WorkerStats) => void>();
  private readonly senderListeners = new Set<() => void>();
  private readonly receiverSenders = new Map<number, ReceiverSender>();
  private readonly batchListeners = new Set<(batch: FrameBatch) => void>();
  private readonly clips = new Map<number, (clip: BufferedClip | undefined) => void>();

  constructor(
    readonly api: E2eeApi,
    suite: number = DEFAULT_SUITE,
  ) {
    this.suite = suite;
    this.nk = getSuite(suite).Nk;
    // Bundlers (Vite) turn this into a module worker (the app's vite.config.ts: worker.format = 'es').
    this.worker = new Worker(new URL('./e2ee-worker.ts', import.meta.url), {
      type: 'module',
      name: 'conclave-e2ee',
    });
    this.worker.onmessage = (ev: MessageEvent<FromWorker>) => this.onWorkerMessage(ev.data);
    this.post({ type: 'init', suite });
  }

  // ---------------------------------------------------------------- MediaKeySink

  get confirmedEpoch(): bigint | undefined {
    return this.confirmation.confirmed;
  }

  setEpoch(epoch: bigint, baseKey: Uint8Array, ownLeafIndex: number): void {
    // A copy moves to the worker (transferred: no second copy stays behind on this side).
    const copy = baseKey.slice();
    this.confirmation.handedOver(epoch);
    this.post({ type: 'key', epoch, baseKey: copy, ownLeafIndex }, [copy.buffer]);
  }

  forget(): void {
    this.post({ type: 'forget' });
    // Not active from now on, without waiting for the worker.
    if (this.confirmation.forgotten()) this.changed();
  }

  senderStats(): ReadonlyMap<number, SenderStats> {
    return this.latestSenders;
  }

  onChange(cb: () => void): () => void {
    this.listeners.add(cb);
    return () => this.listeners.delete(cb);
  }

  setAttestation(on: boolean): void {
    this.post({ type: 'attestation', on });
  }

  onFrameBatch(cb: (batch: FrameBatch) => void): () => void {
    this.batchListeners.add(cb);
    return () => this.batchListeners.delete(cb);
  }

  acceptAttestation(hashes: VerifiedHashes): void {
    const { leafIndex, context, epoch } = hashes;
    this.post({ type: 'attested', leafIndex, context, epoch, hashes: hashes.hashes });
  }

  /** The worker's buffered ciphertext of `leafIndex` (frames and their KIDs' key material). */
  clip(leafIndex: number, seconds: number): Promise<BufferedClip | undefined> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.clips.set(id, resolve);
      this.post({ type: 'clip', id, leafIndex, seconds });
    });
  }

  // ---------------------------------------------------------------- transforms

  /** Extra RTCPeerConnection configuration the chosen API needs. */
  peerConnectionConfig(): RTCConfiguration {
    // `encodedInsertableStreams` is a Chromium extension of RTCConfiguration (not in lib.dom).
    return this.api === 'encoded-streams' ? ({ encodedInsertableStreams: true } as RTCConfiguration) : {};
  }

  /** The worker's last report: the epoch it encrypts with, per-sender and per-transform counters. */
  stats(): WorkerStats {
    return this.latest;
  }

  onStats(cb: (s: WorkerStats) => void): () => void {
    this.statsListeners.add(cb);
    return () => this.statsListeners.delete(cb);
  }

  /** The MLS leaf index whose key decrypts the frames arriving on receiver `transformId`, once known. */
  senderOf(transformId: number): ReceiverSender | undefined {
    return this.receiverSenders.get(transformId);
  }

  /** Called whenever a receiver's sender changes (or is forgotten). */
  onSenders(cb: () => void): () => void {
    this.senderListeners.add(cb);
    return () => this.senderListeners.delete(cb);
  }

  /** The receiver now carries another stream (the SFU recycled its m-line): its sender is unknown again. */
  resetSender(transformId: number): void {
    this.post({ type: 'resetSender', id: transformId });
    if (this.receiverSenders.delete(transformId)) for (const cb of this.senderListeners) cb();
  }

  /** Encrypts everything `sender` sends (from the first frame: frames without a key are dropped). */
  protectSender(sender: RTCRtpSender, context: MediaContext, codec: TransformCodec): number {
    const id = this.nextId++;
    this.attach(sender, { operation: 'encrypt', id, context, codec });
    return id;
  }

  /** Decrypts everything `receiver` receives; frames that fail are dropped in the worker. */
  protectReceiver(receiver: RTCRtpReceiver, codec: TransformCodec): number {
    const id = this.nextId++;
    this.attach(receiver, { operation: 'decrypt', id, codec });
    return id;
  }

  close(): void {
    for (const resolve of this.clips.values()) resolve(undefined);
    this.clips.clear();
    this.batchListeners.clear();
    this.listeners.clear();
    this.statsListeners.clear();
    this.senderListeners.clear();
    this.worker.terminate();
    this.confirmation.forgotten();
  }

  private onWorkerMessage(msg: FromWorker): void {
    switch (msg.type) {
      case 'senders':
        this.onSenderReport(msg);
        return;
      case 'keyAck':
        if (this.confirmation.acknowledged(msg.epoch)) this.changed();
        return;
      case 'frameBatch':
        for (const cb of this.batchListeners) cb(msg.batch);
        return;
      case 'clip': {
        const resolve = this.clips.get(msg.id);
        this.clips.delete(msg.id);
        resolve?.(msg.clip);
        return;
      }
      case 'stats':
        this.latest = msg;
        this.latestSenders = new Map(msg.senders);
        for (const cb of this.statsListeners) cb(msg);
        this.changed();
        return;
    }
  }

  private changed(): void {
    for (const cb of this.listeners) cb();
  }

  private onSenderReport(r: SenderReport): void {
    const now = Date.now();
    for (const [id, leafIndex] of r.changes) {
      if (this.receiverSenders.get(id)?.leafIndex !== leafIndex)
        this.receiverSenders.set(id, { leafIndex, since: now });
    }
    for (const cb of this.senderListeners) cb();
  }

  private attach(target: RTCRtpSender | RTCRtpReceiver, options: TransformOptions): void {
    if (this.api === 'script-transform') {
      target.transform = new RTCRtpScriptTransform(this.worker, options);
      return;
    }
    if (!hasEncodedStreams(target)) throw new Error('createEncodedStreams is not available');
    const { readable, writable } = target.createEncodedStreams();
    this.post({ type: 'streams', options, readable, writable }, [readable, writable]);
  }

  private post(msg: ToWorker, transfer: Transferable[] = []): void {
    this.worker.postMessage(msg, transfer);
  }
}
