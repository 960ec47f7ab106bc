import { concatBytes } from '../util/bytes.js';
import { shaDigest } from '../util/node-crypto.js';

const LABEL = new TextEncoder().encode('Conclave membership code v1');

/** A leaf as the membership code reads it: the raw credential bytes and the signature key. */
export interface MembershipEntry {
  credential: Uint8Array;
  signaturePublicKey: Uint8Array;
}

function u32(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n);
  return b;
}

function compare(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

/**
 * The membership code: SHA-256 over a label, the group id and every member's credential and
 * signature key (each length-prefixed, sorted), shown as four groups of four digits. Unlike
 * the security code it does not change at every epoch (rekeys, resyncs), only when someone is
 * added or removed, so people can read it aloud once and compare it again later: a member no
 * one sees in their roster (a "ghost" added by a malicious server or member) changes it for
 * everyone who does not have it in their roster.
 */
export async function membershipCode(groupId: Uint8Array, members: MembershipEntry[]): Promise<string> {
  const entries = members
    .map((m) =>
      concatBytes(
        u32(m.credential.length),
        m.credential,
        u32(m.signaturePublicKey.length),
        m.signaturePublicKey,
      ),
    )
    .sort(compare);
  const digest = await shaDigest(
    'SHA-256',
    concatBytes(LABEL, u32(groupId.length), groupId, u32(entries.length), ...entries),
  );
  const view = new DataView(digest.buffer);
  const groups: string[] = [];
  for (let i = 0; i < 4; i++) groups.push((view.getUint32(i * 4) % 10_000).toString().padStart(4, '0'));
  return groups.join(' ');
}
