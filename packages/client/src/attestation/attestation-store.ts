import { toBase64, type AttestationBody, type MediaContext, type MembershipProof } from '@conclave/crypto';
import type { MembershipProofWire } from '@conclave/protocol';
import { proofToWire } from '../report/report-log.js';

/** A verified attestation another member sent, kept for clips. */
export interface StoredAttestation {
  leafIndex: number;
  /** The sender's signature key (base64): a leaf may change hands; a clip is of one key. */
  signer: string;
  context: MediaContext;
  seq: number;
  /** The epoch whose SFrame keys protected the frames (the body's). */
  bodyEpoch: bigint;
  /** The MLS epoch the message came in: its membership proof is the one a clip carries. */
  messageEpoch: bigint;
  digest: string;
  prev: string;
  /** The frame hashes (base64 of 16 bytes each). */
  hashes: Set<string>;
  body: string;
  signature: string;
  receivedAt: number;
}

export interface AttestationStoreOptions {
  /** How long attestations are kept (default 90 s: the clip buffer keeps 60 s of frames). */
  keepMs?: number;
  /** Most attestations kept in all (the oldest go first). */
  maxEntries?: number;
  now?: () => number;
}

export function attestationEntry(
  body: AttestationBody,
  encoded: Uint8Array,
  signature: Uint8Array,
  digest: Uint8Array,
  meta: { signer: Uint8Array; messageEpoch: bigint; receivedAt: number },
): StoredAttestation {
  const hashes = new Set<string>();
  for (let o = 0; o < body.hashes.length; o += 16) hashes.add(toBase64(body.hashes.subarray(o, o + 16)));
  return {
    leafIndex: body.leafIndex,
    signer: toBase64(meta.signer),
    context: body.context,
    seq: body.seq,
    bodyEpoch: body.epoch,
    messageEpoch: meta.messageEpoch,
    digest: toBase64(digest),
    prev: toBase64(body.prev),
    hashes,
    body: toBase64(encoded),
    signature: toBase64(signature),
    receivedAt: meta.receivedAt,
  };
}

/**
 * The last ~90 s of verified attestations, with the membership proof of each one's message
 * epoch (encoded once per epoch, dropped with its last attestation).
 */
export class AttestationStore {
  private readonly keepMs: number;
  private readonly maxEntries: number;
  private readonly now: () => number;
  private entries: StoredAttestation[] = [];
  private readonly proofs = new Map<bigint, { proof: MembershipProofWire; refs: number }>();

  constructor(opts: AttestationStoreOptions = {}) {
    this.keepMs = opts.keepMs ?? 90_000;
    this.maxEntries = opts.maxEntries ?? 20_000;
    this.now = opts.now ?? (() => Date.now());
  }

  /** Keeps `entry`; `proof` gives its message epoch's membership proof when none is kept yet. */
  add(entry: StoredAttestation, proof: (epoch: bigint) => MembershipProof | undefined): void {
    this.prune();
    let kept = this.proofs.get(entry.messageEpoch);
    if (!kept) {
      const p = proof(entry.messageEpoch);
      if (!p) return; // without the proof it cannot go into a clip
      kept = { proof: proofToWire(p), refs: 0 };
      this.proofs.set(entry.messageEpoch, kept);
    }
    kept.refs++;
    this.entries.push(entry);
    if (this.entries.length > this.maxEntries) this.drop(this.entries.length - this.maxEntries);
  }

  /** The kept attestations of `leafIndex`, oldest first. */
  of(leafIndex: number): StoredAttestation[] {
    this.prune();
    return this.entries.filter((e) => e.leafIndex === leafIndex);
  }

  proofOf(epoch: bigint): MembershipProofWire | undefined {
    return this.proofs.get(epoch)?.proof;
  }

  clear(): void {
    this.entries = [];
    this.proofs.clear();
  }

  private prune(): void {
    const oldest = this.now() - this.keepMs;
    let n = 0;
    while (n < this.entries.length && (this.entries[n] as StoredAttestation).receivedAt < oldest) n++;
    if (n > 0) this.drop(n);
  }

  private drop(n: number): void {
    for (const e of this.entries.splice(0, n)) {
      const kept = this.proofs.get(e.messageEpoch);
      if (kept && --kept.refs <= 0) this.proofs.delete(e.messageEpoch);
    }
  }
}
