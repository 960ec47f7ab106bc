import { signWithLabel, verifyWithLabel } from '../mls/ts-mls.js';
import { mlsSuite } from '../mls/suite.js';

/**
 * Statements a member signs with its MLS leaf signature key outside MLS framing (frame
 * attestations), with RFC 9420's SignWithLabel ("MLS 1.0 " + label): a label of ours can never
 * make a signature that MLS would read as one of its own structures, nor the other way round.
 */
export const LEAF_SIGNATURE_LABELS = { frameAttestation: 'Conclave frame attestation' } as const;
export type LeafSignatureLabel = (typeof LEAF_SIGNATURE_LABELS)[keyof typeof LEAF_SIGNATURE_LABELS];

export async function signWithLeafKey(
  privateKey: Uint8Array,
  label: LeafSignatureLabel,
  content: Uint8Array,
): Promise<Uint8Array> {
  const cs = await mlsSuite();
  return signWithLabel(privateKey, label, content, cs.signature);
}

/** Never throws: a malformed key or signature is `false`. */
export async function verifyWithLeafKey(
  publicKey: Uint8Array,
  label: LeafSignatureLabel,
  content: Uint8Array,
  signature: Uint8Array,
): Promise<boolean> {
  const cs = await mlsSuite();
  try {
    return await verifyWithLabel(publicKey, label, content, signature, cs.signature);
  } catch {
    return false;
  }
}
