import { toBase64, verifyClip, type ProvenGroup } from '@conclave/crypto';
import type { ClipEvidence, ReportVerification } from '@conclave/protocol';

type ClipVerdict = NonNullable<ReportVerification['clip']>;

/**
 * The clip's verdict: 'verified' only when every frame decrypts and matches the sender's signed
 * attestations (the crypto package's verifyClip, which never throws for what a reporter sent)
 * and the attestations' signer is the reported member. `proofs` is indexed as the evidence's
 * proofs (a proof that did not verify is a hole, and attestations pointing to it fail).
 */
export async function verifyClipVerdict(
  clip: ClipEvidence,
  proofs: ProvenGroup[],
  reportedKeys: ReadonlySet<string>,
): Promise<ClipVerdict> {
  let r;
  try {
    r = await verifyClip(clip, proofs);
  } catch (e) {
    return {
      verdict: 'does_not_verify',
      detail: `cannot be checked (${e instanceof Error ? e.message : String(e)})`,
      frames: clip.frames.length,
      verifiedFrames: 0,
      durationMs: 0,
    };
  }
  const counts = {
    frames: r.frames,
    verifiedFrames: r.verifiedFrames,
    durationMs: Math.round(r.durationMs),
    ...(r.sender ? { senderName: r.sender.identity.displayName } : {}),
  };
  if (!r.ok) return { verdict: 'does_not_verify', detail: r.detail, ...counts };
  if (!r.sender || !reportedKeys.has(toBase64(r.sender.signaturePublicKey)))
    return {
      verdict: 'does_not_verify',
      detail: "the clip is another member's than the reported one",
      ...counts,
    };
  return { verdict: 'verified', detail: r.detail, ...counts };
}
