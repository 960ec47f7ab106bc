// Frame attestation end to end in one process: three MLS members with MediaKeys and
// FrameEvidence, a sender that attests (signed with its leaf key), a receiver that checks live and
// buffers, a member that sends under another member's KID, and clips checked with verifyClip.
import { describe, expect, it } from 'vitest';
import {
  AttestationRecorder,
  FrameEvidence,
  LEAF_SIGNATURE_LABELS,
  MediaKeys,
  MlsDevice,
  MlsSession,
  SFrameSender,
  decodeAttestation,
  encodeAttestation,
  fromBase64,
  mediaKid,
  protectEncodedFrame,
  toBase64,
  verifyClip,
  verifyMembershipProof,
  type ClipEvidence,
  type FrameBatch,
  type MemberIdentity,
  type ProvenGroup,
} from '../src/index.js';

const guest = (name: string): MemberIdentity => ({
  kind: 'guest',
  deviceId: `dev-${name}`,
  displayName: name,
});
const enc = new TextEncoder();

interface Member {
  name: string;
  session: MlsSession;
  evidence: FrameEvidence;
  batches: FrameBatch[];
  recorder: AttestationRecorder;
  sent: { proof: number; body: string; signature: string }[];
}

/** One clock for everyone; timers fire when it is advanced. */
const clock = { t: 1_700_000_000_000 };
const timers: { at: number; fn: () => void; live: boolean }[] = [];
const schedule = (ms: number, fn: () => void) => {
  const t = { at: clock.t + ms, fn, live: true };
  timers.push(t);
  return { cancel: () => (t.live = false) };
};
function advance(ms: number) {
  clock.t += ms;
  for (const t of timers) {
    if (!t.live || t.at > clock.t) continue;
    t.live = false;
    t.fn();
  }
}
const now = () => clock.t;

async function meeting(names: string[]): Promise<Member[]> {
  const devices = await Promise.all(names.map((n) => MlsDevice.create(guest(n))));
  const host = await MlsSession.create(devices[0]!, {
    groupId: enc.encode('clip-test-group'),
    roles: { hosts: [toBase64(devices[0]!.signatureKeys.publicKey)], cohosts: [] },
  });
  const p = await host.prepareCommit({
    add: await Promise.all(devices.slice(1).map((d) => d.createKeyPackage())),
  });
  host.applyCommit(p);
  const sessions = [
    host,
    ...(await Promise.all(devices.slice(1).map((d) => MlsSession.join(d, p.welcome!)))),
  ];
  const members = sessions.map((session, i): Member => {
    const batches: FrameBatch[] = [];
    const keys = new MediaKeys({ now });
    const evidence = new FrameEvidence(keys, (b) => batches.push(b), {
      batcher: { now, schedule },
      checker: { now },
      buffer: { now },
    });
    evidence.setEnabled(true);
    return { name: names[i]!, session, evidence, batches, recorder: new AttestationRecorder(), sent: [] };
  });
  for (const m of members)
    m.evidence.keys.setEpoch(m.session.epoch, await m.session.sframeBaseKey(16), m.session.ownLeafIndex);
  return members;
}

/** Signs the sender's closed batches and hands the verified hashes to every other member. */
async function attest(sender: Member, others: Member[]) {
  for (const batch of sender.batches.splice(0)) {
    const r = sender.recorder.next(sender.session.groupId, batch);
    const signature = await sender.session.signWithLeafKey(LEAF_SIGNATURE_LABELS.frameAttestation, r.encoded);
    sender.sent.push({ proof: 0, body: toBase64(r.encoded), signature: toBase64(signature) });
    for (const o of others) o.evidence.accept(r.body);
  }
}

const camera = (seq: number, key = seq % 10 === 0) => {
  const f = new Uint8Array(300);
  f.set([key ? 0x10 : 0x11, 0x02, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0xe0, 0x01, 0x00]);
  f.set(enc.encode(`camera frame ${seq}`), 10);
  return f;
};
const audio = (seq: number) => Uint8Array.from([0x78, ...enc.encode(`audio frame ${seq}`)]);

/** `sender` sends `seconds` of 10 fps video and 20 Hz audio to `receiver`, attesting each second. */
async function stream(sender: Member, receiver: Member, seconds: number, start = 0) {
  for (let i = start * 10; i < (start + seconds) * 10; i++) {
    const v = await sender.evidence.protect('camera', 'vp8', camera(i));
    await receiver.evidence.unprotect('vp8', v);
    for (const k of [0, 1]) {
      const a = await sender.evidence.protect('audio', 'opus', audio(2 * i + k));
      await receiver.evidence.unprotect('opus', a);
    }
    advance(100);
    await attest(sender, [receiver]);
  }
}

async function clipOf(receiver: Member, sender: Member, seconds: number) {
  const c = receiver.evidence.clip(sender.session.ownLeafIndex, seconds)!;
  const clip: ClipEvidence = {
    leafIndex: c.leafIndex,
    frames: c.frames.map((f) => ({ at: f.at, codec: f.codec, data: toBase64(f.data) })),
    keys: c.keys.map((k) => ({ kid: String(k.kid), key: toBase64(k.key), salt: toBase64(k.salt) })),
    attestations: sender.sent.map((a) => ({ ...a })),
  };
  const proof = await verifyMembershipProof(receiver.session.membershipProof()!);
  return { clip, proofs: [proof] as ProvenGroup[] };
}

const flip = (b64: string, at: number) => {
  const b = fromBase64(b64);
  b[at < 0 ? b.length + at : at]! ^= 1;
  return toBase64(b);
};

describe('frame attestation and clips', () => {
  it('a receiver clip of an honest sender verifies, frame by frame, as signed by the sender', async () => {
    const [alice, bob] = await meeting(['alice', 'bob']);
    await stream(alice!, bob!, 3);
    const { clip, proofs } = await clipOf(bob!, alice!, 10);
    expect(clip.frames).toHaveLength(90);
    expect(clip.keys.map((k) => k.kid).sort()).toEqual(
      [mediaKid('audio', 0, alice!.session.epoch), mediaKid('camera', 0, alice!.session.epoch)]
        .map(String)
        .sort(),
    );
    const v = await verifyClip(clip, proofs);
    expect(v).toMatchObject({ ok: true, frames: 90, verifiedFrames: 90, leafIndex: 0 });
    expect(v.sender?.identity.displayName).toBe('alice');
    expect(v.durationMs).toBeGreaterThanOrEqual(2_800);
    expect(v.decrypted[0]).toMatchObject({ codec: 'vp8', keyFrame: true, verified: true, frame: camera(0) });
    expect(v.decrypted[1]!.frame).toEqual(audio(0));
    // Live: nothing unattested.
    advance(20_000);
    expect(bob!.evidence.senderStats().get(0)).toMatchObject({ unattested: 0 });
  });

  it('a member sending under another member\u2019s KID: flagged live, and its frames do not verify in a clip', async () => {
    const [alice, bob, mallory] = await meeting(['alice', 'bob', 'mallory']);
    await stream(alice!, bob!, 4); // (the checker judges nothing of its first 3 s)
    // Mallory derives Alice's screen KID from the epoch's base key (any member can) and sends.
    const base = await mallory!.session.sframeBaseKey(16);
    const forged = await SFrameSender.create(4, mediaKid('screen', 0, mallory!.session.epoch), base);
    for (let i = 0; i < 5; i++) {
      const out = await bob!.evidence.unprotect(
        'vp8',
        await protectEncodedFrame(forged, 'vp8', camera(100 + i)),
      );
      expect(out.senderIndex).toBe(0); // SFrame alone says: Alice
    }
    await stream(alice!, bob!, 4, 4); // Alice goes on attesting her own camera and audio
    const stats = bob!.evidence.senderStats().get(0)!;
    expect(stats.unattested).toBe(5);
    expect(stats.lastUnattestedAt).toBeGreaterThan(0);
    // A clip of "Alice" with Mallory's frames in it does not verify.
    const { clip, proofs } = await clipOf(bob!, alice!, 60);
    const v = await verifyClip(clip, proofs);
    expect(v.ok).toBe(false);
    expect(v.detail).toMatch(/in no attestation of the sender/);
    expect(v.verifiedFrames).toBe(v.frames - 5);
    // Mallory cannot attest for Alice: a body with Alice's leaf signed by Mallory's key fails.
    const body = decodeAttestation(fromBase64(alice!.sent[0]!.body));
    const faked = encodeAttestation({ ...body, hashes: body.hashes });
    const sig = await mallory!.session.signWithLeafKey(LEAF_SIGNATURE_LABELS.frameAttestation, faked);
    const honest = await clipOf(bob!, alice!, 1);
    honest.clip.attestations[honest.clip.attestations.length - 1]!.signature = toBase64(sig);
    const w = await verifyClip(honest.clip, honest.proofs);
    expect(w.ok).toBe(false);
  });

  it('tampering of any kind does not verify', async () => {
    const [alice, bob, carol] = await meeting(['alice', 'bob', 'carol']);
    await stream(alice!, bob!, 4);
    await stream(carol!, bob!, 1);
    const base = await clipOf(bob!, alice!, 10);
    expect((await verifyClip(base.clip, base.proofs)).ok).toBe(true);
    const cases: [string, (c: ClipEvidence) => void, RegExp][] = [
      [
        'a flipped ciphertext byte',
        (c) => (c.frames[5]!.data = flip(c.frames[5]!.data, -3)),
        /does not decrypt/,
      ],
      [
        'a flipped clear-prefix byte',
        (c) => (c.frames[3]!.data = flip(c.frames[3]!.data, 1)),
        /does not decrypt/,
      ],
      [
        'a flipped body byte',
        (c) => (c.attestations[1]!.body = flip(c.attestations[1]!.body, -1)),
        /signature/,
      ],
      [
        'a flipped signature byte',
        (c) => (c.attestations[0]!.signature = flip(c.attestations[0]!.signature, 5)),
        /signature/,
      ],
      ['a malformed body', (c) => (c.attestations[0]!.body = toBase64(Uint8Array.of(1, 2, 3))), /malformed/],
      ['a body that is not base64', (c) => (c.attestations[0]!.body = '***'), /base64/],
      ['a proof index with no proof', (c) => (c.attestations[0]!.proof = 3), /membership proof/],
      ['a missing second of the chain', (c) => c.attestations.splice(3, 1), /gap before seq/],
      ['a repeated frame', (c) => c.frames.splice(10, 0, { ...c.frames[7]! }), /repeats|order/],
      [
        'two frames of one KID swapped',
        (c) => ([c.frames[3], c.frames[6]] = [c.frames[6]!, c.frames[3]!]),
        /order/,
      ],
      [
        'the reported leaf changed',
        (c) => (c.leafIndex = carol!.session.ownLeafIndex),
        /not the reported member|another member/,
      ],
      [
        'another leaf\u2019s key material',
        (c) => {
          const other = bob!.evidence.clip(carol!.session.ownLeafIndex, 10)!;
          c.keys[0] = {
            kid: c.keys[0]!.kid,
            key: toBase64(other.keys[0]!.key),
            salt: toBase64(other.keys[0]!.salt),
          };
        },
        /does not decrypt/,
      ],
      [
        'a KID of another leaf',
        (c) => c.keys.push({ kid: String(mediaKid('audio', 2, 1n)), key: 'AA==', salt: 'AA==' }),
        /not the reported member/,
      ],
    ];
    for (const [name, tamper, why] of cases) {
      const c = structuredClone(base.clip);
      tamper(c);
      const v = await verifyClip(c, base.proofs);
      expect(v.ok, name).toBe(false);
      expect(v.detail, name).toMatch(why);
    }
    // Moving a stream's receive times changes nothing that is shown: verified frames are timed
    // by the sender's signatures.
    const moved = structuredClone(base.clip);
    moved.frames.forEach((f) => f.codec === 'opus' && (f.at += 8_000));
    const honest = await verifyClip(base.clip, base.proofs);
    const shifted = await verifyClip(moved, base.proofs);
    expect(shifted.ok).toBe(true);
    expect(shifted.decrypted.map((f) => f.at)).toEqual(honest.decrypted.map((f) => f.at));
    expect(
      shifted.decrypted.filter((f) => f.codec === 'opus').every((f) => f.receivedAt - f.at >= 7_000),
    ).toBe(true);
    expect(shifted.durationMs).toBe(honest.durationMs);
    // A proof of another group with the same id: its leaf is someone else.
    const [other] = await meeting(['zed']);
    const foreign = await verifyMembershipProof(other!.session.membershipProof()!);
    expect((await verifyClip(base.clip, [foreign])).detail).toMatch(
      /signature does not verify with zed's key/,
    );
  });

  it('the chain may start mid-way and restart at seq 0, and a clip that drops the earliest seconds verifies', async () => {
    const [alice, bob] = await meeting(['alice', 'bob']);
    await stream(alice!, bob!, 3);
    const { clip, proofs } = await clipOf(bob!, alice!, 10);
    // Drop the first second's frames and attestations: still one unbroken chain after them.
    const firstBodies = clip.attestations.filter((a) => decodeAttestation(fromBase64(a.body)).seq === 0);
    const c = structuredClone(clip);
    c.attestations = c.attestations.filter((a) => !firstBodies.some((f) => f.body === a.body));
    c.frames = c.frames.slice(30);
    expect(await verifyClip(c, proofs)).toMatchObject({ ok: true, verifiedFrames: 60 });
    // A sender that restarts (a new recorder) starts new chains at seq 0.
    alice!.recorder.reset();
    await stream(alice!, bob!, 1, 3);
    const again = await clipOf(bob!, alice!, 10);
    expect(await verifyClip(again.clip, again.proofs)).toMatchObject({ ok: true, verifiedFrames: 120 });
  });
});
