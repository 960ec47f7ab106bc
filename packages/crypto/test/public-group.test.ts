import { describe, expect, it } from 'vitest';
import { ExternalSender, MlsDevice, MlsSession, PublicGroup, type MemberIdentity } from '../src/mls/index.js';
import { toBase64 } from '../src/util/bytes.js';

const guest = (name: string): MemberIdentity => ({
  kind: 'guest',
  deviceId: `dev-${name}`,
  displayName: name,
});

/** A host-created group, its public view at the delivery service, and helpers to commit through both. */
async function setup(names: string[]) {
  const server = await ExternalSender.generate();
  const devices = await Promise.all(names.map((n) => MlsDevice.create(guest(n))));
  const host = await MlsSession.create(devices[0]!, {
    groupId: crypto.getRandomValues(new Uint8Array(16)),
    externalSender: { signaturePublicKey: server.publicKey },
    serverKey: server.publicKey,
    roles: { hosts: [toBase64(devices[0]!.signatureKeys.publicKey)], cohosts: [] },
  });
  let view = await PublicGroup.fromGroupInfo(await host.groupInfo(), {
    serverKey: server.publicKey,
    creatorSignatureKey: devices[0]!.signatureKeys.publicKey,
  });
  const sessions = [host];
  if (names.length > 1) {
    const kps = await Promise.all(devices.slice(1).map((d) => d.createKeyPackage()));
    const pending = await host.prepareCommit({ add: kps });
    const verified = await view.verifyCommit(pending.commit, pending.welcome);
    view = verified.next;
    host.applyCommit(pending);
    for (const d of devices.slice(1))
      sessions.push(await MlsSession.join(d, pending.welcome!, { serverKey: server.publicKey }));
  }
  return { server, devices, sessions, view: () => view, setView: (v: PublicGroup) => (view = v) };
}

describe('PublicGroup: the delivery service checks commits on public data', () => {
  it('tracks the group through adds, rekeys and server removals, with the same tree as the members', async () => {
    const g = await setup(['host', 'bob', 'carol']);
    const [host, bob, carol] = g.sessions as [MlsSession, MlsSession, MlsSession];
    expect(g.view().epoch).toBe(1n);
    expect(
      g
        .view()
        .members()
        .map((m) => [m.leafIndex, m.identity.displayName]),
    ).toEqual([
      [0, 'host'],
      [1, 'bob'],
      [2, 'carol'],
    ]);
    // bob rekeys
    const rekey = await bob.prepareCommit();
    const v1 = await g.view().verifyCommit(rekey.commit, undefined);
    expect(v1.committerLeaf).toBe(1);
    expect(v1.hasPath).toBe(true);
    g.setView(v1.next);
    bob.applyCommit(rekey);
    await host.processHandshake(rekey.commit);
    await carol.processHandshake(rekey.commit);
    // the server proposes removing carol; the host commits it
    const proposal = await g.view().proposeRemove(g.server, 2);
    await host.processHandshake(proposal, { acceptRemoveOf: (m) => m.identity.deviceId === 'dev-carol' });
    await bob.processHandshake(proposal, { acceptRemoveOf: (m) => m.identity.deviceId === 'dev-carol' });
    const removal = await host.prepareCommit();
    const v2 = await g.view().verifyCommit(removal.commit, undefined);
    expect(v2.effect.removes).toEqual([{ leafIndex: 2, by: 'server' }]);
    host.applyCommit(removal);
    await bob.processHandshake(removal.commit);
    expect(v2.next.epoch).toBe(host.epoch);
    expect(v2.next.context.treeHash).toEqual(
      (host as unknown as { state: { groupContext: { treeHash: Uint8Array } } }).state.groupContext.treeHash,
    );
    expect(v2.next.context.confirmedTranscriptHash).toEqual(
      (bob as unknown as { state: { groupContext: { confirmedTranscriptHash: Uint8Array } } }).state
        .groupContext.confirmedTranscriptHash,
    );
  });

  it('learns the added leaves from the commit and refuses a Welcome for someone else', async () => {
    const g = await setup(['host']);
    const [host] = g.sessions as [MlsSession];
    const dave = await MlsDevice.create(guest('dave'));
    const eve = await MlsDevice.create(guest('eve'));
    const pending = await host.prepareCommit({ add: [await dave.createKeyPackage()] });
    const other = await host.prepareCommit({ add: [await eve.createKeyPackage()] });
    await expect(g.view().verifyCommit(pending.commit, other.welcome)).rejects.toThrow(
      /Welcome is not for exactly/,
    );
    await expect(g.view().verifyCommit(pending.commit, undefined)).rejects.toThrow(/needs their Welcome/);
    const ok = await g.view().verifyCommit(pending.commit, pending.welcome);
    expect(ok.effect.added.map((a) => [a.leafIndex, a.identity.displayName])).toEqual([[1, 'dave']]);
  });

  it('refuses a commit whose bytes were changed, or that is not a PublicMessage', async () => {
    const g = await setup(['host', 'bob']);
    const [, bob] = g.sessions as [MlsSession, MlsSession];
    const rekey = await bob.prepareCommit();
    // flip one byte in the UpdatePath near the end of the signed content
    for (const at of [rekey.commit.length - 200, 40]) {
      const bad = rekey.commit.slice();
      bad[at]! ^= 0x55;
      await expect(g.view().verifyCommit(bad, undefined)).rejects.toThrow();
    }
    const app = await bob.encryptApplication(new TextEncoder().encode('hi'));
    await expect(g.view().verifyCommit(app, undefined)).rejects.toThrow(/PublicMessage/);
  });

  it('refuses a plain participant committing the host’s removal or a roles change', async () => {
    const g = await setup(['host', 'bob']);
    const [, bob] = g.sessions as [MlsSession, MlsSession];
    const removeHost = await bob.prepareCommit({ remove: [0] });
    await expect(g.view().verifyCommit(removeHost.commit, undefined)).rejects.toThrow(
      /only the host or a co-host may remove/,
    );
    const claim = await bob.prepareCommit({
      roles: { hosts: [toBase64(g.devices[1]!.signatureKeys.publicKey)], cohosts: [] },
    });
    await expect(g.view().verifyCommit(claim.commit, undefined)).rejects.toThrow(
      /only the host may change the roles/,
    );
  });
});

describe('PublicGroup.fromGroupInfo: the group a creator announces', () => {
  it('refuses a GroupInfo whose leaf is not the creator’s key, or that does not list this server as external sender', async () => {
    const server = await ExternalSender.generate();
    const other = await ExternalSender.generate();
    const creator = await MlsDevice.create(guest('creator'));
    const someoneElse = await MlsDevice.create(guest('else'));
    const group = (sender: ExternalSender | undefined) =>
      MlsSession.create(creator, {
        groupId: crypto.getRandomValues(new Uint8Array(16)),
        ...(sender ? { externalSender: { signaturePublicKey: sender.publicKey } } : {}),
      });
    const gi = await (await group(server)).groupInfo();
    const ok = await PublicGroup.fromGroupInfo(gi, {
      serverKey: server.publicKey,
      creatorSignatureKey: creator.signatureKeys.publicKey,
    });
    expect(ok.members().map((m) => m.identity.displayName)).toEqual(['creator']);
    await expect(
      PublicGroup.fromGroupInfo(gi, {
        serverKey: server.publicKey,
        creatorSignatureKey: someoneElse.signatureKeys.publicKey,
      }),
    ).rejects.toThrow(/not the creator’s key/);
    for (const sender of [other, undefined])
      await expect(
        PublicGroup.fromGroupInfo(await (await group(sender)).groupInfo(), {
          serverKey: server.publicKey,
          creatorSignatureKey: creator.signatureKeys.publicKey,
        }),
      ).rejects.toThrow(/only it, as external sender/);
    const flipped = gi.slice();
    flipped[flipped.length - 5]! ^= 1; // inside the signature
    await expect(
      PublicGroup.fromGroupInfo(flipped, {
        serverKey: server.publicKey,
        creatorSignatureKey: creator.signatureKeys.publicKey,
      }),
    ).rejects.toThrow(/invalid_group_info|signature|GroupInfo/);
  });
});
