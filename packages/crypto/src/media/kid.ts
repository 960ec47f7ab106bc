/**
 * KID layout for SFrame keys from MLS (RFC 9605 §5.2):
 *   KID = (context << (S + E)) + (sender_index << E) + (epoch % 2^E)
 *
 * Our choice, fixed for the protocol version:
 * - E = 4: 16 epochs can be told apart. Receivers keep old epochs only for a grace period
 *   of seconds, far less than 16 rekeys, and drop an old epoch as soon as a new epoch with the
 *   same low bits arrives (rollover).
 * - S = 16: up to 65,536 leaves, well above the largest meeting we plan for.
 * - context (the remaining 44 bits) separates one sender's streams, so that no (KID, CTR)
 *   pair is ever used twice under one key: 0 audio, 1 camera, 2 screen, 3 screen audio.
 *   Audio in context 0 keeps the most frequent frames' KIDs to one byte.
 */
export const KID_EPOCH_BITS = 4;
export const KID_INDEX_BITS = 16;

export const MEDIA_CONTEXTS = { audio: 0, camera: 1, screen: 2, screenAudio: 3 } as const;
export type MediaContext = keyof typeof MEDIA_CONTEXTS;
const CONTEXT_BY_ID = new Map<number, MediaContext>(
  Object.entries(MEDIA_CONTEXTS).map(([name, id]) => [id, name as MediaContext]),
);

const E = BigInt(KID_EPOCH_BITS);
const S = BigInt(KID_INDEX_BITS);
const EPOCH_MASK = (1n << E) - 1n;
const INDEX_MASK = (1n << S) - 1n;

export function epochLowBits(epoch: bigint): number {
  return Number(epoch & EPOCH_MASK);
}

export function mediaKid(context: MediaContext, senderIndex: number, epoch: bigint): bigint {
  if (!Number.isInteger(senderIndex) || senderIndex < 0 || BigInt(senderIndex) > INDEX_MASK) {
    throw new RangeError(`sender index ${senderIndex} does not fit in ${KID_INDEX_BITS} bits`);
  }
  return (BigInt(MEDIA_CONTEXTS[context]) << (S + E)) | (BigInt(senderIndex) << E) | (epoch & EPOCH_MASK);
}

export interface ParsedKid {
  context: MediaContext | undefined;
  senderIndex: number;
  epochBits: number;
}

export function parseMediaKid(kid: bigint): ParsedKid {
  return {
    context: CONTEXT_BY_ID.get(Number(kid >> (S + E))),
    senderIndex: Number((kid >> E) & INDEX_MASK),
    epochBits: Number(kid & EPOCH_MASK),
  };
}
