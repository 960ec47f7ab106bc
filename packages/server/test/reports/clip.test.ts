import {
  AttestationRecorder,
  FrameEvidence,
  fromBase64,
  LEAF_SIGNATURE_LABELS,
  MediaKeys,
  toBase64,
  type FrameBatch,
} from '@conclave/crypto';
import { submitReportResponse, type ClipEvidence, type ReportEvidence } from '@conclave/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { mlsGroup, startReportsHarness, submit, type Member, type ReportsHarness } from './harness.js';

/**
 * A clip through the report route: a sender that attests its frames (signed with its MLS leaf
 * key), a receiver that buffers them, the receiver's clip of the sender reported; the server's
 * verdict is verifyClip's, and only for the reported member.
 */

const enc = new TextEncoder();
const clock = { t: 1_900_000_000_000 };
const now = () => clock.t;
const timers: { at: number; fn: () => void; live: boolean }[] = [];
const schedule = (ms: number, fn: () => void) => {
  const t = { at: clock.t + ms, fn, live: true };
  timers.push(t);
  return { cancel: () => (t.live = false) };
};
function advance(ms: number) {
  clock.t += ms;
  for (const t of timers)
    if (t.live && t.at <= clock.t) {
      t.live = false;
      t.fn();
    }
}

interface MediaMember extends Member {
  evidence: FrameEvidence;
  batches: FrameBatch[];
  recorder: AttestationRecorder;
  sent: { proof: number; body: string; signature: string }[];
}

async function withMedia(m: Member): Promise<MediaMember> {
  const batches: FrameBatch[] = [];
  const keys = new MediaKeys({ now });
  const evidence = new FrameEvidence(keys, (b) => batches.push(b), {
    batcher: { now, schedule },
    checker: { now },
    buffer: { now },
  });
  evidence.setEnabled(true);
  keys.setEpoch(m.session.epoch, await m.session.sframeBaseKey(16), m.session.ownLeafIndex);
  return { ...m, evidence, batches, recorder: new AttestationRecorder(), sent: [] };
}

const frame = (i: number) => {
  const f = new Uint8Array(200);
  f.set([i % 10 === 0 ? 0x10 : 0x11, 0x02, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0xe0, 0x01, 0x00]);
  f.set(enc.encode(`camera frame ${i}`), 10);
  return f;
};

/** `seconds` of 10 fps video from `sender` to `receiver`, attested each second; the receiver's clip. */
async function clipOf(sender: MediaMember, receiver: MediaMember, seconds: number): Promise<ReportEvidence> {
  for (let i = 0; i < seconds * 10; i++) {
    await receiver.evidence.unprotect('vp8', await sender.evidence.protect('camera', 'vp8', frame(i)));
    advance(100);
    for (const batch of sender.batches.splice(0)) {
      const r = sender.recorder.next(sender.session.groupId, batch);
      const signature = await sender.session.signWithLeafKey(
        LEAF_SIGNATURE_LABELS.frameAttestation,
        r.encoded,
      );
      sender.sent.push({ proof: 0, body: toBase64(r.encoded), signature: toBase64(signature) });
      receiver.evidence.accept(r.body);
    }
  }
  const c = receiver.evidence.clip(sender.session.ownLeafIndex, seconds + 5)!;
  const clip: ClipEvidence = {
    leafIndex: c.leafIndex,
    frames: c.frames.map((f) => ({ at: f.at, codec: f.codec, data: toBase64(f.data) })),
    keys: c.keys.map((k) => ({ kid: String(k.kid), key: toBase64(k.key), salt: toBase64(k.salt) })),
    attestations: sender.sent.map((a) => ({ ...a })),
  };
  const proof = receiver.session.membershipProof()!;
  return {
    proofs: [{ groupContext: toBase64(proof.groupContext), ratchetTree: toBase64(proof.ratchetTree) }],
    chat: [],
    clip,
    screenshots: [],
  };
}

describe('Report a User: a clip', () => {
  let h: ReportsHarness;
  afterEach(async () => h.close());

  it('verified when every frame matches the reported sender’s attestations; a flipped byte or another reported member: does not verify', async () => {
    h = await startReportsHarness();
    const [alice, bob, carol] = await Promise.all(
      (
        await mlsGroup([
          { kind: 'guest', deviceId: 'dev-alice', displayName: 'Alice' },
          { kind: 'guest', deviceId: 'dev-bob', displayName: 'Bob' },
          { kind: 'guest', deviceId: 'dev-carol', displayName: 'Carol' },
        ])
      ).map(withMedia),
    );
    const meetingId = await h.meeting();
    const evidence = await clipOf(alice!, bob!, 3);

    const honest = await submit(h.client('192.0.2.1'), {
      meetingId,
      reported: { signatureKey: alice!.key, displayName: 'Alice' },
      evidence,
    });
    expect(honest.statusCode, honest.body).toBe(201);
    const v = submitReportResponse.parse(honest.json()).report.verification.clip!;
    expect(v).toMatchObject({ verdict: 'verified', frames: 30, verifiedFrames: 30, senderName: 'Alice' });
    expect(v.durationMs).toBeGreaterThanOrEqual(2_800);

    const data = fromBase64(evidence.clip!.frames[7]!.data);
    data[data.length - 3]! ^= 1;
    const tampered = {
      ...evidence,
      clip: {
        ...evidence.clip!,
        frames: evidence.clip!.frames.map((f, i) => (i === 7 ? { ...f, data: toBase64(data) } : f)),
      },
    };
    const res = await submit(h.client('192.0.3.1'), {
      meetingId,
      reported: { signatureKey: alice!.key, displayName: 'Alice' },
      evidence: tampered,
    });
    expect(submitReportResponse.parse(res.json()).report.verification.clip).toMatchObject({
      verdict: 'does_not_verify',
      frames: 30,
    });

    // Alice's genuine clip in a report against Carol.
    const other = await submit(h.client('192.0.4.1'), {
      meetingId,
      reported: { signatureKey: carol!.key, displayName: 'Carol' },
      evidence,
    });
    expect(submitReportResponse.parse(other.json()).report.verification.clip).toMatchObject({
      verdict: 'does_not_verify',
      detail: expect.stringMatching(/another member/),
    });

    // A clip whose proof does not verify (its attestations point to nothing valid).
    const broken = await submit(h.client('192.0.5.1'), {
      meetingId,
      reported: { signatureKey: alice!.key, displayName: 'Alice' },
      evidence: { ...evidence, proofs: [{ ...evidence.proofs[0]!, ratchetTree: 'AAAA' }] },
    });
    expect(submitReportResponse.parse(broken.json()).report.verification.clip).toMatchObject({
      verdict: 'does_not_verify',
    });
  });
});
