import { describe, expect, it } from 'vitest';
import { toBase64 } from '../src/util/bytes.js';
import {
  KID_EPOCH_BITS,
  MAX_OLDER_EPOCHS,
  MediaKeys,
  MlsDevice,
  MlsSession,
  decodeHeader,
  clearPrefixLength,
  parseMediaKid,
  mediaKid,
  type MemberIdentity,
} from '../src/index.js';

const guest = (name: string): MemberIdentity => ({
  kind: 'guest',
  deviceId: `dev-${name}`,
  displayName: name,
});
const enc = new TextEncoder();

interface Member {
  session: MlsSession;
  keys: MediaKeys;
  now: { t: number };
}

async function sync(m: Member) {
  m.keys.setEpoch(m.session.epoch, await m.session.sframeBaseKey(m.keys.nk), m.session.ownLeafIndex);
}

function newKeys() {
  const now = { t: 0 };
  return { keys: new MediaKeys({ graceMs: 1_000, now: () => now.t }), now };
}

async function group(names: string[]): Promise<Member[]> {
  const devices = await Promise.all(names.map((n) => MlsDevice.create(guest(n))));
  // The first member is the group's host: it may commit removals (commit-policy.ts).
  const host = await MlsSession.create(devices[0]!, {
    groupId: enc.encode('g'),
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
  const members = sessions.map((session) => ({ session, ...newKeys() }));
  for (const m of members) await sync(m);
  return members;
}

/** `committer` commits (optionally removing leaves); all `members` still in the group process it. */
async function commit(committer: Member, members: Member[], remove: number[] = []) {
  const p = await committer.session.prepareCommit({ remove });
  committer.session.applyCommit(p);
  for (const m of members) if (m !== committer) await m.session.processHandshake(p.commit);
  for (const m of members) if (m.session.active) await sync(m);
}

/** A VP8 delta frame (first byte bit 0 = 1) with a recognisable pattern. */
function vp8Delta(tag: string): Uint8Array {
  const body = enc.encode(`PATTERN:${tag}`.padEnd(200, '.'));
  const f = new Uint8Array(body.length + 3);
  f.set([0x01, 0x02, 0x03]);
  f.set(body, 3);
  return f;
}

describe('SFrame keys from MLS (RFC 9605 §5.2)', () => {
  it('every member decrypts every other member in every epoch, and frames differ per epoch key', async () => {
    const members = await group(['a', 'b', 'c']);
    for (let round = 0; round < 3; round++) {
      for (const sender of members) {
        const frame = vp8Delta(`${sender.session.ownLeafIndex}-${round}`);
        const protectedFrame = await sender.keys.protect('camera', 'vp8', frame);
        expect(Buffer.from(protectedFrame).includes(Buffer.from('PATTERN'))).toBe(false);
        for (const receiver of members) {
          if (receiver === sender) continue;
          const out = await receiver.keys.unprotect('vp8', protectedFrame);
          expect(out.frame).toEqual(frame);
          expect(out.senderIndex).toBe(sender.session.ownLeafIndex);
          expect(out.epoch).toBe(sender.session.epoch);
          expect(out.context).toBe('camera');
        }
      }
      await commit(members[round % 3]!, members);
    }
  });

  it('the KID carries context, sender index and the low epoch bits', () => {
    const kid = mediaKid('screen', 300, 0x1234n);
    expect(parseMediaKid(kid)).toEqual({ context: 'screen', senderIndex: 300, epochBits: 0x4 });
    expect(mediaKid('audio', 5, 3n)).toBe((5n << 4n) + 3n);
  });

  it('a removed member can neither derive the new keys nor decrypt frames sent after the removal', async () => {
    const members = await group(['a', 'b', 'c', 'd']);
    const [a, b, c, d] = members as [Member, Member, Member, Member];
    const removedKeyBefore = await c.session.sframeBaseKey(16);
    await commit(a, members, [c.session.ownLeafIndex]);
    expect(c.session.active).toBe(false);
    // c's exporter still answers for its last epoch only
    expect(Buffer.from(await c.session.sframeBaseKey(16))).toEqual(Buffer.from(removedKeyBefore));
    expect(Buffer.from(await a.session.sframeBaseKey(16))).not.toEqual(Buffer.from(removedKeyBefore));
    // a recording of what c would have received after the removal
    const recorded = [
      await a.keys.protect('camera', 'vp8', vp8Delta('after-1')),
      await b.keys.protect('audio', 'opus', enc.encode('\x78opus-after')),
      await d.keys.protect('camera', 'vp8', vp8Delta('after-2')),
    ];
    const codecOf = (r: Uint8Array) => (r[0] === 0x78 ? 'opus' : 'vp8');
    // the remaining members decrypt it
    expect((await d.keys.unprotect('vp8', recorded[0]!)).frame).toEqual(vp8Delta('after-1'));
    expect(new TextDecoder().decode((await d.keys.unprotect('opus', recorded[1]!)).frame)).toBe(
      '\x78opus-after',
    );
    expect((await b.keys.unprotect('vp8', recorded[2]!)).frame).toEqual(vp8Delta('after-2'));
    // even with every key it ever had, and long after the grace period
    c.now.t += 10_000;
    for (const r of recorded) {
      await expect(c.keys.unprotect(codecOf(r), r)).rejects.toMatchObject({ name: 'SFrameError' });
    }
    // nor with a fresh key ring fed the last base key it knew under every possible epoch
    const attacker = new MediaKeys();
    for (let e = 0n; e < 16n; e++) attacker.setEpoch(e, removedKeyBefore, 2);
    for (const r of recorded) {
      await expect(attacker.unprotect(codecOf(r), r)).rejects.toMatchObject({ name: 'SFrameError' });
    }
    // no key for those epochs: counted as frames without a key, not as failed decryptions
    expect(c.keys.senderStats().get(a.session.ownLeafIndex)).toMatchObject({ failures: 0, withoutKey: 1 });
  });

  it('a newcomer cannot decrypt frames from before its join', async () => {
    const members = await group(['a', 'b']);
    const early = await members[0]!.keys.protect('camera', 'vp8', vp8Delta('early'));
    const dev = await MlsDevice.create(guest('late'));
    const p = await members[0]!.session.prepareCommit({ add: [await dev.createKeyPackage()] });
    members[0]!.session.applyCommit(p);
    await members[1]!.session.processHandshake(p.commit);
    const late: Member = { session: await MlsSession.join(dev, p.welcome!), ...newKeys() };
    for (const m of [...members, late]) await sync(m);
    await expect(late.keys.unprotect('vp8', early)).rejects.toMatchObject({ code: 'unknown_kid' });
    // but the old members still can, within the grace window
    expect((await members[1]!.keys.unprotect('vp8', early)).frame).toEqual(vp8Delta('early'));
    const fresh = await members[0]!.keys.protect('camera', 'vp8', vp8Delta('fresh'));
    expect((await late.keys.unprotect('vp8', fresh)).frame).toEqual(vp8Delta('fresh'));
  });

  it('old epochs are kept for the grace period, then dropped', async () => {
    const members = await group(['a', 'b']);
    const [a, b] = members as [Member, Member];
    const old = await a.keys.protect('audio', 'opus', enc.encode('\x01old'));
    await commit(a, members);
    b.now.t += 500;
    expect((await b.keys.unprotect('opus', old)).epoch).toBe(1n);
    const old2 = await a.keys.protect('audio', 'opus', enc.encode('\x01new'));
    expect((await b.keys.unprotect('opus', old2)).epoch).toBe(2n);
    const late = old.slice();
    b.now.t += 600; // past the 1 s grace
    await expect(b.keys.unprotect('opus', late)).rejects.toMatchObject({ code: 'unknown_kid' });
  });

  it(`epoch low-bit rollover (E = ${KID_EPOCH_BITS}): an epoch 16 later replaces the old one`, async () => {
    const members = await group(['a', 'b', 'c']);
    const [a, b] = members as [Member, Member];
    const first = await a.keys.protect('camera', 'vp8', vp8Delta('epoch1'));
    const kid1 = decodeHeader(first, clearPrefixLength('vp8', first)).kid;
    for (let i = 0; i < 1 << KID_EPOCH_BITS; i++) await commit(members[i % 3]!, members);
    expect(a.session.epoch).toBe(17n);
    const later = await a.keys.protect('camera', 'vp8', vp8Delta('epoch17'));
    const kid17 = decodeHeader(later, clearPrefixLength('vp8', later)).kid;
    expect(kid17).toBe(kid1); // same KID: low bits rolled over
    const out = await b.keys.unprotect('vp8', later);
    expect(out.epoch).toBe(17n);
    expect(out.frame).toEqual(vp8Delta('epoch17'));
    // the epoch-1 frame is not decrypted with the epoch-17 key
    await expect(b.keys.unprotect('vp8', first)).rejects.toMatchObject({ name: 'SFrameError' });
  });

  it(`many epochs within the grace: a frame from an epoch we do not hold yet waits for it (no key), never opens under the epoch ${1 << KID_EPOCH_BITS} back`, async () => {
    const members = await group(['a', 'b', 'c']);
    const [a, b] = members as [Member, Member];
    // 1 << E commits in a moment (a growing meeting): no grace runs out.
    for (let i = 0; i < 1 << KID_EPOCH_BITS; i++) await commit(members[i % 3]!, members);
    const before = b.session.epoch;
    // a commits once more; b has not processed it yet.
    const p = await a.session.prepareCommit({});
    a.session.applyCommit(p);
    await sync(a);
    const ahead = await a.keys.protect('camera', 'vp8', vp8Delta('ahead'));
    expect(a.session.epoch).toBe(before + 1n);
    await expect(b.keys.unprotect('vp8', ahead)).rejects.toMatchObject({ code: 'unknown_kid' });
    expect(b.keys.senderStats().get(a.session.ownLeafIndex)?.failures ?? 0).toBe(0);
    await b.session.processHandshake(p.commit);
    await sync(b);
    expect((await b.keys.unprotect('vp8', ahead)).frame).toEqual(vp8Delta('ahead'));
    // Half the epoch-bit values stay free for epochs ahead of ours.
    expect(MAX_OLDER_EPOCHS).toBe((1 << KID_EPOCH_BITS) / 2 - 1);
  });

  it('replayed frames and frames under a wrong key are rejected', async () => {
    const members = await group(['a', 'b', 'c']);
    const [a, b] = members as [Member, Member];
    const f = await a.keys.protect('camera', 'vp8', vp8Delta('once'));
    await b.keys.unprotect('vp8', f);
    await expect(b.keys.unprotect('vp8', f)).rejects.toMatchObject({ code: 'replay' });
    const outsider = await group(['x', 'y']);
    await expect(outsider[1]!.keys.unprotect('vp8', f)).rejects.toMatchObject({ code: 'auth_failed' });
    const tampered = f.slice();
    tampered[tampered.length - 1]! ^= 0x80;
    const f2 = await a.keys.protect('camera', 'vp8', vp8Delta('twice'));
    const t2 = f2.slice();
    t2[t2.length - 3]! ^= 1;
    await expect(b.keys.unprotect('vp8', t2)).rejects.toMatchObject({ code: 'auth_failed' });
    // the genuine frame still decrypts after a forged copy was rejected
    expect((await b.keys.unprotect('vp8', f2)).frame).toEqual(vp8Delta('twice'));
    expect(b.keys.senderStats().get(a.session.ownLeafIndex)).toEqual({
      decrypted: 2,
      failures: 2,
      withoutKey: 0,
      lastDecryptedAt: expect.any(Number),
      lastFailedAt: expect.any(Number),
    });
  });

  it('concurrent first frames share one sender: no (KID, CTR) reuse', async () => {
    const members = await group(['a', 'b']);
    const frames = await Promise.all(
      Array.from({ length: 20 }, (_, i) => members[0]!.keys.protect('audio', 'opus', enc.encode(`\x01${i}`))),
    );
    const ctrs = frames.map((f) => decodeHeader(f, 1).ctr);
    expect(new Set(ctrs).size).toBe(20);
  });

  it('a frame whose encryption spans an epoch change comes out under the new key, never the old one', async () => {
    const members = await group(['a', 'b', 'c']);
    const [a, b, c] = members as [Member, Member, Member];
    // c keeps only what it held before its removal
    const removed = c.keys;
    const p = await a.session.prepareCommit({ remove: [c.session.ownLeafIndex] });
    a.session.applyCommit(p);
    await b.session.processHandshake(p.commit);
    await sync(b);
    const nextKey = await a.session.sframeBaseKey(a.keys.nk);
    // a frame starts under the old epoch; the new epoch's key arrives before its encryption ends
    const pending = a.keys.protectFrame('camera', 'vp8', vp8Delta('spans'));
    a.keys.setEpoch(a.session.epoch, nextKey, a.session.ownLeafIndex);
    const out = await pending;
    expect(out.epoch).toBe(a.session.epoch);
    expect(parseMediaKid(decodeHeader(out.frame, clearPrefixLength('vp8', out.frame)).kid).epochBits).toBe(
      Number(a.session.epoch % BigInt(1 << KID_EPOCH_BITS)),
    );
    await expect(removed.unprotect('vp8', out.frame)).rejects.toMatchObject({ name: 'SFrameError' });
    expect((await b.keys.unprotect('vp8', out.frame)).frame).toEqual(vp8Delta('spans'));
    // and a frame whose key is dropped meanwhile is not sent at all
    const dropped = a.keys.protect('audio', 'opus', enc.encode('\x01gone'));
    a.keys.forget();
    await expect(dropped).rejects.toMatchObject({ name: 'SFrameError', code: 'unknown_kid' });
  });
});
