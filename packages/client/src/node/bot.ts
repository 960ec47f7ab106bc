import type { MediaSource } from '@conclave/protocol';
import { SFrameError } from '@conclave/crypto';
import type { ClientOptions } from '../client-options.js';
import { ConclaveClient } from '../client.js';
import type { MediaTransport } from '../media-transport.js';
import { LocalKeySink } from '../key-sink.js';
import type { ForwardingStatus, ViewRequest } from '../media-view.js';
import { nodeWebSocket } from './websocket.js';

/** A media transport that sends and receives whole encoded frames (NodeMediaPeer). */
export interface FrameTransport extends MediaTransport {
  sendFrame(source: 'audio' | 'camera', frame: Uint8Array, opts?: { keyFrame?: boolean }): void;
  onFrame(cb: (info: { participantId: string; source: MediaSource; frame: Uint8Array }) => void): void;
  onKeyFrameRequest?(cb: () => void): void;
}

export interface BotOptions {
  serverUrl: string;
  meetingId: string;
  name: string;
  hostSecret?: string;
  passcode?: string;
  /** Video frames per second (default 20, like Chromium's fake camera) and audio frames per second (default 50). */
  videoFps?: number;
  audioFps?: number;
  /** Creates the frame transport (a NodeMediaPeer); without it the bot does signaling and MLS only. */
  transport?: () => FrameTransport;
  /** Called with every frame the bot sends after protection: tests use it to record ciphertext. */
  onSent?: (source: 'audio' | 'camera', wire: Uint8Array) => void;
  /** Where the SDK puts the epoch keys (default: a new LocalKeySink); tests pass one that records them. */
  keySink?: LocalKeySink;
  /** Further SDK options (e.g. `admitJoiner`, `reconnect`). */
  clientOptions?: Partial<ClientOptions>;
}

export interface BotReport {
  id: string;
  framesSent: number;
  decryptedFrames: Record<string, number>;
  decryptFailures: number;
  epochs: number;
  securityCode: string;
}

const enc = new TextEncoder();
const dec = new TextDecoder();
const MAGIC = 'CONCLAVE-BOT';
/** A key frame every this many video frames (the SFU and receivers can start from it). */
const KEY_FRAME_INTERVAL = 40;

/**
 * A synthetic frame with a recognisable pattern: `CONCLAVE-BOT|name|source|seq|` followed by
 * filler derived from the sequence number, after the codec's clear bytes. VP8: the first byte
 * is a frame tag (bit 0 clear = key frame) and the pattern starts after the 10 clear bytes a
 * key frame keeps; Opus: a TOC byte, then the pattern.
 */
export function syntheticFrame(
  name: string,
  source: 'audio' | 'camera',
  seq: number,
  keyFrame: boolean,
): Uint8Array {
  const header =
    source === 'camera'
      ? // frame tag (3 bytes), start code 9d 01 2a, 640×480 (RFC 6386 §9.1): the SFU reads the size
        new Uint8Array([keyFrame ? 0x10 : 0x11, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0xe0, 0x01])
      : new Uint8Array([0x78]);
  const pattern = enc.encode(`${MAGIC}|${name}|${source}|${seq}|`);
  const size = source === 'camera' ? (keyFrame ? 2_500 : 900) : 80;
  const frame = new Uint8Array(Math.max(size, header.length + pattern.length));
  frame.set(header);
  frame.set(pattern, header.length);
  for (let i = header.length + pattern.length; i < frame.length; i++) frame[i] = (seq * 31 + i) & 0xff;
  return frame;
}

/** Checks a received plaintext frame: returns the sender name in its pattern when the whole frame is as generated. */
export function checkSyntheticFrame(frame: Uint8Array, source: MediaSource): string | undefined {
  const start = source === 'camera' ? 10 : 1;
  const text = dec.decode(frame.subarray(start, Math.min(frame.length, start + 120)));
  const m = /^CONCLAVE-BOT\|([^|]+)\|(audio|camera)\|(\d+)\|/.exec(text);
  if (!m || m[2] !== source) return undefined;
  const expected = syntheticFrame(
    m[1]!,
    source as 'audio' | 'camera',
    Number(m[3]),
    source === 'camera' && (frame[0]! & 1) === 0,
  );
  if (expected.length !== frame.length) return undefined;
  for (let i = 0; i < frame.length; i++) if (expected[i] !== frame[i]) return undefined;
  return m[1];
}

/**
 * A bot participant: joins a meeting through the SDK, publishes synthetic audio and video
 * through SFrame (E2EE meetings) and verifies every frame it receives from the others.
 */
export class Bot {
  readonly client: ConclaveClient;
  readonly keySink: LocalKeySink;
  private transport: FrameTransport | undefined;
  private timers: NodeJS.Timeout[] = [];
  private seq = { audio: 0, camera: 0 };
  private forceKeyFrame = true;
  framesSent = 0;
  /** Frames that failed authentication or whose content did not match its MLS sender. */
  decryptFailures = 0;
  /**
   * Frames for which this bot holds no key: sent before it joined the group, in an epoch it
   * is not in (after it left or was refused), or in a newer epoch during a commit's
   * round trip. Dropped, like failures, but not a sign of tampering.
   */
  framesWithoutKey = 0;
  readonly decrypted = new Map<string, number>();
  readonly epochs = new Set<bigint>();

  constructor(readonly opts: BotOptions) {
    // The bot encrypts in this process: the sink is a MediaKeys it protects and unprotects with.
    this.keySink = opts.keySink ?? new LocalKeySink();
    this.client = new ConclaveClient({
      keySink: this.keySink,
      serverUrl: opts.serverUrl,
      meetingId: opts.meetingId,
      displayName: opts.name,
      hostSecret: opts.hostSecret,
      passcode: opts.passcode,
      webSocket: nodeWebSocket,
      media: opts.transport ? () => this.attach(opts.transport!()) : undefined,
      ...opts.clientOptions,
    });
    this.client.on('epoch', (epoch) => this.epochs.add(epoch));
  }

  get id(): string {
    return this.opts.name;
  }

  async start(): Promise<'joined' | 'waiting'> {
    const state = await this.client.connect();
    const video = 1000 / (this.opts.videoFps ?? 20);
    const audio = 1000 / (this.opts.audioFps ?? 50);
    this.timers.push(setInterval(() => void this.send('camera'), video));
    this.timers.push(setInterval(() => void this.send('audio'), audio));
    return state;
  }

  async stop(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    await this.client.leave();
  }

  /** What this bot shows (`ConclaveClient.setView`): the SFU forwards it only that. */
  setView(view: ViewRequest): void {
    this.client.setView(view);
  }

  /** The SFU's last `media_status` for this bot (`ConclaveClient.mediaStatus`). */
  mediaStatus(): ForwardingStatus | undefined {
    return this.client.mediaStatus();
  }

  report(): BotReport {
    return {
      id: this.id,
      framesSent: this.framesSent,
      decryptedFrames: Object.fromEntries(this.decrypted),
      decryptFailures: this.decryptFailures,
      epochs: this.epochs.size,
      securityCode: this.client.e2ee.securityCode ?? '',
    };
  }

  private attach(t: FrameTransport): FrameTransport {
    this.transport = t;
    t.onFrame((info) => void this.receive(info.participantId, info.source, info.frame));
    t.onKeyFrameRequest?.(() => (this.forceKeyFrame = true));
    return t;
  }

  private async send(source: 'audio' | 'camera'): Promise<void> {
    const t = this.transport;
    if (!t || this.client.state !== 'joined') return;
    const e2ee = this.client.e2ee;
    if (e2ee.enabled && !e2ee.active) return; // never send media in clear in an E2EE meeting
    const seq = this.seq[source]++;
    const keyFrame = source === 'camera' && (this.forceKeyFrame || seq % KEY_FRAME_INTERVAL === 0);
    if (keyFrame) this.forceKeyFrame = false;
    const frame = syntheticFrame(this.id, source, seq, keyFrame);
    let wire = frame;
    if (e2ee.enabled) {
      try {
        wire = await this.keySink.protect(source, source === 'camera' ? 'vp8' : 'opus', frame);
      } catch (e) {
        // the keys were dropped while this frame was encrypted (left, removed): it is not sent
        if (e instanceof SFrameError) return;
        throw e;
      }
    }
    this.opts.onSent?.(source, wire);
    t.sendFrame(source, wire, { keyFrame });
    this.framesSent++;
  }

  private async receive(participantId: string, source: MediaSource, data: Uint8Array): Promise<void> {
    if (source !== 'audio' && source !== 'camera') return;
    let frame = data;
    let claimed: string | undefined;
    if (this.client.e2ee.enabled) {
      try {
        const out = await this.keySink.unprotect(source === 'camera' ? 'vp8' : 'opus', data);
        frame = out.frame;
        // The sender is who the MLS group says holds that leaf, not who the server says.
        claimed = this.client.roster().find((m) => m.leafIndex === out.senderIndex)?.identity.displayName;
      } catch (e) {
        if ((e as { code?: string }).code === 'unknown_kid') this.framesWithoutKey++;
        else this.decryptFailures++;
        return;
      }
    } else {
      claimed = this.client.participants().find((p) => p.id === participantId)?.displayName;
    }
    const name = checkSyntheticFrame(frame, source);
    if (!name || name !== claimed) {
      this.decryptFailures++;
      return;
    }
    this.decrypted.set(name, (this.decrypted.get(name) ?? 0) + 1);
  }
}
