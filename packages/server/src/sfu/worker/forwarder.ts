import type { RtpPacket } from 'werift';
import type { WorkerContext } from './context.js';
import type { EgressTrack } from './egress-track.js';
import { chooseLayer } from './layer-policy.js';
import type { PublishedStream, StreamForwarder } from './published-stream.js';

/** The subscriber state a forwarder reads on every packet. */
export interface SubscriberView {
  readonly id: string;
  readonly meetingId: string;
  readonly receiving: boolean;
}

/**
 * Asks the subscriber for an m-line: a forwarder without one was turned on (participant.ts).
 */
export type TrackRequest = (f: Forwarder) => void;

/**
 * Copies one published stream to one subscriber, on one m-line (`EgressTrack`) of the
 * subscriber's native connection.
 *
 * - A forwarder holds an m-line only while the subscriber may need it (`bind`, `unbind`): one
 *   made without one starts off, and the forwarding policy turning it on asks the subscriber
 *   for one (`TrackRequest`). So a subscriber's connection carries m-lines for what it is shown,
 *   not for every stream of the meeting.
 * - Nothing is sent until the subscriber answered the offer that put this stream on its m-line
 *   (`activate`), so a reused m-line never carries a stream its StreamInfo does not name.
 * - Video starts, and switches simulcast layer, only at a VP8 key frame; meanwhile the
 *   publisher is asked for one (throttled by the stream).
 * - Sequence numbers and timestamps stay continuous across layer and stream changes: the
 *   egress track rebases its offsets at each switch.
 * - Header extensions: of the publisher's, only the audio level is kept, under the id of our
 *   offer. Anything else would arrive under an id the subscriber mapped differently.
 * - The forwarding policy can turn the stream off for this subscriber (`setEnabled`: last-N,
 *   audio top speakers); video comes back at a key frame.
 */
export class Forwarder implements StreamForwarder {
  private active = false;
  private enabled: boolean;
  /** performance.now() when the policy last turned it off (-Infinity: never). */
  private offSince = -Infinity;
  private track: EgressTrack | undefined;
  private needKeyFrame: boolean;
  private current: string | undefined;
  private targetRid: string | undefined;
  private preferredRid: string | null = null;
  /** Audio: the first packet of this stream re-bases the m-line's sequence and time lines. */
  private started = false;
  /** What went out to this subscriber, cumulative. */
  readonly sent = { packets: 0, bytes: 0 };

  /**
   * @param track the m-line, when it has one from the start (then it starts on); without one it
   *   starts off, and `requestTrack` is asked for one when the policy turns it on.
   */
  constructor(
    readonly stream: PublishedStream,
    readonly subscriber: SubscriberView,
    track: EgressTrack | undefined,
    private readonly ctx: WorkerContext,
    private readonly requestTrack?: TrackRequest,
  ) {
    this.track = track;
    this.enabled = track !== undefined;
    this.needKeyFrame = stream.kind === 'video';
    stream.forwarders.add(this);
    this.updateTarget();
  }

  /** The m-line it forwards on, if it holds one. */
  get egress(): EgressTrack | undefined {
    return this.track;
  }

  /** How long the policy has had it off (ms; 0 while on). */
  offFor(now: number): number {
    return this.enabled ? 0 : now - this.offSince;
  }

  /** Puts the stream on an m-line; it flows once the offer naming it there is answered. */
  bind(track: EgressTrack): void {
    this.track = track;
    this.active = false;
    this.current = undefined;
    this.started = false;
    this.needKeyFrame = this.stream.kind === 'video';
  }

  /** Takes the stream off its m-line (the subscriber reuses it); returns the m-line. */
  unbind(): EgressTrack | undefined {
    const track = this.track;
    this.track = undefined;
    this.active = false;
    this.current = undefined;
    return track;
  }

  /** The simulcast layer (rid) this subscriber receives now, if any. */
  get currentRid(): string | undefined {
    return this.current;
  }

  get isEnabled(): boolean {
    return this.enabled;
  }

  get isActive(): boolean {
    return this.active;
  }

  /** The subscriber's answer covering this m-line was applied: start forwarding. */
  activate(): void {
    if (this.active || !this.track) return;
    this.active = true;
    this.restartVideo();
  }

  /** Video must restart at a key frame (receiving turned on, publisher unmuted, ...). */
  restartVideo(): void {
    if (this.stream.kind !== 'video') return;
    this.needKeyFrame = true;
    if (this.canAsk) this.stream.requestKeyFrame(this.targetRid);
  }

  /** The forwarding policy's switch: off, nothing of the stream goes to this subscriber. */
  setEnabled(on: boolean): void {
    if (on === this.enabled) return;
    this.enabled = on;
    if (!on) {
      this.offSince = performance.now();
      return;
    }
    if (!this.track) this.requestTrack?.(this);
    // Audio continues the subscriber's sequence line: the skipped packets would read as loss.
    this.started = false;
    this.restartVideo();
  }

  setPreferredLayer(rid: string | null): void {
    this.preferredRid = rid;
    this.updateTarget();
  }

  /** Re-run the layer policy; ask for a key frame on the new target so the switch can happen. */
  updateTarget(): void {
    const next = chooseLayer(this.stream.layerViews(), this.current, this.preferredRid);
    if (next === this.targetRid) return;
    this.targetRid = next;
    if (next !== this.current && this.canAsk) this.stream.requestKeyFrame(next);
  }

  /** The hot path: one packet of layer `rid` of the stream. */
  forward(rid: string, rtp: RtpPacket, keyFrameStart: boolean, audioLevel?: number): void {
    const egress = this.track;
    if (!this.flowing || !egress) return;
    if (this.stream.kind === 'video') {
      const onCurrent = rid === this.current && !this.needKeyFrame;
      if (rid === this.targetRid && !onCurrent) {
        // Start, restart or layer switch: only at a key frame of the target layer.
        if (keyFrameStart && egress.isOpen) {
          egress.rebase(rtp.header.sequenceNumber, rtp.header.timestamp);
          this.current = rid;
          this.needKeyFrame = false;
          this.send(egress, rtp, audioLevel);
        } else if (egress.isOpen) {
          // Until the subscriber's connection is up there is no point asking; it asks on connect.
          this.stream.requestKeyFrame(rid);
        }
        return;
      }
      // The current layer keeps flowing until the target's key frame arrives.
      if (onCurrent) this.send(egress, rtp, audioLevel);
      return;
    }
    if (!this.started) {
      if (!egress.isOpen) return;
      egress.rebase(rtp.header.sequenceNumber, rtp.header.timestamp);
      this.started = true;
    }
    this.send(egress, rtp, audioLevel);
  }

  detach(): void {
    this.active = false;
    this.stream.forwarders.delete(this);
  }

  /** The subscriber asked for a key frame on this m-line (PLI or FIR). */
  onKeyFrameRequest(): void {
    if (!this.flowing) return;
    this.stream.requestKeyFrame(this.current ?? this.targetRid);
  }

  private get flowing(): boolean {
    return this.active && this.enabled && this.subscriber.receiving;
  }

  /**
   * Whether a key frame asked for now could reach the subscriber: flowing and the m-line open.
   * Asked any earlier, the key frame comes before the m-line opens and is lost, and the ask
   * the 'open' event makes then falls inside the stream's 500 ms throttle: the video waited
   * for the next ask after it (~0.8 s for each joiner of a 10-member load run).
   */
  private get canAsk(): boolean {
    return this.flowing && this.track?.isOpen === true;
  }

  private send(egress: EgressTrack, rtp: RtpPacket, audioLevel: number | undefined): void {
    const h = rtp.header;
    const bytes = egress.send({
      marker: h.marker,
      sequenceNumber: h.sequenceNumber,
      timestamp: h.timestamp,
      payload: rtp.payload,
      audioLevel,
    });
    if (bytes === 0) return;
    this.sent.packets++;
    this.sent.bytes += bytes;
    this.ctx.counters.packetsForwarded++;
    if (this.ctx.config.tap) {
      this.ctx.send({
        type: 'tap',
        record: {
          meetingId: this.subscriber.meetingId,
          from: this.stream.publisher.id,
          to: this.subscriber.id,
          kind: this.stream.kind,
          payloadType: egress.payloadType,
          sequenceNumber: egress.lastSequenceNumber,
          timestamp: egress.lastTimestamp,
          payload: new Uint8Array(rtp.payload),
        },
      });
    }
  }
}
