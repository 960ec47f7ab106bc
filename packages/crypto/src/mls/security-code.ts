import { concatBytes } from '../util/bytes.js';
import { shaDigest } from '../util/node-crypto.js';

const LABEL = new TextEncoder().encode('Conclave security code v1');

/** Number of 4-digit groups in the code: 5 groups = 20 decimal digits (about 66 bits). */
export const SECURITY_CODE_GROUPS = 5;

/**
 * The meeting security code: SHA-256 over a label, the group id, the epoch and the MLS
 * epoch_authenticator (RFC 9420 §8.7), shown as five groups of four digits. Every member of
 * an epoch computes the same code; any other group state (a split group, a swapped key, another
 * epoch) gives a different one. 20 digits leave no room for a server to grind a collision
 * between two groups it controls.
 */
export async function securityCode(
  groupId: Uint8Array,
  epoch: bigint,
  epochAuthenticator: Uint8Array,
): Promise<string> {
  const epochBytes = new Uint8Array(8);
  new DataView(epochBytes.buffer).setBigUint64(0, epoch);
  const len = new Uint8Array(2);
  new DataView(len.buffer).setUint16(0, groupId.length);
  const digest = await shaDigest('SHA-256', concatBytes(LABEL, len, groupId, epochBytes, epochAuthenticator));
  const view = new DataView(digest.buffer);
  const groups: string[] = [];
  for (let i = 0; i < SECURITY_CODE_GROUPS; i++) {
    // A 32-bit word reduced mod 10^4: the bias (2^32 mod 10^4 / 2^32) is below 10^-6.
    groups.push((view.getUint32(i * 4) % 10_000).toString().padStart(4, '0'));
  }
  return groups.join(' ');
}
