/**
 * Frame attestation: what a sender signs about the SFrame frames it sent (issue 13).
 *
 * SFrame alone does not say who made a frame: every member holds the epoch's base key and can
 * derive any member's KID key. So once a second per media context, each sender signs an
 * AttestationBody — the 16-byte truncated SHA-256 of every protected frame it sent in that
 * second, exactly the bytes that leave the encoder transform (clear prefix, SFrame header,
 * ciphertext and tag) — with its MLS leaf signature key, SignWithLabel(key, "Conclave frame
 * attestation", body) (RFC 9420 §5.1.2; leaf-signature.ts), and sends it as an MLS application message. Receivers
 * check frames against the bodies live (attestation-checker.ts); a clip (clip.ts) carries the
 * bodies so a third party can check the frames too.
 *
 * The body is binary, versioned and bounded (every field big-endian):
 *
 *   u8  version (1)
 *   u8  groupId length (1..64), then the MLS group id
 *   u64 epoch            the MLS epoch whose SFrame keys protected the frames
 *   u16 leafIndex        the sender's leaf (the KID's sender index, 16 bits)
 *   u8  context          0 audio, 1 camera, 2 screen, 3 screen audio (kid.ts)
 *   u32 seq              per sender and context, +1 per body, from 0
 *   32  prev             SHA-256 of the previous body of the chain; zeros for seq 0
 *   u64 startedAt, u64 endedAt   the sender's clock, ms since the Unix epoch (≤ 2^53)
 *   u16 count (1..400), then count × 16 bytes of frame hashes, in sending order
 *
 * Decision: a 16-byte hash. The attack is a second preimage (making another frame with the
 * hash of a frame the victim signed), for which 128 bits is ample; the space saved is a third
 * of the attestation traffic.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { MEDIA_CONTEXTS, type MediaContext } from '../media/kid.js';
import { EvidenceError } from './errors.js';

const ATTESTATION_VERSION = 1;
/** Most frame hashes in one body: a sender closes its body early when it fills up. */
export const MAX_ATTESTATION_HASHES = 400;
export const FRAME_HASH_BYTES = 16;
export const ATTESTATION_DIGEST_BYTES = 32;
const MAX_GROUP_ID_BYTES = 64;
const FIXED_BYTES = 1 + 1 + 8 + 2 + 1 + 4 + ATTESTATION_DIGEST_BYTES + 8 + 8 + 2;
/** The largest encoded body (a 64-byte group id and 400 hashes): 6,531 bytes. */
const MAX_ATTESTATION_BYTES = FIXED_BYTES + MAX_GROUP_ID_BYTES + MAX_ATTESTATION_HASHES * FRAME_HASH_BYTES;

const CONTEXT_BY_ID: readonly MediaContext[] = (Object.keys(MEDIA_CONTEXTS) as MediaContext[]).sort(
  (a, b) => MEDIA_CONTEXTS[a] - MEDIA_CONTEXTS[b],
);

export interface AttestationBody {
  groupId: Uint8Array;
  epoch: bigint;
  leafIndex: number;
  context: MediaContext;
  seq: number;
  /** Digest of the previous body of this sender's chain for this context; 32 zero bytes at seq 0. */
  prev: Uint8Array;
  startedAt: number;
  endedAt: number;
  /** count × FRAME_HASH_BYTES bytes: one truncated SHA-256 per protected frame, in sending order. */
  hashes: Uint8Array;
}

/** The first 16 bytes of SHA-256 over a protected frame as it goes on (and comes off) the wire. */
export function frameHash(protectedFrame: Uint8Array): Uint8Array {
  return sha256(protectedFrame).subarray(0, FRAME_HASH_BYTES);
}

/** The number of frame hashes in a body. */
export function hashCount(body: Pick<AttestationBody, 'hashes'>): number {
  return body.hashes.length / FRAME_HASH_BYTES;
}

function bad(message: string): EvidenceError {
  return new EvidenceError('bad_evidence', `attestation: ${message}`);
}

function checkTime(name: string, t: number): void {
  if (!Number.isSafeInteger(t) || t < 0) throw bad(`${name} ${t} is not a time in ms`);
}

/** Checks every field's range; throws EvidenceError('bad_evidence'). */
function checkBody(b: AttestationBody): void {
  if (b.groupId.length < 1 || b.groupId.length > MAX_GROUP_ID_BYTES) throw bad('group id of bad length');
  if (typeof b.epoch !== 'bigint' || b.epoch < 0n || b.epoch >= 1n << 64n) throw bad('epoch out of range');
  if (!Number.isInteger(b.leafIndex) || b.leafIndex < 0 || b.leafIndex > 0xffff)
    throw bad('leaf index out of range');
  if (!(b.context in MEDIA_CONTEXTS)) throw bad(`unknown media context ${String(b.context)}`);
  if (!Number.isInteger(b.seq) || b.seq < 0 || b.seq > 0xffff_ffff) throw bad('seq out of range');
  if (b.prev.length !== ATTESTATION_DIGEST_BYTES) throw bad('prev is not a 32-byte digest');
  if (b.seq === 0 && b.prev.some((x) => x !== 0)) throw bad('the first body of a chain has a prev');
  checkTime('startedAt', b.startedAt);
  checkTime('endedAt', b.endedAt);
  if (b.endedAt < b.startedAt) throw bad('ends before it starts');
  const n = b.hashes.length / FRAME_HASH_BYTES;
  if (!Number.isInteger(n) || n < 1 || n > MAX_ATTESTATION_HASHES)
    throw bad(`${b.hashes.length} bytes of hashes: not 1 to ${MAX_ATTESTATION_HASHES} hashes`);
}

export function encodeAttestation(b: AttestationBody): Uint8Array {
  checkBody(b);
  const out = new Uint8Array(FIXED_BYTES + b.groupId.length + b.hashes.length);
  const v = new DataView(out.buffer);
  let o = 0;
  v.setUint8(o++, ATTESTATION_VERSION);
  v.setUint8(o++, b.groupId.length);
  out.set(b.groupId, o);
  o += b.groupId.length;
  v.setBigUint64(o, b.epoch);
  o += 8;
  v.setUint16(o, b.leafIndex);
  o += 2;
  v.setUint8(o++, MEDIA_CONTEXTS[b.context]);
  v.setUint32(o, b.seq);
  o += 4;
  out.set(b.prev, o);
  o += ATTESTATION_DIGEST_BYTES;
  v.setBigUint64(o, BigInt(b.startedAt));
  o += 8;
  v.setBigUint64(o, BigInt(b.endedAt));
  o += 8;
  v.setUint16(o, b.hashes.length / FRAME_HASH_BYTES);
  o += 2;
  out.set(b.hashes, o);
  return out;
}

/** Decodes (and range-checks) a body; anything malformed throws EvidenceError('bad_evidence'). */
export function decodeAttestation(bytes: Uint8Array): AttestationBody {
  if (!(bytes instanceof Uint8Array)) throw bad('not bytes');
  if (bytes.length < FIXED_BYTES + 1) throw bad(`${bytes.length} bytes is too short`);
  if (bytes.length > MAX_ATTESTATION_BYTES) throw bad(`${bytes.length} bytes is too long`);
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let o = 0;
  const version = v.getUint8(o++);
  if (version !== ATTESTATION_VERSION) throw bad(`unknown version ${version}`);
  const gl = v.getUint8(o++);
  if (gl < 1 || gl > MAX_GROUP_ID_BYTES) throw bad('group id of bad length');
  const count = bytes.length >= FIXED_BYTES + gl ? v.getUint16(FIXED_BYTES + gl - 2) : -1;
  if (count < 1 || bytes.length !== FIXED_BYTES + gl + count * FRAME_HASH_BYTES)
    throw bad('length does not match its group id and hash count');
  const groupId = bytes.slice(o, o + gl);
  o += gl;
  const epoch = v.getBigUint64(o);
  o += 8;
  const leafIndex = v.getUint16(o);
  o += 2;
  const context = CONTEXT_BY_ID[v.getUint8(o++)];
  if (!context) throw bad('unknown media context');
  const seq = v.getUint32(o);
  o += 4;
  const prev = bytes.slice(o, o + ATTESTATION_DIGEST_BYTES);
  o += ATTESTATION_DIGEST_BYTES;
  const started = v.getBigUint64(o);
  o += 8;
  const ended = v.getBigUint64(o);
  o += 8 + 2;
  if (started > BigInt(Number.MAX_SAFE_INTEGER) || ended > BigInt(Number.MAX_SAFE_INTEGER))
    throw bad('time out of range');
  const body: AttestationBody = {
    groupId,
    epoch,
    leafIndex,
    context,
    seq,
    prev,
    startedAt: Number(started),
    endedAt: Number(ended),
    hashes: bytes.slice(o),
  };
  checkBody(body);
  return body;
}

/** SHA-256 of an encoded body: the next body's `prev`. */
export function attestationDigest(encoded: Uint8Array): Uint8Array {
  return sha256(encoded);
}
