/**
 * Verifying a media clip (issue 13): SFrame ciphertext of one participant as a receiver got it,
 * the key material of the clip's KIDs only, and the sender's signed frame attestations.
 *
 * A clip verifies (`ok`) only when:
 * - every key is for a KID of the reported leaf, and every frame's KID names that leaf;
 * - every attestation decodes, is the reported leaf's, and its signature verifies with the
 *   signature key of that leaf in the membership proof it points to (same group, the proof's
 *   epoch not before the body's), all of them by one and the same key;
 * - per media context the attestations form one unbroken hash chain (each body's `prev` is the
 *   digest of the one before; a new chain may start only at seq 0, a sender that restarted):
 *   a reporter cannot leave out the seconds in between;
 * - every frame decrypts with its KID's key material, its hash is in an attestation of its
 *   context and epoch, it is not a repeat, and within each KID the counters go up (the order
 *   the sender sent them in);
 * - a verified frame is shown at the time its sender signed for it (its attestation's span),
 *   not at the reporter's receive time: no stream can be moved against another.
 *
 * What it cannot show: the key material is the reporter's word (nobody outside the meeting can
 * check it against the MLS epoch), and AES-GCM is not key-committing, so a reporter could craft
 * a key under which ONE frame per KID authenticates to other bytes — random-looking noise, never
 * chosen content; the hashes and signatures bind the ciphertext, which is what the sender sent.
 */
import { clearPrefixLength, isVp8KeyFrame, unprotectEncodedFrameDetailed } from '../sframe/codec.js';
import { SFrameKeyRing } from '../sframe/context.js';
import { decodeHeader } from '../sframe/header.js';
import { importDerivedKey } from '../sframe/keys.js';
import { DEFAULT_SUITE } from '../sframe/suites.js';
import { parseMediaKid, type MediaContext } from '../media/kid.js';
import type { GroupMember } from '../mls/tree-members.js';
import { MAX_U64, constantTimeEqual, fromBase64, toBase64 } from '../util/bytes.js';
import {
  FRAME_HASH_BYTES,
  attestationDigest,
  decodeAttestation,
  frameHash,
  type AttestationBody,
} from './attestation.js';
import { LEAF_SIGNATURE_LABELS, verifyWithLeafKey } from './leaf-signature.js';
import type { ProvenGroup } from './membership-proof.js';

/**
 * A clip in its wire form (base64 fields): the protocol's `clipSchema` type, restated here
 * because this package imports nothing of ours.
 */
export interface ClipEvidence {
  leafIndex: number;
  frames: { at: number; codec: 'vp8' | 'opus'; data: string }[];
  keys: { kid: string; key: string; salt: string }[];
  attestations: { proof: number; body: string; signature: string }[];
}

export interface DecryptedClipFrame {
  /**
   * When to show it, ms since the Unix epoch: for a verified frame the sender's signed time (its
   * attestation's span, by the frame's place in it), otherwise the reporter's receive time.
   */
  at: number;
  /** The reporter's receive time (its word only). */
  receivedAt: number;
  codec: 'vp8' | 'opus';
  keyFrame: boolean;
  /** The decrypted encoded frame (clear prefix and plaintext), for a decoder. */
  frame: Uint8Array;
  verified: boolean;
}

export interface ClipVerification {
  ok: boolean;
  /** The first reason it does not verify, or what was verified. */
  detail: string;
  frames: number;
  verifiedFrames: number;
  durationMs: number;
  leafIndex: number;
  /** The member whose key signed the attestations (undefined when none verified or keys differ). */
  sender: GroupMember | undefined;
  decrypted: DecryptedClipFrame[];
}

/** A stream's first key frame this long before its next frame is a kept key frame (frame-buffer.ts). */
const LEADING_KEY_FRAME_GAP_MS = 2_000;

interface CheckedAttestation {
  body: AttestationBody;
  digest: Uint8Array;
}

function bytesKey(b: Uint8Array): string {
  return toBase64(b);
}

function decode64(s: string): Uint8Array | undefined {
  try {
    return fromBase64(s);
  } catch {
    return undefined;
  }
}

async function importKeys(clip: ClipEvidence, problems: string[]): Promise<SFrameKeyRing> {
  // No replay window: repeats are found by hash below, and a clip's frames may be reordered.
  const ring = new SFrameKeyRing({ suite: DEFAULT_SUITE, replayWindow: 0 });
  const seen = new Set<string>();
  for (const k of clip.keys) {
    const kid = /^[0-9]{1,20}$/.test(k.kid) ? BigInt(k.kid) : -1n;
    if (kid < 0n || kid > MAX_U64 || seen.has(k.kid)) {
      problems.push(`key for an invalid or repeated KID ${k.kid.slice(0, 24)}`);
      continue;
    }
    seen.add(k.kid);
    if (parseMediaKid(kid).senderIndex !== clip.leafIndex) {
      problems.push(`a key is for KID ${k.kid}, which is not the reported member's`);
      continue;
    }
    const key = decode64(k.key);
    const salt = decode64(k.salt);
    try {
      if (!key || !salt) throw new Error('not base64');
      ring.addDerivedKey(await importDerivedKey(DEFAULT_SUITE, kid, key, salt));
    } catch (e) {
      problems.push(`the key for KID ${k.kid} cannot be used (${(e as Error).message})`);
    }
  }
  return ring;
}

async function checkAttestations(
  clip: ClipEvidence,
  proofs: ProvenGroup[],
  problems: string[],
): Promise<{ checked: CheckedAttestation[]; signer: GroupMember | undefined }> {
  const checked: CheckedAttestation[] = [];
  const digests = new Set<string>();
  let signer: GroupMember | undefined;
  for (const [i, a] of clip.attestations.entries()) {
    const n = `attestation ${i + 1}`;
    const group = proofs[a.proof];
    const bytes = decode64(a.body);
    const signature = decode64(a.signature);
    if (!group) {
      problems.push(`${n} points to a membership proof that is not there`);
      continue;
    }
    if (!bytes || !signature) {
      problems.push(`${n} is not base64`);
      continue;
    }
    let body: AttestationBody;
    try {
      body = decodeAttestation(bytes);
    } catch (e) {
      problems.push(`${n} is malformed (${(e as Error).message})`);
      continue;
    }
    if (body.leafIndex !== clip.leafIndex) {
      problems.push(`${n} is another member's (leaf ${body.leafIndex})`);
      continue;
    }
    if (!constantTimeEqual(body.groupId, group.groupId) || group.epoch < body.epoch) {
      problems.push(`${n} is not of the group and epoch of its membership proof`);
      continue;
    }
    const member = group.memberAt(body.leafIndex);
    if (!member) {
      problems.push(`${n}: leaf ${body.leafIndex} is not in the group of its membership proof`);
      continue;
    }
    if (
      !(await verifyWithLeafKey(
        member.signaturePublicKey,
        LEAF_SIGNATURE_LABELS.frameAttestation,
        bytes,
        signature,
      ))
    ) {
      problems.push(`${n}: the signature does not verify with ${member.identity.displayName}'s key`);
      continue;
    }
    if (signer && !constantTimeEqual(signer.signaturePublicKey, member.signaturePublicKey)) {
      problems.push(`${n} is signed by another key than the others (${member.identity.displayName})`);
      continue;
    }
    signer ??= member;
    const digest = attestationDigest(bytes);
    if (digests.has(bytesKey(digest))) continue; // the same body twice: once is enough
    digests.add(bytesKey(digest));
    checked.push({ body, digest });
  }
  return { checked, signer };
}

/** Per context: one unbroken chain, or several where each later one starts afresh at seq 0. */
function checkChains(checked: CheckedAttestation[], problems: string[]): void {
  const byContext = new Map<MediaContext, CheckedAttestation[]>();
  for (const c of checked) byContext.set(c.body.context, [...(byContext.get(c.body.context) ?? []), c]);
  for (const [context, list] of byContext) {
    const digests = new Map(list.map((c) => [bytesKey(c.digest), c]));
    const successors = new Map<string, number>();
    const heads: CheckedAttestation[] = [];
    for (const c of list) {
      const prev = bytesKey(c.body.prev);
      if (c.body.seq > 0 && digests.get(prev)?.body.seq === c.body.seq - 1) {
        successors.set(prev, (successors.get(prev) ?? 0) + 1);
      } else heads.push(c);
    }
    if ([...successors.values()].some((n) => n > 1)) {
      problems.push(`the ${context} attestations fork (two bodies follow one)`);
      continue;
    }
    heads.sort((a, b) => a.body.startedAt - b.body.startedAt);
    const gap = heads.slice(1).find((h) => h.body.seq !== 0);
    if (gap) problems.push(`the ${context} attestations have a gap before seq ${gap.body.seq}`);
  }
}

/** The clip's span, not counting a video stream's leading key frame kept from long before. */
function duration(frames: { at: number; context: MediaContext | undefined; keyFrame: boolean }[]): number {
  const sorted = [...frames].sort((a, b) => a.at - b.at);
  const skip = new Set<number>();
  const firstOf = new Map<MediaContext, number>();
  sorted.forEach((f, i) => {
    if (!f.context) return;
    const first = firstOf.get(f.context);
    if (first === undefined) firstOf.set(f.context, i);
    else if (first >= 0) {
      const head = sorted[first] as (typeof sorted)[number];
      if (head.keyFrame && f.at - head.at > LEADING_KEY_FRAME_GAP_MS) skip.add(first);
      firstOf.set(f.context, -1);
    }
  });
  const times = sorted.filter((_, i) => !skip.has(i)).map((f) => f.at);
  return times.length === 0 ? 0 : (times[times.length - 1] as number) - (times[0] as number);
}

/**
 * Checks a clip against the membership proofs its attestations point to (each already checked
 * with verifyMembershipProof). Never throws: whatever is wrong is `ok: false` with a `detail`.
 */
export async function verifyClip(clip: ClipEvidence, proofs: ProvenGroup[]): Promise<ClipVerification> {
  const problems: string[] = [];
  const ring = await importKeys(clip, problems);
  const { checked, signer } = await checkAttestations(clip, proofs, problems);
  checkChains(checked, problems);

  // Each frame hash → the attestation that signed it and the time it signed for it.
  const covering = new Map<string, { att: CheckedAttestation; signedAt: number }>();
  for (const c of checked) {
    const count = c.body.hashes.length / FRAME_HASH_BYTES;
    for (let i = 0; i < count; i++) {
      const o = i * FRAME_HASH_BYTES;
      const h = bytesKey(c.body.hashes.subarray(o, o + FRAME_HASH_BYTES));
      const span = c.body.endedAt - c.body.startedAt;
      const signedAt = c.body.startedAt + (count > 1 ? Math.round((span * i) / (count - 1)) : span);
      covering.set(`${c.body.context}/${Number(c.body.epoch & 15n)}/${h}`, { att: c, signedAt });
    }
  }
  const decrypted: DecryptedClipFrame[] = [];
  const timing: { at: number; context: MediaContext | undefined; keyFrame: boolean }[] = [];
  const seenHashes = new Set<string>();
  const lastCtr = new Map<bigint, bigint>();
  let verifiedFrames = 0;
  let frameProblem: string | undefined;
  for (const [i, f] of clip.frames.entries()) {
    const n = `frame ${i + 1}`;
    const note = (p: string) => (frameProblem ??= `${n}: ${p}`);
    const data = decode64(f.data);
    if (!data) {
      note('not base64');
      continue;
    }
    let kid: bigint;
    let ctr: bigint;
    try {
      ({ kid, ctr } = decodeHeader(data, clearPrefixLength(f.codec, data)));
    } catch {
      note('no SFrame header');
      continue;
    }
    const parsed = parseMediaKid(kid);
    const keyFrame = f.codec === 'vp8' && isVp8KeyFrame(data);
    let plain: Uint8Array;
    try {
      plain = (await unprotectEncodedFrameDetailed(ring, f.codec, data)).frame;
    } catch {
      note(`does not decrypt with the key of KID ${kid}`);
      continue;
    }
    let verified = true;
    const hash = bytesKey(frameHash(data));
    const covered = covering.get(`${parsed.context}/${parsed.epochBits}/${hash}`);
    const att = covered?.att;
    if (parsed.senderIndex !== clip.leafIndex) {
      verified = false;
      note(`is under KID ${kid} of another leaf (${parsed.senderIndex})`);
    } else if (!att) {
      verified = false;
      note('is in no attestation of the sender');
    } else if (seenHashes.has(hash)) {
      verified = false;
      note('repeats an earlier frame');
    } else if ((lastCtr.get(kid) ?? -1n) >= ctr) {
      verified = false;
      note('is out of the order the sender sent it in');
    }
    seenHashes.add(hash);
    if (verified) {
      lastCtr.set(kid, ctr);
      verifiedFrames++;
    }
    // Decision: a verified frame is timed by its sender's signature, never by the reporter's
    // receive time. A reporter cannot move one stream against another (say, audio from another
    // moment under the video), and the receiving browser's jitter (Firefox stamps video frames
    // seconds late in bursts) does not make an honest clip fail.
    const at = verified && covered ? covered.signedAt : f.at;
    timing.push({ at, context: parsed.context, keyFrame });
    decrypted.push({ at, receivedAt: f.at, codec: f.codec, keyFrame, frame: plain, verified });
  }
  if (frameProblem) problems.push(frameProblem);
  const ok = problems.length === 0 && verifiedFrames === clip.frames.length && clip.frames.length > 0;
  return {
    ok,
    detail: ok
      ? `${verifiedFrames} frames verified, signed by ${signer?.identity.displayName ?? '?'}'s key`
      : (problems[0] ?? 'the clip has no frames'),
    frames: clip.frames.length,
    verifiedFrames,
    durationMs: duration(timing),
    leafIndex: clip.leafIndex,
    sender: signer,
    decrypted,
  };
}
