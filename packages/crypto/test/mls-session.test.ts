import { toBase64 } from '../src/util/bytes.js';
import { describe, expect, it } from 'vitest';
import {
  ExternalSender,
  MlsDevice,
  MlsSession,
  MlsSessionError,
  readMlsFraming,
  type MemberIdentity,
} from '../src/mls/index.js';

const guest = (name: string): MemberIdentity => ({
  kind: 'guest',
  deviceId: `dev-${name}`,
  displayName: name,
});

async function meeting(names: string[], server?: ExternalSender) {
  const devices = await Promise.all(names.map((n) => MlsDevice.create(guest(n))));
  const opts = server ? { serverKey: server.publicKey } : {};
  // The first member is the group's host: it may commit removals (commit-policy.ts).
  const host = await MlsSession.create(devices[0]!, {
    groupId: new TextEncoder().encode('meeting-1'),
    roles: { hosts: [toBase64(devices[0]!.signatureKeys.publicKey)], cohosts: [] },
    ...(server ? { externalSender: { signaturePublicKey: server.publicKey } } : {}),
  });
  const kps = await Promise.all(devices.slice(1).map((d) => d.createKeyPackage()));
  const pending = await host.prepareCommit({ add: kps });
  host.applyCommit(pending);
  const others = await Promise.all(devices.slice(1).map((d) => MlsSession.join(d, pending.welcome!, opts)));
  return { devices, sessions: [host, ...others] };
}

/** Delivers a commit made by `from` to every other session in `all`. */
async function deliver(from: MlsSession, all: MlsSession[], commit: Uint8Array) {
  for (const s of all) if (s !== from) await s.processHandshake(commit);
}

describe('MLS session', () => {
  it('three members agree on roster, epoch, security code and SFrame base key', async () => {
    const { sessions } = await meeting(['alice', 'bob', 'carol']);
    const codes = await Promise.all(sessions.map((s) => s.securityCode()));
    expect(new Set(codes).size).toBe(1);
    expect(codes[0]).toMatch(/^\d{4}( \d{4}){4}$/);
    const keys = await Promise.all(sessions.map((s) => s.sframeBaseKey(16)));
    expect(new Set(keys.map((k) => Buffer.from(k).toString('hex'))).size).toBe(1);
    for (const s of sessions) {
      expect(s.epoch).toBe(1n);
      expect(s.members().map((m) => m.identity.displayName)).toEqual(['alice', 'bob', 'carol']);
    }
    expect(new Set(sessions.map((s) => s.ownLeafIndex))).toEqual(new Set([0, 1, 2]));
  });

  it('a commit of several adds, then a rekey: every epoch the same code, different from the previous', async () => {
    const { devices, sessions } = await meeting(['a', 'b', 'c']);
    const seen = new Set<string>();
    seen.add(await sessions[0]!.securityCode());
    // the host (a) adds two more in one commit
    const newDevices = await Promise.all(['d', 'e'].map((n) => MlsDevice.create(guest(n))));
    const pending = await sessions[0]!.prepareCommit({
      add: await Promise.all(newDevices.map((d) => d.createKeyPackage())),
    });
    sessions[0]!.applyCommit(pending);
    await deliver(sessions[0]!, sessions, pending.commit);
    const joined = await Promise.all(newDevices.map((d) => MlsSession.join(d, pending.welcome!)));
    const all = [...sessions, ...joined];
    for (let round = 0; round < 3; round++) {
      const codes = await Promise.all(all.map((s) => s.securityCode()));
      expect(new Set(codes).size).toBe(1);
      expect(seen.has(codes[0]!)).toBe(false);
      seen.add(codes[0]!);
      const committer = all[round % all.length]!;
      const rekey = await committer.prepareCommit();
      expect(rekey.welcome).toBeUndefined();
      committer.applyCommit(rekey);
      await deliver(committer, all, rekey.commit);
    }
    expect(all.every((s) => s.epoch === 5n)).toBe(true);
    expect(devices.length).toBe(3);
  });

  it('different groups give different security codes', async () => {
    const a = await meeting(['a', 'b']);
    const b = await meeting(['a', 'b']);
    expect(await a.sessions[0]!.securityCode()).not.toBe(await b.sessions[0]!.securityCode());
  });

  it('a removed member cannot process the next commit nor derive the new epoch keys', async () => {
    const { sessions } = await meeting(['a', 'b', 'c', 'd']);
    const [a, b, c, d] = sessions as [MlsSession, MlsSession, MlsSession, MlsSession];
    const removal = await a.prepareCommit({ remove: [c.ownLeafIndex] });
    a.applyCommit(removal);
    await b.processHandshake(removal.commit);
    await d.processHandshake(removal.commit);
    const r = await c.processHandshake(removal.commit);
    expect(r.kind === 'commit' && r.removedSelf).toBe(true);
    expect(c.active).toBe(false);
    const newKey = Buffer.from(await a.sframeBaseKey(16)).toString('hex');
    expect(Buffer.from(await b.sframeBaseKey(16)).toString('hex')).toBe(newKey);
    // c's state stays at the epoch it was removed in; its exporter yields a different key
    expect(Buffer.from(await c.sframeBaseKey(16)).toString('hex')).not.toBe(newKey);
    // the next rekey is not processable by c at all
    const rekey = await b.prepareCommit();
    b.applyCommit(rekey);
    await expect(c.processHandshake(rekey.commit)).rejects.toBeInstanceOf(MlsSessionError);
    expect(b.members().map((m) => m.identity.displayName)).toEqual(['a', 'b', 'd']);
  });

  it('no application message while a proposal waits for its commit: proposals_pending, then it sends', async () => {
    const server = await ExternalSender.generate();
    const { sessions } = await meeting(['host', 'x', 'y'], server);
    const [host, x, y] = sessions as [MlsSession, MlsSession, MlsSession];
    const proposal = await server.proposeRemove(host.groupId, host.epoch, y.ownLeafIndex);
    // The proposal is processed while x's message waits for its turn in the session.
    const [, sent] = await Promise.allSettled([
      x.processHandshake(proposal),
      x.encryptApplication(new TextEncoder().encode('too early')),
    ]);
    expect(sent).toMatchObject({ status: 'rejected', reason: { code: 'proposals_pending' } });
    await host.processHandshake(proposal);
    const commit = await host.prepareCommit();
    host.applyCommit(commit);
    await x.processHandshake(commit.commit);
    const msg = await x.encryptApplication(new TextEncoder().encode('after the commit'));
    expect(new TextDecoder().decode((await host.decryptApplication(msg)).data)).toBe('after the commit');
  });

  it('the server proposes an external Remove, a member commits it, all others follow', async () => {
    const server = await ExternalSender.generate();
    const { sessions } = await meeting(['host', 'x', 'y'], server);
    const [host, x, y] = sessions as [MlsSession, MlsSession, MlsSession];
    const proposal = await server.proposeRemove(host.groupId, host.epoch, y.ownLeafIndex);
    expect(readMlsFraming(proposal)).toMatchObject({
      wireformat: 'mls_public_message',
      senderType: 'external',
    });
    for (const s of [host, x, y]) {
      const r = await s.processHandshake(proposal);
      expect(r).toMatchObject({
        kind: 'proposal',
        proposal: { type: 'remove', leafIndex: y.ownLeafIndex, by: 'external' },
      });
    }
    const commit = await host.prepareCommit();
    expect(commit.removed).toEqual([y.ownLeafIndex]);
    host.applyCommit(commit);
    const rx = await x.processHandshake(commit.commit);
    expect(rx).toMatchObject({ kind: 'commit', removedSelf: false });
    expect(rx.kind === 'commit' && rx.removed.map((m) => m.identity.displayName)).toEqual(['y']);
    const ry = await y.processHandshake(commit.commit);
    expect(ry.kind === 'commit' && ry.removedSelf).toBe(true);
    expect(await host.securityCode()).toBe(await x.securityCode());
  });

  it('refuses an external proposal signed by a key other than the pinned server key', async () => {
    const server = await ExternalSender.generate();
    const impostor = await ExternalSender.generate();
    const { sessions } = await meeting(['host', 'x'], server);
    const forged = await impostor.proposeRemove(sessions[0]!.groupId, sessions[0]!.epoch, 1);
    await expect(sessions[0]!.processHandshake(forged)).rejects.toBeInstanceOf(MlsSessionError);
    expect(sessions[0]!.pendingProposals()).toHaveLength(0);
  });

  it('a commit for an old epoch is refused with stale_epoch and the loser re-bases', async () => {
    const { sessions } = await meeting(['a', 'b', 'c']);
    const [a, b, c] = sessions as [MlsSession, MlsSession, MlsSession];
    const first = await a.prepareCommit();
    const second = await b.prepareCommit(); // same base epoch: loses the race
    a.applyCommit(first);
    await b.processHandshake(first.commit);
    await c.processHandshake(first.commit);
    expect(() => b.applyCommit(second)).toThrowError(/epoch/);
    await expect(c.processHandshake(second.commit)).rejects.toMatchObject({ code: 'stale_epoch' });
    const retry = await b.prepareCommit();
    b.applyCommit(retry);
    await deliver(b, sessions, retry.commit);
    expect(new Set(await Promise.all(sessions.map((s) => s.securityCode()))).size).toBe(1);
  });

  it('application messages carry the verified sender; tampering and non-members fail', async () => {
    const { sessions } = await meeting(['a', 'b', 'c']);
    const msg = await sessions[1]!.encryptApplication(new TextEncoder().encode('hello'));
    const got = await sessions[2]!.decryptApplication(msg);
    expect(new TextDecoder().decode(got.data)).toBe('hello');
    expect(got.sender.identity.displayName).toBe('b');
    const tampered = msg.slice();
    tampered[tampered.length - 5]! ^= 1;
    await expect(sessions[0]!.decryptApplication(tampered)).rejects.toBeInstanceOf(MlsSessionError);
    const outsider = await meeting(['z', 'w']);
    await expect(outsider.sessions[1]!.decryptApplication(msg)).rejects.toThrow();
  });

  it('a newcomer cannot read messages from before its join', async () => {
    const { sessions } = await meeting(['a', 'b']);
    const early = await sessions[0]!.encryptApplication(new TextEncoder().encode('before'));
    const dev = await MlsDevice.create(guest('late'));
    const p = await sessions[0]!.prepareCommit({ add: [await dev.createKeyPackage()] });
    sessions[0]!.applyCommit(p);
    await sessions[1]!.processHandshake(p.commit);
    const late = await MlsSession.join(dev, p.welcome!);
    await expect(late.decryptApplication(early)).rejects.toMatchObject({ code: 'stale_epoch' });
  });

  it('the authentication service refuses user credentials the directory rejects', async () => {
    const known = await MlsDevice.create({
      kind: 'user',
      userId: 'u1',
      deviceId: 'd1',
      displayName: 'Known',
    });
    const unknown = await MlsDevice.create({
      kind: 'user',
      userId: 'u2',
      deviceId: 'd2',
      displayName: 'Mallory',
    });
    const host = await MlsSession.create(known, {
      groupId: new Uint8Array([1]),
      directory: async (id, key) =>
        id.userId === 'u1' && Buffer.from(key).equals(Buffer.from(known.signatureKeys.publicKey)),
    });
    await expect(host.prepareCommit({ add: [await unknown.createKeyPackage()] })).rejects.toMatchObject({
      code: 'bad_key_package',
    });
    expect(host.epoch).toBe(0n);
  });

  it('malformed input gives clear errors', async () => {
    const { sessions } = await meeting(['a', 'b']);
    await expect(sessions[0]!.processHandshake(new Uint8Array([1, 2, 3]))).rejects.toMatchObject({
      code: 'malformed_mls_message',
    });
    await expect(sessions[0]!.prepareCommit({ add: [new Uint8Array(10)] })).rejects.toMatchObject({
      code: 'bad_key_package',
    });
    await expect(sessions[0]!.prepareCommit({ remove: [7] })).rejects.toMatchObject({ code: 'not_a_member' });
  });
});
