import type { MediaSource } from '@conclave/protocol';
import { isVp8KeyFrameStart, vp8KeyFrameSize } from '@conclave/rtc';
import { RTP_EXTENSION_URI, type MediaStreamTrack, type RTCRtpTransceiver, type RtpPacket } from 'werift';
import type { MediaKind } from '../ipc.js';
import { KEY_FRAME_REQUEST_INTERVAL_MS, noop, type WorkerContext } from './context.js';
import type { LayerView } from './layer-policy.js';
import { countLevel, emptyLevelWindow, type LevelWindow } from './speakers.js';

/** The publisher state a stream reads on every packet. */
export interface PublisherView {
  readonly id: string;
  readonly muted: Record<MediaKind, boolean>;
}

/** What a stream asks of each forwarder copying it to a subscriber (`Forwarder`, forwarder.ts). */
export interface StreamForwarder {
  /** The stream's layers changed: choose the layer again. */
  updateTarget(): void;
  /** One packet of layer `rid`. */
  forward(rid: string, rtp: RtpPacket, keyFrameStart: boolean, audioLevel: number | undefined): void;
  /** Video must restart at a key frame (the publisher unmuted its video). */
  restartVideo(): void;
  /** The stream is closing. */
  detach(): void;
}

/** One RTP stream of a published track: the only one, or one simulcast encoding (rid). */
interface Layer {
  rid: string;
  ssrc: number | undefined;
  bytes: number;
  packets: number;
  rate: number;
  active: boolean;
  lastKeyFrameRequestAt: number;
  /** Frame size of the layer's last key frame (clear VP8 header). */
  width: number | undefined;
  height: number | undefined;
}

/** Weight of the newest window in the smoothed layer bitrate. */
const RATE_ALPHA = 0.5;

/**
 * A track a participant publishes (one m-line of its publish connection) and the forwarders
 * that copy it to subscribers. Payloads are never looked into beyond the clear bytes: the VP8
 * frame tag (key frames) and a key frame's size; of the header, the audio level (speakers.ts).
 */
export class PublishedStream {
  readonly layers = new Map<string, Layer>();
  readonly forwarders = new Set<StreamForwarder>();
  /** Key-frame requests actually sent to the publisher (after throttling). */
  keyFrameRequestsSent = 0;
  /** The publisher's id of the audio-level extension, forwarded under the subscriber's id. */
  audioLevelId: number | undefined;
  /**
   * The microphone's audio levels since the speaker ranking last read them (reset by it). Only
   * while not muted: a muted publisher does not become a speaker.
   */
  readonly levels: LevelWindow = emptyLevelWindow();
  /**
   * The microphone sent a packet without an audio level: it cannot be ranked as a speaker, so
   * it is forwarded to everybody. Until its first packet a microphone counts as silent.
   */
  levelless = false;
  private readonly watchedTracks = new Set<string>();
  private readonly unsubscribe: Array<() => void> = [];

  constructor(
    readonly publisher: PublisherView,
    readonly mid: string,
    readonly kind: MediaKind,
    readonly source: MediaSource,
    readonly transceiver: RTCRtpTransceiver,
    private readonly ctx: WorkerContext,
  ) {
    this.refreshExtensions();
    const sub = transceiver.onTrack.subscribe((track) => this.watchTrack(track));
    this.unsubscribe.push(sub.unSubscribe);
    for (const track of transceiver.receiver.tracks) this.watchTrack(track);
  }

  /** After a renegotiation of the publish connection: the extension ids may have changed. */
  refreshExtensions(): void {
    this.audioLevelId = this.transceiver.headerExtensions.find(
      (e) => e.uri === RTP_EXTENSION_URI.audioLevelIndication,
    )?.id;
  }

  /** Simulcast tracks (one per rid) appear as packets arrive, so tracks are watched as they come. */
  watchTrack(track: MediaStreamTrack): void {
    if (this.watchedTracks.has(track.uuid)) return;
    this.watchedTracks.add(track.uuid);
    const rid = track.rid ?? '';
    const sub = track.onReceiveRtp.subscribe((rtp) => this.onRtp(rid, rtp));
    this.unsubscribe.push(sub.unSubscribe);
  }

  /** The hot path: every packet the publisher sends on this track. */
  onRtp(rid: string, rtp: RtpPacket): void {
    this.ctx.counters.packetsIn++;
    let layer = this.layers.get(rid);
    if (!layer) {
      layer = {
        rid,
        ssrc: undefined,
        bytes: 0,
        packets: 0,
        rate: 0,
        active: true,
        lastKeyFrameRequestAt: -Infinity,
        width: undefined,
        height: undefined,
      };
      this.layers.set(rid, layer);
      for (const f of this.forwarders) f.updateTarget();
    }
    layer.ssrc = rtp.header.ssrc;
    layer.bytes += rtp.payload.length;
    layer.packets++;
    if (this.publisher.muted[this.kind]) return;
    // Padding-only packets (bandwidth probes) carry nothing to forward.
    if (rtp.payload.length === 0) return;
    const keyFrameStart = this.kind === 'video' && isVp8KeyFrameStart(rtp.payload);
    if (keyFrameStart) {
      const size = vp8KeyFrameSize(rtp.payload);
      if (size) {
        layer.width = size.width;
        layer.height = size.height;
      }
    }
    // The audio level byte, read once here for the speaker ranking and for every forwarder.
    let audioLevel: number | undefined;
    if (this.kind === 'audio') {
      const id = this.audioLevelId;
      if (id !== undefined) for (const e of rtp.header.extensions) if (e.id === id) audioLevel = e.payload[0];
      if (this.source === 'audio') {
        if (audioLevel === undefined) this.levelless = true;
        else countLevel(this.levels, audioLevel);
      }
    }
    for (const f of this.forwarders) f.forward(rid, rtp, keyFrameStart, audioLevel);
  }

  /**
   * Asks the publisher for a key frame on one layer (PLI), at most once per
   * KEY_FRAME_REQUEST_INTERVAL_MS per layer: many subscribers' PLIs become one.
   */
  requestKeyFrame(rid: string | undefined): void {
    if (this.kind !== 'video') return;
    const layer = rid === undefined ? undefined : this.layers.get(rid);
    const targets = layer ? [layer] : [...this.layers.values()];
    const now = performance.now();
    for (const l of targets) {
      if (l.ssrc === undefined || now - l.lastKeyFrameRequestAt < KEY_FRAME_REQUEST_INTERVAL_MS) continue;
      l.lastKeyFrameRequestAt = now;
      this.keyFrameRequestsSent++;
      this.transceiver.receiver.sendRtcpPLI(l.ssrc).catch(noop);
    }
  }

  /** Measurement window ended: update layer rates, then every forwarder's layer choice. */
  tick(windowMs: number): void {
    for (const l of this.layers.values()) {
      const rate = (l.bytes * 1000) / windowMs;
      l.rate = l.rate === 0 ? rate : RATE_ALPHA * rate + (1 - RATE_ALPHA) * l.rate;
      l.active = l.packets > 0;
      l.bytes = 0;
      l.packets = 0;
    }
    // Every stream, one layer included: a forwarder made while its only layer had a silent
    // window (video under ~4 fps, a still screen share) has no target until this runs again.
    for (const f of this.forwarders) f.updateTarget();
  }

  layerViews(): LayerView[] {
    return [...this.layers.values()].map((l) => ({
      rid: l.rid,
      rate: l.rate,
      active: l.active,
      width: l.width,
      height: l.height,
    }));
  }

  close(): void {
    for (const f of [...this.forwarders]) f.detach();
    for (const u of this.unsubscribe.splice(0)) u();
  }
}
