import {
  clearPrefixLength,
  decodeHeader,
  frameHash,
  parseMediaKid,
  toBase64,
  type BufferedClip,
  type MediaContext,
} from '@conclave/crypto';
import {
  MAX_CLIP_ATTESTATIONS,
  MAX_REPORT_PROOFS,
  type ClipEvidence,
  type MembershipProofWire,
} from '@conclave/protocol';
import type { StoredAttestation } from './attestation-store.js';

interface Candidate {
  at: number;
  codec: 'vp8' | 'opus';
  data: Uint8Array;
  kid: bigint;
  ctr: bigint;
  attestation: StoredAttestation;
}

/**
 * The wire clip of one member from what the receiver buffered and the attestations it verified,
 * made so that it verifies (crypto/src/evidence/clip.ts): only frames an attestation of the
 * member's current key covers (a frame nobody attested is evidence of nothing; the live check
 * flags those); per context, only the unbroken tail of the attestation chain (frames of seconds
 * before a missing attestation are left out); within each KID, frames in counter order; at most
 * MAX_REPORT_PROOFS epochs and MAX_CLIP_ATTESTATIONS attestations (the oldest left out).
 * Undefined when nothing of the member is left.
 */
export function buildClipEvidence(
  buffered: BufferedClip,
  attestations: StoredAttestation[],
  proofOf: (epoch: bigint) => MembershipProofWire | undefined,
): { clip: ClipEvidence; proofs: MembershipProofWire[] } | undefined {
  const signer = attestations.at(-1)?.signer;
  const mine = attestations.filter((a) => a.signer === signer && proofOf(a.messageEpoch) !== undefined);
  const covering = new Map<string, StoredAttestation>();
  for (const a of mine)
    for (const h of a.hashes) covering.set(`${a.context}/${Number(a.bodyEpoch & 15n)}/${h}`, a);

  let frames: Candidate[] = [];
  for (const f of buffered.frames) {
    let kid: bigint;
    let ctr: bigint;
    try {
      ({ kid, ctr } = decodeHeader(f.data, clearPrefixLength(f.codec, f.data)));
    } catch {
      continue;
    }
    const { context, epochBits } = parseMediaKid(kid);
    const a = covering.get(`${context}/${epochBits}/${toBase64(frameHash(f.data))}`);
    if (a) frames.push({ at: f.at, codec: f.codec, data: f.data, kid, ctr, attestation: a });
  }

  // Per context: the chain from its newest used attestation back, as far as it is unbroken.
  const chosen = new Set<StoredAttestation>();
  const contexts = new Set<MediaContext>(frames.map((f) => f.attestation.context));
  for (const context of contexts) {
    const used = new Set(frames.filter((f) => f.attestation.context === context).map((f) => f.attestation));
    const byDigest = new Map(mine.filter((a) => a.context === context).map((a) => [a.digest, a]));
    let a: StoredAttestation | undefined = [...used].reduce((x, y) => (y.receivedAt > x.receivedAt ? y : x));
    let left = used.size;
    while (a && left > 0) {
      chosen.add(a);
      if (used.has(a)) left--;
      const prev: StoredAttestation | undefined = byDigest.get(a.prev);
      a = a.seq > 0 && prev?.seq === a.seq - 1 ? prev : undefined;
    }
  }
  // The newest attestations within the proof and attestation limits.
  const ordered = [...chosen].sort((x, y) => y.receivedAt - x.receivedAt);
  const epochs: bigint[] = [];
  const kept = new Set<StoredAttestation>();
  for (const a of ordered) {
    if (kept.size >= MAX_CLIP_ATTESTATIONS) break;
    if (!epochs.includes(a.messageEpoch)) {
      if (epochs.length >= MAX_REPORT_PROOFS) break;
      epochs.push(a.messageEpoch);
    }
    kept.add(a);
  }
  frames = frames.filter((f) => kept.has(f.attestation));
  if (frames.length === 0) return undefined;

  // Within each KID, counters in the order the sender used them (the network may reorder);
  // each frame keeps the time it arrived.
  const byKid = new Map<bigint, Candidate[]>();
  for (const f of frames) byKid.set(f.kid, [...(byKid.get(f.kid) ?? []), f]);
  const slots = new Map<bigint, Candidate[]>();
  for (const [kid, list] of byKid)
    slots.set(
      kid,
      [...list].sort((x, y) => (x.ctr < y.ctr ? -1 : x.ctr > y.ctr ? 1 : 0)),
    );
  const taken = new Map<bigint, number>();
  const inOrder = frames.map((f) => {
    const n = taken.get(f.kid) ?? 0;
    taken.set(f.kid, n + 1);
    return (slots.get(f.kid) as Candidate[])[n] as Candidate;
  });

  const epochIndex = new Map(epochs.map((e, i) => [e, i]));
  const usedKids = new Set(frames.map((f) => f.kid));
  const clip: ClipEvidence = {
    leafIndex: buffered.leafIndex,
    frames: inOrder.map((f) => ({ at: f.at, codec: f.codec, data: toBase64(f.data) })),
    keys: buffered.keys
      .filter((k) => usedKids.has(k.kid))
      .map((k) => ({ kid: String(k.kid), key: toBase64(k.key), salt: toBase64(k.salt) })),
    attestations: [...kept]
      .sort((x, y) => (x.context === y.context ? x.seq - y.seq : x.context < y.context ? -1 : 1))
      .map((a) => ({
        proof: epochIndex.get(a.messageEpoch) as number,
        body: a.body,
        signature: a.signature,
      })),
  };
  return { clip, proofs: epochs.map((e) => proofOf(e) as MembershipProofWire) };
}
