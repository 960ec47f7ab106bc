import { randomInt } from 'node:crypto';
import nodeDataChannel, { type Audio, type Track, type Video } from 'node-datachannel';
import {
  OPUS_PT,
  VP8_PT,
  parseRtcp,
  roundTripMs,
  senderReport,
  writeRtp,
  type ReportBlock,
} from '@conclave/rtc';
import type { MediaKind } from '../ipc.js';

/** A track that sent nothing for this long is no sender: no more sender reports until it sends again. */
const SENDER_IDLE_MS = 2_500;

/** The header extension id of the audio level in every subscribe offer we make (RFC 6464). */
const EGRESS_AUDIO_LEVEL_ID = 1;
const AUDIO_LEVEL_URI = 'urn:ietf:params:rtp-hdrext:ssrc-audio-level';
/** Sent video packets kept for retransmission on NACK (about 2 s of 1 Mbit/s video). */
const HISTORY = 512;
const CLOCK_PER_MS: Record<MediaKind, number> = { audio: 48, video: 90 };
/**
 * Every packet of the worker is written here before libdatachannel copies it (sendMessageBinary
 * is synchronous): no allocation per packet and subscriber. Larger packets get their own buffer.
 */
const scratch = Buffer.allocUnsafe(2048);

/** What a forwarder hands the track for one packet: the publisher's header fields it keeps. */
export interface EgressPacket {
  marker: boolean;
  sequenceNumber: number;
  timestamp: number;
  payload: Uint8Array;
  /** The publisher's audio level byte (RFC 6464), forwarded under our id. */
  audioLevel?: number | undefined;
}

export interface EgressEvents {
  /**
   * libdatachannel opened the track (DTLS-SRTP up and the m-line negotiated). A track added by a
   * renegotiation opens a little after its answer is applied, on another thread: a key frame
   * that arrived in between was not sent, so video must ask for one now.
   */
  open(track: EgressTrack): void;
  /** The subscriber asked for a key frame of this track (PLI or FIR). */
  keyFrameRequest(track: EgressTrack): void;
  /** A receiver report block about this track, with the round trip it implies (ms) when known. */
  report(track: EgressTrack, block: ReportBlock, rttMs: number | undefined): void;
}

/**
 * One m-line of a subscriber's native (node-datachannel) connection: a sendonly track with our
 * own SSRC. The SFU writes every RTP header itself (sequence numbers and timestamps continue
 * across stream and layer switches, `rebase`), answers NACKs from a small history of what it
 * sent, sends a sender report per second, and reads the subscriber's RTCP for it.
 */
export class EgressTrack {
  readonly ssrc = randomInt(1, 0xffff_ffff);
  /** RTP payload type on this leg: ours (we offer), whatever the publisher used. */
  readonly payloadType: number;
  packets = 0;
  octets = 0;
  retransmitted = 0;
  private track: Track | undefined;
  private seqOffset = 0;
  private tsOffset = 0;
  private lastSeq = randomInt(0, 0xffff);
  private lastTs = randomInt(0, 0xffff_ffff);
  private lastSentAt = 0;
  private started = false;
  /**
   * What was sent, by sequence number modulo HISTORY (video only), to rebuild a packet on NACK:
   * our sequence number (-1: empty slot), timestamp and marker, and the publisher's payload (shared
   * by every subscriber, never copied).
   */
  private readonly history:
    | { seq: Int32Array; ts: Uint32Array; marker: Uint8Array; payload: Array<Uint8Array | undefined> }
    | undefined;

  constructor(
    readonly mid: string,
    readonly kind: MediaKind,
    private readonly events: EgressEvents,
  ) {
    this.payloadType = kind === 'audio' ? OPUS_PT : VP8_PT;
    this.history =
      kind === 'video'
        ? {
            seq: new Int32Array(HISTORY).fill(-1),
            ts: new Uint32Array(HISTORY),
            marker: new Uint8Array(HISTORY),
            payload: new Array<Uint8Array | undefined>(HISTORY),
          }
        : undefined;
  }

  /** This m-line's description: sendonly with our SSRC, for the connection's whole life. */
  description(): Audio | Video {
    const cname = 'conclave-sfu';
    const msid = `conclave-${this.mid}`;
    if (this.kind === 'audio') {
      const a = new nodeDataChannel.Audio(this.mid, 'SendOnly');
      a.addOpusCodec(OPUS_PT);
      a.parseSdpLine(`a=extmap:${EGRESS_AUDIO_LEVEL_ID} ${AUDIO_LEVEL_URI}`);
      a.addSSRC(this.ssrc, cname, msid, `${msid}-track`);
      return a;
    }
    const v = new nodeDataChannel.Video(this.mid, 'SendOnly');
    // addVP8Codec also writes rtcp-fb nack, nack pli and goog-remb; we add FIR.
    v.addVP8Codec(VP8_PT);
    v.parseSdpLine(`a=rtcp-fb:${VP8_PT} ccm fir`);
    v.addSSRC(this.ssrc, cname, msid, `${msid}-track`);
    return v;
  }

  /**
   * The connection added this m-line: RTCP for our SSRC reaches this track object. The wrapper
   * stays referenced while the connection lives: node-datachannel closes the native track when a
   * collected wrapper is destroyed.
   */
  attach(track: Track): void {
    this.track = track;
    track.onMessage((msg) => this.onRtcp(msg));
    track.onOpen(() => this.events.open(this));
  }

  get isOpen(): boolean {
    return this.track?.isOpen() === true;
  }

  /**
   * Makes the next packet (publisher sequence `seq`, timestamp `ts`) follow the last one sent:
   * one sequence number later, and later in time by the wall-clock gap (at least one tick).
   */
  rebase(seq: number, ts: number): void {
    const gapMs = this.started ? Math.max(1, performance.now() - this.lastSentAt) : 20;
    const gap = Math.max(1, Math.round(gapMs * CLOCK_PER_MS[this.kind]));
    this.seqOffset = (this.lastSeq + 1 - seq) & 0xffff;
    this.tsOffset = (this.lastTs + gap - ts) >>> 0;
    this.started = true;
  }

  /** Sequence number and timestamp of the newest packet sent (what a tap reports). */
  get lastSequenceNumber(): number {
    return this.lastSeq;
  }

  get lastTimestamp(): number {
    return this.lastTs;
  }

  /** The hot path: one packet to the subscriber. Returns the bytes sent (0: not sent). */
  send(p: EgressPacket): number {
    const track = this.track;
    if (!track) return 0;
    const sequenceNumber = (p.sequenceNumber + this.seqOffset) & 0xffff;
    const timestamp = (p.timestamp + this.tsOffset) >>> 0;
    const packet = writeRtp(
      {
        payloadType: this.payloadType,
        marker: p.marker,
        sequenceNumber,
        timestamp,
        ssrc: this.ssrc,
        audioLevel:
          p.audioLevel === undefined ? undefined : { id: EGRESS_AUDIO_LEVEL_ID, value: p.audioLevel },
      },
      p.payload,
      scratch,
    );
    try {
      if (!track.sendMessageBinary(packet)) return 0;
    } catch {
      // The track closed under us (the connection is going away): nothing to send to.
      return 0;
    }
    // Later in the subscriber's sequence only: a publisher's retransmission must not move it back.
    if (((sequenceNumber - this.lastSeq) & 0xffff) < 0x8000) {
      this.lastSeq = sequenceNumber;
      this.lastTs = timestamp;
    }
    this.lastSentAt = performance.now();
    this.packets++;
    this.octets += p.payload.byteLength;
    const h = this.history;
    if (h) {
      const slot = sequenceNumber % HISTORY;
      h.seq[slot] = sequenceNumber;
      h.ts[slot] = timestamp;
      h.marker[slot] = p.marker ? 1 : 0;
      h.payload[slot] = p.payload;
    }
    return packet.byteLength;
  }

  /**
   * A sender report (once a second): the NTP time now against where our RTP clock is now. Only
   * while the track is a sender (RFC 3550 §6.4: sent within the last SENDER_IDLE_MS): most
   * m-lines of a big meeting's subscriber carry nothing (last-N), and 50 subscribers with 98
   * m-lines each could make ~5,000 reports a second for streams none of them received. The first
   * packet after a pause is followed by a report within a second, as before it.
   */
  sendSenderReport(unixMs: number): void {
    const track = this.track;
    if (!track || !this.started) return;
    const elapsed = performance.now() - this.lastSentAt;
    if (elapsed > SENDER_IDLE_MS) return;
    const rtpTimestamp = (this.lastTs + Math.round(elapsed * CLOCK_PER_MS[this.kind])) >>> 0;
    const sr = senderReport({
      ssrc: this.ssrc,
      unixMs,
      rtpTimestamp,
      packets: this.packets,
      octets: this.octets,
    });
    try {
      track.sendMessageBinary(sr);
    } catch {
      /* closed */
    }
  }

  private onRtcp(msg: Buffer): void {
    const now = Date.now();
    for (const item of parseRtcp(msg)) {
      switch (item.type) {
        case 'reports':
          for (const b of item.blocks)
            if (b.ssrc === this.ssrc) this.events.report(this, b, roundTripMs(b, now));
          break;
        case 'pli':
          if (item.mediaSsrc === this.ssrc) this.events.keyFrameRequest(this);
          break;
        case 'fir':
          if (item.ssrcs.includes(this.ssrc)) this.events.keyFrameRequest(this);
          break;
        case 'nack':
          if (item.mediaSsrc === this.ssrc) this.retransmit(item.sequences);
          break;
      }
    }
  }

  private retransmit(sequences: readonly number[]): void {
    const track = this.track;
    const h = this.history;
    if (!track || !h) return;
    for (const seq of sequences) {
      const slot = seq % HISTORY;
      const payload = h.payload[slot];
      if (h.seq[slot] !== seq || !payload) continue;
      const packet = writeRtp(
        {
          payloadType: this.payloadType,
          marker: h.marker[slot] === 1,
          sequenceNumber: seq,
          timestamp: h.ts[slot] ?? 0,
          ssrc: this.ssrc,
        },
        payload,
        scratch,
      );
      try {
        track.sendMessageBinary(packet);
        this.retransmitted++;
      } catch {
        return;
      }
    }
  }
}
