import { describe, expect, it } from 'vitest';
import { MlsDevice, MlsSession, type MemberIdentity } from '../src/mls/index.js';
import {
  LEAF_SIGNATURE_LABELS,
  verifyChatEvidence,
  verifyMembershipProof,
  verifyWithLeafKey,
  type MembershipProof,
} from '../src/evidence/index.js';
import { decodeFramedContent, encodeFramedContent } from '../src/mls/ts-mls.js';
import { toBase64 } from '../src/util/bytes.js';

const guest = (name: string): MemberIdentity => ({
  kind: 'guest',
  deviceId: `dev-${name}`,
  displayName: name,
});
const text = new TextEncoder();

async function group(names: string[]): Promise<MlsSession[]> {
  const devices = await Promise.all(names.map((n) => MlsDevice.create(guest(n))));
  const host = await MlsSession.create(devices[0]!, {
    groupId: text.encode('evidence-group'),
    roles: { hosts: [toBase64(devices[0]!.signatureKeys.publicKey)], cohosts: [] },
  });
  const pending = await host.prepareCommit({
    add: await Promise.all(devices.slice(1).map((d) => d.createKeyPackage())),
  });
  host.applyCommit(pending);
  const others = await Promise.all(devices.slice(1).map((d) => MlsSession.join(d, pending.welcome!)));
  return [host, ...others];
}

/** The framed content with its application data replaced (what a reporter editing a message makes). */
function withData(framedContent: Uint8Array, data: Uint8Array): Uint8Array {
  const content = decodeFramedContent(framedContent, 0)![0];
  if (content.contentType !== 'application') throw new Error('unreachable');
  return encodeFramedContent({ ...content, applicationData: data });
}

describe('chat evidence: a third party checks who wrote a message', () => {
  it('verifies a received message against the epoch proof, and names the sender from the tree', async () => {
    const [a, b, c] = await group(['alice', 'bob', 'carol']);
    const m = await c!.decryptApplication(await b!.encryptApplication(text.encode('you will regret this')));
    const proof = c!.membershipProof(m.epoch)!;
    const g = await verifyMembershipProof(proof);
    expect(g.epoch).toBe(1n);
    expect(g.members.map((x) => x.identity.displayName)).toEqual(['alice', 'bob', 'carol']);
    const r = await verifyChatEvidence(m.evidence, g);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.sender.identity.displayName).toBe('bob');
    expect(toBase64(r.sender.signaturePublicKey)).toBe(b!.ownSignatureKey);
    expect(new TextDecoder().decode(r.applicationData)).toBe('you will regret this');
    // a's proof of the same epoch is the same group: it verifies there too
    expect(
      (await verifyChatEvidence(m.evidence, await verifyMembershipProof(a!.membershipProof()!))).ok,
    ).toBe(true);
  });

  it('an edited text, a swapped signature or the proof of another epoch do not verify', async () => {
    const [a, b, c] = await group(['alice', 'bob', 'carol']);
    const m1 = await c!.decryptApplication(await b!.encryptApplication(text.encode('first')));
    const m2 = await c!.decryptApplication(await a!.encryptApplication(text.encode('second')));
    const g = await verifyMembershipProof(c!.membershipProof()!);
    const edited = {
      ...m1.evidence,
      framedContent: withData(m1.evidence.framedContent, text.encode('firsT')),
    };
    expect(await verifyChatEvidence(edited, g)).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/signature/),
    });
    const swapped = { framedContent: m1.evidence.framedContent, signature: m2.evidence.signature };
    expect((await verifyChatEvidence(swapped, g)).ok).toBe(false);
    const flipped = m1.evidence.signature.slice();
    flipped[5]! ^= 1;
    expect((await verifyChatEvidence({ ...m1.evidence, signature: flipped }, g)).ok).toBe(false);
    expect(
      (await verifyChatEvidence({ ...m1.evidence, framedContent: new Uint8Array([1, 2, 3]) }, g)).ok,
    ).toBe(false);
    // after a commit the old message does not verify under the new epoch's proof
    const p = await a!.prepareCommit();
    a!.applyCommit(p);
    await c!.processHandshake(p.commit);
    const g2 = await verifyMembershipProof(c!.membershipProof()!);
    expect(await verifyChatEvidence(m1.evidence, g2)).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/epoch/),
    });
    // the retained epoch's proof is still available and still verifies it
    expect(
      (await verifyChatEvidence(m1.evidence, await verifyMembershipProof(c!.membershipProof(1n)!))).ok,
    ).toBe(true);
  });

  it('a proof whose tree is not the context\u2019s (a leaf swapped in) is refused', async () => {
    const [a] = await group(['alice', 'bob']);
    const [x] = await group(['mallory', 'bob']);
    const proof = a!.membershipProof()!;
    const other = x!.membershipProof()!;
    const forged: MembershipProof = { groupContext: proof.groupContext, ratchetTree: other.ratchetTree };
    await expect(verifyMembershipProof(forged)).rejects.toMatchObject({ code: 'bad_proof' });
    await expect(
      verifyMembershipProof({
        groupContext: proof.groupContext.slice(0, 10),
        ratchetTree: proof.ratchetTree,
      }),
    ).rejects.toMatchObject({ code: 'bad_proof' });
  });

  it('signWithLeafKey statements verify only with the signer\u2019s key, label and content', async () => {
    const [a, b] = await group(['alice', 'bob']);
    const body = text.encode('attested frames');
    const sig = await a!.signWithLeafKey(LEAF_SIGNATURE_LABELS.frameAttestation, body);
    const aKey = a!.memberAt(0)!.signaturePublicKey;
    const bKey = b!.memberAt(1)!.signaturePublicKey;
    expect(await verifyWithLeafKey(aKey, LEAF_SIGNATURE_LABELS.frameAttestation, body, sig)).toBe(true);
    expect(await verifyWithLeafKey(bKey, LEAF_SIGNATURE_LABELS.frameAttestation, body, sig)).toBe(false);
    expect(
      await verifyWithLeafKey(aKey, LEAF_SIGNATURE_LABELS.frameAttestation, text.encode('other'), sig),
    ).toBe(false);
    expect(
      await verifyWithLeafKey(aKey, LEAF_SIGNATURE_LABELS.frameAttestation, body, new Uint8Array(3)),
    ).toBe(false);
  });
});
