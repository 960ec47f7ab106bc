/**
 * The receiver's rolling buffer of SFrame ciphertext, for clips (issue 13): per sender leaf, the
 * frames that decrypted in the last `windowMs` (60 s by default), untouched, with the time they
 * arrived, and the key material (sframe_key, sframe_salt: RFC 9605 §4.4.2) of each KID they
 * were protected under — that KID's key only, which opens that sender's stream of one context in
 * one epoch and nothing else.
 *
 * Deliberate: MediaKeys drops an epoch's keys 5 s after the next epoch arrives; this buffer keeps
 * the derived keys of KIDs it still holds frames of, so a clip can carry them. They go with the
 * last frame of their KID, so what it keeps is bounded by the buffer itself: `windowMs`, and at
 * most `maxBytes` (64 MiB) of frames in all, the oldest dropped first.
 *
 * Decodable clips: a VP8 stream only decodes from a key frame, and browsers send one only when
 * asked (a new receiver, packet loss), so the last one can be minutes old. The buffer keeps the
 * most recent key frame of each video stream (sender leaf and context) even after it leaves the
 * window (still within `maxBytes`), and a clip whose stream starts with delta frames begins with
 * that key frame: the first picture is right, the delta frames between it and the clip (no
 * longer buffered) are missing, so the picture may show artifacts until the next key frame.
 * When that key frame is still in the window, the clip includes every frame from it on instead.
 */
import { isVp8KeyFrame } from '../sframe/codec.js';
import type { MediaContext } from '../media/kid.js';

export type ClipCodec = 'vp8' | 'opus';

export interface KidKeyMaterial {
  key: Uint8Array;
  salt: Uint8Array;
}

interface Buffered {
  leafIndex: number;
  context: MediaContext;
  codec: ClipCodec;
  kid: bigint;
  at: number;
  data: Uint8Array;
  keyFrame: boolean;
}

/** A clip as the buffer holds it: raw bytes, KIDs as bigints (the SDK builds the wire form). */
export interface BufferedClip {
  leafIndex: number;
  frames: { at: number; codec: ClipCodec; data: Uint8Array }[];
  keys: ({ kid: bigint } & KidKeyMaterial)[];
}

export interface FrameBufferOptions {
  windowMs?: number;
  maxBytes?: number;
  /** Frames larger than this are not kept (a clip carries at most 1 MiB of base64 per frame). */
  maxFrameBytes?: number;
  /** Longest span of a clip, ms (protocol MAX_CLIP_MS), not counting a leading older key frame. */
  maxClipMs?: number;
  /** Most frames in one clip (protocol MAX_CLIP_FRAMES): the newest are kept. */
  maxClipFrames?: number;
  now?: () => number;
}

export const DEFAULT_CLIP_WINDOW_MS = 60_000;
const DEFAULT_MAX_BYTES = 64 * 1024 * 1024;

const streamKey = (leafIndex: number, context: MediaContext): string => `${leafIndex}/${context}`;

export class FrameBuffer {
  readonly windowMs: number;
  private readonly maxBytes: number;
  private readonly maxFrameBytes: number;
  private readonly maxClipMs: number;
  private readonly maxClipFrames: number;
  private readonly now: () => number;
  /** Frames in the window, per sender leaf, oldest first. */
  private readonly byLeaf = new Map<number, Buffered[]>();
  /** The latest key frame of each video stream (in the window or not). */
  private readonly latestKey = new Map<string, Buffered>();
  /** Latest key frames that left the window and are kept for clips. */
  private readonly pinned = new Set<Buffered>();
  private readonly keys = new Map<bigint, KidKeyMaterial & { refs: number }>();
  private bytes = 0;

  constructor(opts: FrameBufferOptions = {}) {
    this.windowMs = opts.windowMs ?? DEFAULT_CLIP_WINDOW_MS;
    this.maxBytes = opts.maxBytes ?? DEFAULT_MAX_BYTES;
    this.maxFrameBytes = opts.maxFrameBytes ?? 700 * 1024;
    this.maxClipMs = opts.maxClipMs ?? 60_000;
    this.maxClipFrames = opts.maxClipFrames ?? 6_000;
    this.now = opts.now ?? (() => Date.now());
  }

  /** Bytes of frames held (pinned key frames included). */
  get size(): number {
    return this.bytes;
  }

  /** Whether the buffer still needs the key material of `kid` to keep a frame of it. */
  needsKey(kid: bigint): boolean {
    return !this.keys.has(kid);
  }

  /**
   * A frame that decrypted under `kid` (a KID of `leafIndex`, `context`), as it arrived. `key` is
   * required the first time a KID is seen (see needsKey); a copy is kept.
   */
  add(
    leafIndex: number,
    context: MediaContext,
    codec: ClipCodec,
    kid: bigint,
    data: Uint8Array,
    key?: KidKeyMaterial,
  ): void {
    const now = this.now();
    this.prune(now);
    if (data.length > this.maxFrameBytes || data.length > this.maxBytes) return;
    let k = this.keys.get(kid);
    if (!k) {
      if (!key) return;
      k = { key: key.key.slice(), salt: key.salt.slice(), refs: 0 };
      this.keys.set(kid, k);
    }
    k.refs++;
    const f: Buffered = {
      leafIndex,
      context,
      codec,
      kid,
      at: now,
      data: data.slice(),
      keyFrame: codec === 'vp8' && isVp8KeyFrame(data),
    };
    let list = this.byLeaf.get(leafIndex);
    if (!list) {
      list = [];
      this.byLeaf.set(leafIndex, list);
    }
    list.push(f);
    this.bytes += f.data.length;
    if (f.keyFrame) {
      const s = streamKey(leafIndex, context);
      const old = this.latestKey.get(s);
      this.latestKey.set(s, f);
      if (old && this.pinned.delete(old)) this.release(old);
    }
    while (this.bytes > this.maxBytes) this.evictOldest();
  }

  /**
   * The last `seconds` of `leafIndex`'s frames (at most maxClipMs), each video stream starting
   * from a key frame when the buffer has one; undefined when nothing of that leaf is buffered.
   */
  clip(leafIndex: number, seconds: number): BufferedClip | undefined {
    const now = this.now();
    this.prune(now);
    const list = this.byLeaf.get(leafIndex) ?? [];
    const span = Math.min(Math.max(0, seconds * 1000), this.maxClipMs);
    const from = now - span;
    let first = list.findIndex((f) => f.at >= from);
    if (first < 0) first = list.length;
    const chosen = new Set<Buffered>(list.slice(first));
    const lead: Buffered[] = [];
    const contexts = new Set([...chosen].filter((f) => f.codec === 'vp8').map((f) => f.context));
    for (const context of contexts) {
      const start = list.findIndex((f, i) => i >= first && f.context === context);
      if ((list[start] as Buffered).keyFrame) continue;
      // The stream's last key frame before the clip: in the window (take every frame from it on,
      // if that keeps the clip within maxClipMs), or pinned (take it alone).
      let k = -1;
      for (let i = start - 1; i >= 0; i--) {
        const f = list[i] as Buffered;
        if (f.context === context && f.keyFrame) {
          k = i;
          break;
        }
      }
      const key = k >= 0 ? (list[k] as Buffered) : this.latestKey.get(streamKey(leafIndex, context));
      if (!key || key.at > (list[start] as Buffered).at) continue;
      if (k >= 0 && now - key.at <= this.maxClipMs) {
        for (let i = k; i < first; i++)
          if ((list[i] as Buffered).context === context) chosen.add(list[i] as Buffered);
      } else {
        lead.push(key);
      }
    }
    let frames = [...lead, ...list.filter((f) => chosen.has(f))];
    if (frames.length === 0) return undefined;
    if (frames.length > this.maxClipFrames) frames = frames.slice(frames.length - this.maxClipFrames);
    const kids = [...new Set(frames.map((f) => f.kid))];
    return {
      leafIndex,
      frames: frames.map((f) => ({ at: f.at, codec: f.codec, data: f.data.slice() })),
      keys: kids.map((kid) => {
        const m = this.keys.get(kid) as KidKeyMaterial;
        return { kid, key: m.key.slice(), salt: m.salt.slice() };
      }),
    };
  }

  /** Drops everything (attestation turned off, the meeting left). */
  clear(): void {
    for (const k of this.keys.values()) {
      k.key.fill(0);
      k.salt.fill(0);
    }
    this.keys.clear();
    this.byLeaf.clear();
    this.latestKey.clear();
    this.pinned.clear();
    this.bytes = 0;
  }

  private prune(now: number): void {
    const oldest = now - this.windowMs;
    for (const [leaf, list] of this.byLeaf) {
      let n = 0;
      while (n < list.length && (list[n] as Buffered).at < oldest) n++;
      if (n === 0) continue;
      for (const f of list.splice(0, n)) this.leaveWindow(f);
      if (list.length === 0) this.byLeaf.delete(leaf);
    }
  }

  /** A frame leaves the window: kept (pinned) if it is its stream's latest key frame. */
  private leaveWindow(f: Buffered): void {
    if (f.keyFrame && this.latestKey.get(streamKey(f.leafIndex, f.context)) === f) this.pinned.add(f);
    else this.release(f);
  }

  private release(f: Buffered): void {
    this.bytes -= f.data.length;
    const k = this.keys.get(f.kid);
    if (k && --k.refs <= 0) {
      k.key.fill(0);
      k.salt.fill(0);
      this.keys.delete(f.kid);
    }
  }

  private evictOldest(): void {
    let victim: Buffered | undefined;
    let victimLeaf: number | undefined;
    for (const f of this.pinned) if (!victim || f.at < victim.at) victim = f;
    for (const [leaf, list] of this.byLeaf) {
      const head = list[0];
      if (head && (!victim || head.at < victim.at)) {
        victim = head;
        victimLeaf = leaf;
      }
    }
    if (!victim) return;
    if (victimLeaf !== undefined) {
      const list = this.byLeaf.get(victimLeaf) as Buffered[];
      list.shift();
      if (list.length === 0) this.byLeaf.delete(victimLeaf);
    } else {
      this.pinned.delete(victim);
    }
    const s = streamKey(victim.leafIndex, victim.context);
    if (this.latestKey.get(s) === victim) this.latestKey.delete(s);
    this.release(victim);
  }
}
