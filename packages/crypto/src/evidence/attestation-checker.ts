/**
 * The receiver side of frame attestation, live: which received frames their KID's owner did not
 * attest.
 *
 * The decryptor tells it every frame that decrypted (`observe`: the KID's leaf, context, epoch
 * and the frame's hash, taken before unprotect), and the SDK every attestation whose signature
 * it verified (`accept`: only bodies whose leaf is the MLS sender of the message). A frame no
 * accepted body covers is counted against the KID's leaf as `unattested`: someone in the group
 * sent media under that member's key that the member did not sign — an insider impersonating
 * them (or that member's client not attesting).
 *
 * Frames that fail to decrypt are not observed: they prove nothing (anyone on the path, the
 * server included, can send garbage under any KID) and flagging them would let an outsider
 * accuse a member.
 *
 * When a frame is judged: a sender closes its body up to a second after the frame, then signs
 * and sends it through the MLS delivery service, which takes longer than the SFU path. A frame
 * is judged once `graceMs` (3 s) have passed since it arrived AND an attestation of anyone
 * arrived at least `channelLagMs` after it (the application-message channel is flowing: a
 * sender's body is not simply stuck behind a pending MLS proposal, during which nobody can send
 * application messages), or in any case after `maxGraceMs` (10 s). Frames that arrive within
 * `graceMs` after `clear()` (attestation turned on) are never judged: senders may turn it on a
 * moment later.
 */
import type { MediaContext } from '../media/kid.js';
import { FRAME_HASH_BYTES } from './attestation.js';

export interface AttestationCheckerOptions {
  graceMs?: number;
  maxGraceMs?: number;
  channelLagMs?: number;
  /** How long the hashes of an accepted body are kept for frames still to come (default 30 s). */
  retainMs?: number;
  /** Frames awaiting their attestation per sender leaf; beyond it the oldest is judged at once. */
  maxPendingPerLeaf?: number;
  /** Attested hashes kept in all; beyond it the oldest go. */
  maxAttested?: number;
  now?: () => number;
}

export interface AttestationStats {
  /** Frames that decrypted under this leaf's KIDs and that no attestation of the leaf covered. */
  unattested: number;
  /** When a frame was last found unattested (the checker's clock, ms). */
  lastUnattestedAt: number | undefined;
  /** Frames an attestation of the leaf covered. */
  attested: number;
}

/** Verified hashes of one body: the SDK checked its signature and that its leaf sent it. */
export interface VerifiedHashes {
  leafIndex: number;
  context: MediaContext;
  epoch: bigint;
  hashes: Uint8Array;
}

interface Pending {
  key: string;
  leafIndex: number;
  at: number;
  covered: boolean;
}

function hashKey(leafIndex: number, context: MediaContext, epoch: bigint, hash: Uint8Array, off = 0): string {
  let h = '';
  for (let i = off; i < off + FRAME_HASH_BYTES; i++) h += String.fromCharCode(hash[i] as number);
  return `${leafIndex}/${context}/${epoch}/${h}`;
}

export class AttestationChecker {
  private readonly graceMs: number;
  private readonly maxGraceMs: number;
  private readonly channelLagMs: number;
  private readonly retainMs: number;
  private readonly maxPendingPerLeaf: number;
  private readonly maxAttested: number;
  private readonly now: () => number;
  /** Attested frame keys → when they expire; insertion order is expiry order. */
  private readonly attested = new Map<string, number>();
  /** Frames awaiting judgement, oldest first. */
  private pending: Pending[] = [];
  private pendingHead = 0;
  private readonly pendingByKey = new Map<string, Pending>();
  private readonly pendingPerLeaf = new Map<number, number>();
  private readonly perLeaf = new Map<number, AttestationStats>();
  private lastChannelAt = -Infinity;
  private quietUntil: number;

  constructor(opts: AttestationCheckerOptions = {}) {
    this.graceMs = opts.graceMs ?? 3_000;
    this.maxGraceMs = opts.maxGraceMs ?? 10_000;
    this.channelLagMs = opts.channelLagMs ?? 1_500;
    this.retainMs = opts.retainMs ?? 30_000;
    this.maxPendingPerLeaf = opts.maxPendingPerLeaf ?? 4_000;
    this.maxAttested = opts.maxAttested ?? 200_000;
    this.now = opts.now ?? (() => Date.now());
    this.quietUntil = this.now() + this.graceMs;
  }

  /** A frame that decrypted under a KID of `leafIndex` (its hash taken from the protected bytes). */
  observe(leafIndex: number, context: MediaContext, epoch: bigint, hash: Uint8Array): void {
    const now = this.now();
    this.judge(now);
    const key = hashKey(leafIndex, context, epoch, hash);
    if (this.attested.has(key)) {
      this.statsFor(leafIndex).attested++;
      return;
    }
    if (now < this.quietUntil || this.pendingByKey.has(key)) return;
    const p: Pending = { key, leafIndex, at: now, covered: false };
    this.pending.push(p);
    this.pendingByKey.set(key, p);
    const n = (this.pendingPerLeaf.get(leafIndex) ?? 0) + 1;
    this.pendingPerLeaf.set(leafIndex, n);
    if (n > this.maxPendingPerLeaf) this.judgeOldestOf(leafIndex, now);
  }

  /** The hashes of a body whose signature verified, sent by its own leaf. */
  accept(v: VerifiedHashes): void {
    const now = this.now();
    this.lastChannelAt = now;
    const expires = now + this.retainMs;
    for (let off = 0; off + FRAME_HASH_BYTES <= v.hashes.length; off += FRAME_HASH_BYTES) {
      const key = hashKey(v.leafIndex, v.context, v.epoch, v.hashes, off);
      this.attested.delete(key);
      this.attested.set(key, expires);
      const p = this.pendingByKey.get(key);
      if (p && !p.covered) {
        p.covered = true;
        this.pendingByKey.delete(key);
        this.leavePending(p.leafIndex);
        this.statsFor(p.leafIndex).attested++;
      }
    }
    this.judge(now);
  }

  /** Per sender leaf, after judging every frame that is due. */
  stats(): Map<number, AttestationStats> {
    this.judge(this.now());
    return new Map([...this.perLeaf].map(([k, s]) => [k, { ...s }]));
  }

  /** Forgets everything (attestation turned off or on, keys forgotten). */
  clear(): void {
    this.attested.clear();
    this.pending = [];
    this.pendingHead = 0;
    this.pendingByKey.clear();
    this.pendingPerLeaf.clear();
    this.perLeaf.clear();
    this.lastChannelAt = -Infinity;
    this.quietUntil = this.now() + this.graceMs;
  }

  private judge(now: number): void {
    for (const [key, expires] of this.attested) {
      if (expires > now && this.attested.size <= this.maxAttested) break;
      this.attested.delete(key);
    }
    while (this.pendingHead < this.pending.length) {
      const p = this.pending[this.pendingHead] as Pending;
      if (!p.covered) {
        const age = now - p.at;
        const due =
          age >= this.maxGraceMs || (age >= this.graceMs && this.lastChannelAt >= p.at + this.channelLagMs);
        if (!due) break;
        this.unattested(p, now);
      }
      this.pendingHead++;
    }
    if (this.pendingHead > 1024 && this.pendingHead * 2 > this.pending.length) {
      this.pending = this.pending.slice(this.pendingHead);
      this.pendingHead = 0;
    }
  }

  private judgeOldestOf(leafIndex: number, now: number): void {
    for (let i = this.pendingHead; i < this.pending.length; i++) {
      const p = this.pending[i] as Pending;
      if (p.leafIndex === leafIndex && !p.covered) {
        this.unattested(p, now);
        return;
      }
    }
  }

  private unattested(p: Pending, now: number): void {
    p.covered = true; // judged: never again
    this.pendingByKey.delete(p.key);
    this.leavePending(p.leafIndex);
    const s = this.statsFor(p.leafIndex);
    s.unattested++;
    s.lastUnattestedAt = now;
  }

  private leavePending(leafIndex: number): void {
    const n = (this.pendingPerLeaf.get(leafIndex) ?? 1) - 1;
    if (n <= 0) this.pendingPerLeaf.delete(leafIndex);
    else this.pendingPerLeaf.set(leafIndex, n);
  }

  private statsFor(leafIndex: number): AttestationStats {
    let s = this.perLeaf.get(leafIndex);
    if (!s) {
      s = { unattested: 0, lastUnattestedAt: undefined, attested: 0 };
      this.perLeaf.set(leafIndex, s);
    }
    return s;
  }
}
