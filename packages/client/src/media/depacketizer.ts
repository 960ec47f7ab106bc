import { parseVp8Descriptor } from '@conclave/rtc';

export interface AssembledFrame {
  frame: Uint8Array;
  rtpTimestamp: number;
}

interface Pending {
  timestamp: number;
  parts: Map<number, Buffer>;
  firstSeq?: number;
  lastSeq?: number;
}

/** Pending frames kept at once; older incomplete frames are dropped. */
const MAX_PENDING = 8;

const seqDiff = (a: number, b: number): number => ((a - b + 0x8000) & 0xffff) - 0x8000;
const tsNewer = (a: number, b: number): boolean => a !== b && (a - b) >>> 0 < 0x80000000;

/**
 * Reassembles the frames of one received track.
 *
 * Opus: every packet is a frame. VP8: packets are grouped by RTP timestamp; a frame is complete
 * when its first packet (S bit, PID 0), its last packet (marker bit) and every sequence number
 * between them arrived. Frames are delivered in timestamp order: once a frame is delivered,
 * older incomplete frames are dropped (never delivered late or partial).
 */
export class FrameAssembler {
  private readonly pending = new Map<number, Pending>();
  private lastDelivered: number | undefined;

  constructor(readonly codec: 'opus' | 'vp8') {}

  /** Feeds one RTP packet; returns the frame it completes, if any. */
  push(seq: number, timestamp: number, marker: boolean, payload: Buffer): AssembledFrame | undefined {
    if (this.codec === 'opus') {
      if (payload.length === 0) return undefined;
      return { frame: new Uint8Array(payload), rtpTimestamp: timestamp };
    }
    if (this.lastDelivered !== undefined && !tsNewer(timestamp, this.lastDelivered)) return undefined;
    const descriptor = parseVp8Descriptor(payload);
    if (!descriptor) return undefined;

    let p = this.pending.get(timestamp);
    if (!p) {
      p = { timestamp, parts: new Map() };
      this.pending.set(timestamp, p);
      this.evict();
    }
    p.parts.set(seq, payload.subarray(descriptor.length));
    if (descriptor.frameStart) p.firstSeq = seq;
    if (marker) p.lastSeq = seq;
    if (p.firstSeq === undefined || p.lastSeq === undefined) return undefined;
    const n = seqDiff(p.lastSeq, p.firstSeq) + 1;
    if (n <= 0 || p.parts.size < n) return undefined;

    const chunks: Buffer[] = [];
    for (let i = 0; i < n; i++) {
      const part = p.parts.get((p.firstSeq + i) & 0xffff);
      if (!part) return undefined;
      chunks.push(part);
    }
    this.lastDelivered = timestamp;
    for (const ts of [...this.pending.keys()]) {
      if (!tsNewer(ts, timestamp)) this.pending.delete(ts);
    }
    return { frame: new Uint8Array(Buffer.concat(chunks)), rtpTimestamp: timestamp };
  }

  /** Forget everything (the track now carries another stream). */
  reset(): void {
    this.pending.clear();
    this.lastDelivered = undefined;
  }

  private evict(): void {
    while (this.pending.size > MAX_PENDING) {
      let oldest: number | undefined;
      for (const ts of this.pending.keys()) if (oldest === undefined || tsNewer(oldest, ts)) oldest = ts;
      if (oldest === undefined) return;
      this.pending.delete(oldest);
    }
  }
}
