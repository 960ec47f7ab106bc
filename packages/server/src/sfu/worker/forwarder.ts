import {
  RTP_EXTENSION_URI,
  RtcpPayloadSpecificFeedback,
  RtpHeader,
  RtpPacket,
  type Extension,
  type RTCRtpTransceiver,
} from 'werift';
import { noop, type WorkerContext } from './context.js';
import { chooseLayer } from './layer-policy.js';
import type { PublishedStream, StreamForwarder } from './published-stream.js';

/** The subscriber state a forwarder reads on every packet. */
export interface SubscriberView {
  readonly id: string;
  readonly meetingId: string;
  readonly receiving: boolean;
}

/** RTCP payload-specific feedback message type of a Full Intra Request (RFC 5104). */
const FIR_FMT = 4;

/**
 * Copies one published stream to one subscriber, on one sendonly transceiver of the subscriber's
 * connection.
 *
 * - Nothing is sent until the subscriber answered the offer that introduced this transceiver
 *   (`activate`), so a reused m-line never carries a stream its StreamInfo does not name.
 * - Video starts, and switches simulcast layer, only at a VP8 key frame; meanwhile the
 *   publisher is asked for one (throttled by the stream).
 * - Sequence numbers and timestamps stay continuous across layer and stream changes: werift's
 *   sender applies an offset that we rebase (replaceRTP) at each switch.
 * - Header extensions: werift's sender writes its own (mid, abs-send-time) with the subscriber
 *   connection's ids; of the publisher's, only audio level is kept, re-numbered to the
 *   subscriber's id. Anything else would arrive under an id the subscriber mapped differently.
 */
export class Forwarder implements StreamForwarder {
  private active = false;
  private needKeyFrame: boolean;
  private currentRid: string | undefined;
  private targetRid: string | undefined;
  private preferredRid: string | null = null;
  private started = false;
  private lastSentAt = 0;
  private audioLevelOutId: number | undefined;
  private readonly unsubscribe: Array<() => void> = [];

  constructor(
    readonly stream: PublishedStream,
    readonly subscriber: SubscriberView,
    readonly transceiver: RTCRtpTransceiver,
    private readonly ctx: WorkerContext,
  ) {
    this.needKeyFrame = stream.kind === 'video';
    const sender = transceiver.sender;
    this.unsubscribe.push(
      sender.onPictureLossIndication.subscribe(() => this.onKeyFrameRequest()).unSubscribe,
    );
    this.unsubscribe.push(
      sender.onRtcp.subscribe((p) => {
        // werift only raises an event for PLI; FIR arrives here as PSFB FMT 4.
        if (p instanceof RtcpPayloadSpecificFeedback && p.feedback.count === FIR_FMT)
          this.onKeyFrameRequest();
      }).unSubscribe,
    );
    stream.forwarders.add(this);
    this.updateTarget();
  }

  get mid(): string | null {
    return this.transceiver.mid;
  }

  get isActive(): boolean {
    return this.active;
  }

  /** The subscriber's answer covering this transceiver was applied: start forwarding. */
  activate(): void {
    if (this.active) return;
    this.active = true;
    this.audioLevelOutId = this.transceiver.headerExtensions.find(
      (e) => e.uri === RTP_EXTENSION_URI.audioLevelIndication,
    )?.id;
    this.restartVideo();
  }

  /** Video must restart at a key frame (receiving turned on, publisher unmuted, ...). */
  restartVideo(): void {
    if (this.stream.kind !== 'video') return;
    this.needKeyFrame = true;
    if (this.active && this.subscriber.receiving) this.stream.requestKeyFrame(this.targetRid);
  }

  setPreferredLayer(rid: string | null): void {
    this.preferredRid = rid;
    this.updateTarget();
  }

  /** Re-run the layer policy; ask for a key frame on the new target so the switch can happen. */
  updateTarget(): void {
    const next = chooseLayer(this.stream.layerViews(), this.currentRid, this.preferredRid);
    if (next === this.targetRid) return;
    this.targetRid = next;
    if (next !== this.currentRid && this.active && this.subscriber.receiving)
      this.stream.requestKeyFrame(next);
  }

  /** The hot path: one packet of layer `rid` of the stream. */
  forward(rid: string, rtp: RtpPacket, keyFrameStart: boolean): void {
    if (!this.active || !this.subscriber.receiving) return;
    if (this.stream.kind === 'video') {
      const onCurrent = rid === this.currentRid && !this.needKeyFrame;
      if (rid === this.targetRid && !onCurrent) {
        // Start, restart or layer switch: only at a key frame of the target layer.
        if (keyFrameStart && this.senderReady()) {
          this.rebase(rtp);
          this.currentRid = rid;
          this.needKeyFrame = false;
          this.send(rtp);
        } else if (this.senderReady()) {
          // Until the subscriber's connection is up there is no point asking; it asks on connect.
          this.stream.requestKeyFrame(rid);
        }
        return;
      }
      // The current layer keeps flowing until the target's key frame arrives.
      if (onCurrent) this.send(rtp);
      return;
    }
    if (!this.started) {
      if (!this.senderReady()) return;
      this.rebase(rtp);
    }
    this.send(rtp);
  }

  detach(): void {
    this.active = false;
    this.stream.forwarders.delete(this);
    for (const u of this.unsubscribe.splice(0)) u();
  }

  private onKeyFrameRequest(): void {
    if (!this.active || !this.subscriber.receiving) return;
    this.stream.requestKeyFrame(this.currentRid ?? this.targetRid);
  }

  private senderReady(): boolean {
    const sender = this.transceiver.sender;
    // dtlsTransport is assigned when the transceiver is created (max-bundle); codec after negotiation.
    return sender.codec !== undefined && sender.dtlsTransport?.state === 'connected';
  }

  /**
   * Makes the next packet continue the subscriber's sequence and timestamp lines: werift's
   * replaceRTP computes offsets from the header it is given, so hand it a virtual previous packet.
   */
  private rebase(rtp: RtpPacket): void {
    const clock = this.stream.kind === 'audio' ? 48 : 90; // ticks per ms
    const gapMs = this.started ? Math.max(1, performance.now() - this.lastSentAt) : 20;
    const gap = Math.max(1, Math.round(gapMs * clock));
    this.transceiver.sender.replaceRTP({
      sequenceNumber: (rtp.header.sequenceNumber - 1) & 0xffff,
      timestamp: (rtp.header.timestamp - gap) >>> 0,
    });
    this.started = true;
  }

  private send(rtp: RtpPacket): void {
    const h = rtp.header;
    // werift's sendRtp rewrites the header it gets (ssrc, payload type, sequence, timestamp,
    // extensions) and keeps it for NACK: every subscriber needs its own header object.
    const header = new RtpHeader({
      payloadType: h.payloadType,
      sequenceNumber: h.sequenceNumber,
      timestamp: h.timestamp,
      marker: h.marker,
      ssrc: h.ssrc,
      extensions: this.mapExtensions(h.extensions),
    });
    this.transceiver.sender.sendRtp(new RtpPacket(header, rtp.payload)).catch(noop);
    this.ctx.counters.packetsForwarded++;
    this.lastSentAt = performance.now();
    if (this.ctx.config.tap) {
      // sendRtp rewrote the header synchronously, before its first await: these are the sent values.
      this.ctx.send({
        type: 'tap',
        record: {
          meetingId: this.subscriber.meetingId,
          from: this.stream.publisher.id,
          to: this.subscriber.id,
          kind: this.stream.kind,
          payloadType: header.payloadType,
          sequenceNumber: header.sequenceNumber,
          timestamp: header.timestamp,
          payload: new Uint8Array(rtp.payload),
        },
      });
    }
  }

  private mapExtensions(exts: Extension[]): Extension[] {
    const inId = this.stream.audioLevelId;
    const outId = this.audioLevelOutId;
    if (inId === undefined || outId === undefined || exts.length === 0) return [];
    for (const e of exts) if (e.id === inId) return [{ id: outId, payload: e.payload }];
    return [];
  }
}
