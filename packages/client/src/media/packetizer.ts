import { randomInt } from 'node:crypto';
import { vp8Descriptor } from '@conclave/rtc';

/** Largest frame slice per video packet (the VP8 descriptor comes on top): stays well under a 1200-byte MTU budget with SRTP and extensions. */
export const VP8_MAX_SLICE = 1100;

export interface RtpPacketPlan {
  sequenceNumber: number;
  timestamp: number;
  marker: boolean;
  payload: Buffer;
}

/**
 * Turns encoded frames into RTP packet plans for one outgoing track: sequence numbers, timestamps
 * and (for VP8) payload descriptors. The peer connection's sender adds SSRC, payload type and
 * header extensions.
 */
export class RtpFramer {
  private seq = randomInt(0, 0x10000);
  private readonly tsBase = randomInt(0, 0x100000000);
  private readonly t0 = performance.now();
  private lastTs: number | undefined;

  constructor(
    readonly codec: 'opus' | 'vp8',
    /** RTP clock rate: 48 kHz for Opus, 90 kHz for video. */
    readonly clockRate: number,
  ) {}

  /**
   * The RTP timestamp for a new frame. An explicit timestamp is used as is; otherwise it follows
   * the wall clock, and is kept strictly increasing so two frames never share one (a receiver
   * reassembles by timestamp).
   */
  nextTimestamp(explicit?: number): number {
    let ts: number;
    if (explicit !== undefined) {
      ts = explicit >>> 0;
    } else {
      ts = (this.tsBase + Math.round(((performance.now() - this.t0) * this.clockRate) / 1000)) >>> 0;
      if (
        this.lastTs !== undefined &&
        ((ts - this.lastTs) >>> 0 === 0 || (ts - this.lastTs) >>> 0 > 0x80000000)
      ) {
        ts = (this.lastTs + 1) >>> 0;
      }
    }
    this.lastTs = ts;
    return ts;
  }

  /** Opus: one packet per frame. VP8: descriptor + slices of at most VP8_MAX_SLICE bytes, marker on the last. */
  packetize(frame: Uint8Array, timestamp: number): RtpPacketPlan[] {
    if (this.codec === 'opus') {
      return [{ sequenceNumber: this.nextSeq(), timestamp, marker: false, payload: Buffer.from(frame) }];
    }
    const plans: RtpPacketPlan[] = [];
    const count = Math.max(1, Math.ceil(frame.length / VP8_MAX_SLICE));
    // Even slices: a 2300-byte frame gives 767+767+766 rather than 1100+1100+100.
    const slice = Math.ceil(frame.length / count);
    for (let i = 0; i < count; i++) {
      const part = frame.subarray(i * slice, Math.min(frame.length, (i + 1) * slice));
      const payload = Buffer.allocUnsafe(part.length + 1);
      payload[0] = vp8Descriptor(i === 0);
      payload.set(part, 1);
      plans.push({ sequenceNumber: this.nextSeq(), timestamp, marker: i === count - 1, payload });
    }
    return plans;
  }

  private nextSeq(): number {
    const s = this.seq;
    this.seq = (this.seq + 1) & 0xffff;
    return s;
  }
}
