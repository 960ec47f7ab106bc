import type { IceCandidate, MediaSource, StreamInfo } from '@conclave/protocol';
import { FrameAssembler } from './depacketizer.js';

/** What both Node media peers (werift `NodeMediaPeer`, libdatachannel `NativeMediaPeer`) share. */
export type PcKind = 'publish' | 'subscribe';
/** The published sources of a bot: one Opus track and one VP8 camera track. */
export type BotSource = 'audio' | 'camera';

export interface ReceivedFrame {
  participantId: string;
  source: MediaSource;
  frame: Uint8Array;
  rtpTimestamp: number;
}

export interface SendFrameOptions {
  /** Asserted against the frame's VP8 key-frame bit (bit 0 of byte 0 == 0): the SFU reads that bit, not this flag. */
  keyFrame?: boolean;
  /** RTP timestamp in the track's clock (48 kHz audio, 90 kHz video). Default: from the wall clock, strictly increasing. */
  timestamp?: number;
}

export interface NodeMediaPeerOptions {
  /** Only 127.0.0.1 candidates (tests in a loopback-only network namespace). */
  loopbackOnly?: boolean;
}

export type Unsubscribe = () => void;

export function listen<A extends unknown[]>(set: Set<(...a: A) => void>, cb: (...a: A) => void): Unsubscribe {
  set.add(cb);
  return () => set.delete(cb);
}

/** The audio-level extension's one byte (RFC 6464) for `dBov` (0 loudest, -127 silence). */
export function audioLevelByte(dBov: number, voice: boolean): number {
  if (!Number.isFinite(dBov)) throw new RangeError('setAudioLevel: dBov must be a number from -127 to 0');
  const level = Math.min(127, Math.max(0, Math.round(-dBov)));
  return (voice ? 0x80 : 0) | level;
}

/** Throws when a caller's `keyFrame` flag disagrees with the VP8 frame tag the SFU will read. */
export function checkKeyFrameFlag(source: BotSource, frame: Uint8Array, keyFrame: boolean | undefined): void {
  if (source !== 'camera' || keyFrame === undefined) return;
  const isKey = frame.length > 0 && ((frame[0] ?? 1) & 0x01) === 0;
  if (isKey !== keyFrame) {
    throw new TypeError(
      `sendFrame: keyFrame=${keyFrame} but the VP8 frame tag says ${isKey ? 'key' : 'delta'} frame`,
    );
  }
}

interface InboundTrack {
  assembler: FrameAssembler;
  /** The stream this mid carried when its assembler was last reset. */
  streamKey: string | undefined;
}

/**
 * The receiving side of a subscribe connection: which participant and source each mid carries
 * (the StreamInfo list of the SFU's current offer), a frame assembler per mid (reset when the
 * mid carries another stream), and the frame listeners.
 */
export class InboundStreams {
  private streams = new Map<string, StreamInfo>();
  private readonly tracks = new Map<string, InboundTrack>();
  readonly frameListeners = new Set<(f: ReceivedFrame) => void>();

  /** A new offer's StreamInfo list. */
  update(streams: StreamInfo[]): void {
    this.streams = new Map(streams.map((s) => [s.mid, s]));
    for (const [mid, track] of this.tracks) {
      const info = this.streams.get(mid);
      const key = info ? `${info.participantId}/${info.source}` : undefined;
      if (key !== track.streamKey) {
        track.assembler.reset();
        track.streamKey = key;
      }
    }
  }

  /** A receiving m-line appeared (false: it was known). */
  addTrack(mid: string, kind: 'audio' | 'video'): boolean {
    if (this.tracks.has(mid)) return false;
    const info = this.streams.get(mid);
    this.tracks.set(mid, {
      assembler: new FrameAssembler(kind === 'audio' ? 'opus' : 'vp8'),
      streamKey: info ? `${info.participantId}/${info.source}` : undefined,
    });
    return true;
  }

  /** One RTP packet on `mid`: a completed frame goes to the listeners. */
  push(mid: string, seq: number, timestamp: number, marker: boolean, payload: Buffer): void {
    const info = this.streams.get(mid);
    const track = this.tracks.get(mid);
    if (!info || !track) return;
    const done = track.assembler.push(seq, timestamp, marker, payload);
    if (!done) return;
    const frame: ReceivedFrame = {
      participantId: info.participantId,
      source: info.source,
      frame: done.frame,
      rtpTimestamp: done.rtpTimestamp,
    };
    for (const cb of this.frameListeners) cb(frame);
  }

  /** The mid that carries a participant's source, if any. */
  midOf(participantId: string, source: MediaSource): string | undefined {
    for (const [mid, info] of this.streams) {
      if (info.participantId === participantId && info.source === source) return mid;
    }
    return undefined;
  }

  current(): StreamInfo[] {
    return [...this.streams.values()];
  }
}

/** The surface both Node media peers offer (bots, tests, the load tool). */
export interface BotMediaPeer {
  createPublishOffer(): Promise<string>;
  applyPublishAnswer(sdp: string): Promise<void>;
  handleSubscribeOffer(sdp: string, streams: StreamInfo[]): Promise<string>;
  addIce(pc: PcKind, candidate: IceCandidate): Promise<void>;
  onIce(cb: (pc: PcKind, candidate: IceCandidate) => void): Unsubscribe;
  onFrame(cb: (info: ReceivedFrame) => void): Unsubscribe;
  onKeyFrameRequest(cb: (source: BotSource) => void): Unsubscribe;
  setAudioLevel(dBov: number | null, voice?: boolean): void;
  readonly audioLevelExtensionId: number | undefined;
  sendFrame(source: BotSource, frame: Uint8Array, opts?: SendFrameOptions): Promise<void>;
  requestKeyFrame(participantId: string, source: MediaSource): Promise<boolean>;
  connectionState(pc: PcKind): string;
  waitConnected(pc: PcKind, timeoutMs?: number): Promise<void>;
  currentStreams(): StreamInfo[];
  close(): Promise<void>;
}
