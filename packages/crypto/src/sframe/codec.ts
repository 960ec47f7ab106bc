/**
 * Per-codec layouts for encrypting WebRTC encoded frames (insertable streams / RTCRtpScriptTransform).
 *
 * Some leading bytes of an encoded frame must stay readable by the packetizer / SFU, so they are
 * left in clear and bound to the ciphertext as SFrame metadata (RFC 9605 §9.4):
 *
 *   protected frame = [clear prefix][SFrame header][ciphertext || tag]
 *
 * - VP8 (RFC 6386 §9.1): bit 0 of the first byte is the inverse key-frame flag. Key frame → 10
 *   bytes (3-byte frame tag + 7-byte start code and dimensions); delta frame → 3 bytes (frame tag).
 * - Opus: 1 byte, the TOC byte (RFC 6716 §3.1).
 * - other: nothing in clear.
 *
 * The layout is self-describing: the receiver recomputes the prefix length from the clear bytes
 * (the VP8 key-frame bit is in the clear first byte). Tampering with that bit changes where the
 * receiver looks for the header, and any change to the prefix changes the AAD, so both end in
 * 'auth_failed' (or a header error), never in accepting altered bytes.
 *
 * A frame shorter than its codec's full prefix cannot be protected: its prefix would be shorter
 * than what the receiver computes from the protected bytes, so the split would be ambiguous.
 * Such frames are malformed for the codec (and an empty frame carries nothing); protectEncodedFrame
 * rejects them with 'bad_input' and the caller should pass them through or drop them.
 */
import { SFrameError } from './errors.js';
import type { SFrameKeyRing, SFrameSender, UnprotectResult } from './context.js';

export type SFrameCodec = 'vp8' | 'opus' | 'other';
/** Alias of SFrameCodec. */
export type FrameCodec = SFrameCodec;

const VP8_KEY_PREFIX = 10;
const VP8_DELTA_PREFIX = 3;
const OPUS_PREFIX = 1;

/** VP8 frame tag: bit 0 of byte 0 is 0 for a key frame. False for an empty frame. */
export function isVp8KeyFrame(frame: Uint8Array): boolean {
  const b = frame[0];
  return b !== undefined && (b & 0x01) === 0;
}

function fullPrefixLength(codec: SFrameCodec, frame: Uint8Array): number {
  switch (codec) {
    case 'vp8':
      if (frame.length === 0) return 0;
      return isVp8KeyFrame(frame) ? VP8_KEY_PREFIX : VP8_DELTA_PREFIX;
    case 'opus':
      return OPUS_PREFIX;
    case 'other':
      return 0;
    default:
      throw new SFrameError('bad_input', `unknown codec ${String(codec)}`);
  }
}

/** Number of leading bytes left in clear for this codec, clamped to the frame length. */
export function clearPrefixLength(codec: SFrameCodec, frame: Uint8Array): number {
  return Math.min(fullPrefixLength(codec, frame), frame.length);
}

/** [clear prefix][SFrame header][ciphertext], the clear prefix authenticated as metadata. */
export async function protectEncodedFrame(
  sender: SFrameSender,
  codec: SFrameCodec,
  frame: Uint8Array,
): Promise<Uint8Array> {
  const n = fullPrefixLength(codec, frame);
  if (frame.length === 0 || frame.length < n) {
    throw new SFrameError(
      'bad_input',
      `${codec} frame of ${frame.length} bytes is shorter than its ${n}-byte clear prefix`,
    );
  }
  return sender.protectWithClearPrefix(frame.subarray(0, n), frame.subarray(n));
}

/** Decrypts a protected encoded frame; returns { kid, ctr, frame: prefix || plaintext }. */
export async function unprotectEncodedFrameDetailed(
  ring: SFrameKeyRing,
  codec: SFrameCodec,
  data: Uint8Array,
): Promise<Omit<UnprotectResult, 'plaintext'> & { frame: Uint8Array }> {
  const n = clearPrefixLength(codec, data);
  if (data.length <= n) {
    throw new SFrameError('truncated_header', `${codec} frame of ${data.length} bytes has no SFrame header`);
  }
  const prefix = data.subarray(0, n);
  const { kid, ctr, plaintext } = await ring.unprotect(data.subarray(n), prefix);
  const frame = new Uint8Array(n + plaintext.length);
  frame.set(prefix);
  frame.set(plaintext, n);
  return { kid, ctr, frame };
}

/** Decrypts a protected encoded frame back to prefix || plaintext. */
export async function unprotectEncodedFrame(
  ring: SFrameKeyRing,
  codec: SFrameCodec,
  data: Uint8Array,
): Promise<Uint8Array> {
  return (await unprotectEncodedFrameDetailed(ring, codec, data)).frame;
}
