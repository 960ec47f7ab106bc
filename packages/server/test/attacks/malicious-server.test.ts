import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fromBase64, toBase64 } from '@conclave/crypto';
import { sleep, until } from '@conclave/testing';
import { MaliciousServer, type Colluder, type Victim } from './malicious-server.js';

// The SDK against a server that lies: each test has the (fake) server, alone or with members it
// plays itself, send what a compromised server could send, and checks that the real SDK
// refuses it, does not change its group, and that the meeting then goes on.

let fake: MaliciousServer;
beforeEach(async () => {
  fake = await MaliciousServer.start();
});
afterEach(async () => {
  await fake.close();
});

/** An SDK host that made the group, and two participants the server plays, added by the host. */
async function hostWithTwo(): Promise<{ host: Victim; carol: Colluder; dave: Colluder }> {
  const host = await fake.join({ displayName: 'Host' });
  const carol = await fake.colluder('Carol');
  const dave = await fake.colluder('Dave');
  const added = await fake.add(host, [carol, dave]);
  expect(added.every((d) => d.ok)).toBe(true);
  expect(host.rosterNames()).toEqual(['Carol', 'Dave', 'Host']);
  return { host, carol, dave };
}

const rosterKeys = (v: Victim) =>
  v.client
    .roster()
    .map((m) => `${m.leafIndex}:${toBase64(m.signaturePublicKey)}`)
    .sort();

describe('obs. 5: the server’s Remove proposals name the participant that left', () => {
  it('a proposal whose leaf is not the departed device is refused and never committed', async () => {
    const { host, carol, dave } = await hostWithTwo();
    const epoch = host.epoch!;
    // Dave "left"; the server's proposal removes Carol's leaf instead.
    const mark = host.conn.mark();
    host.conn.say({
      type: 'proposal',
      epoch: String(epoch),
      proposal: await fake.removeProposal(carol.active, carol.leafIndex),
      participantId: dave.participantId,
      deviceId: dave.device.identity.deviceId,
      committer: host.participantId,
    });
    await until(() => host.warnings.some((w) => w.startsWith('refused a proposal')), 'the refusal');
    expect(host.warnings.join('\n')).toMatch(/removing Carol, who is not the participant that left/);
    // Named committer, but nothing to commit: the proposal was not stored.
    await sleep(200);
    expect(host.conn.sent('commit', mark)).toHaveLength(0);
    expect(host.client.e2ee.health).toBe('ok');

    // The next commit the host makes (a rekey) removes nobody.
    host.conn.say({ type: 'rekey_request', epoch: String(epoch) });
    const rekey = await host.conn.next('commit', { from: mark });
    const seen = await fake.relay(host, rekey, [carol, dave]);
    for (const d of seen) {
      expect(d.ok).toBe(true);
      expect(d.result).toMatchObject({ kind: 'commit', removed: [], added: [] });
    }
    expect(host.epoch).toBe(epoch + 1n);
    expect(host.rosterNames()).toEqual(['Carol', 'Dave', 'Host']);
    expect(host.membership).toHaveLength(1); // only the add
    expect(host.client.e2ee.active).toBe(true);
    // Carol is still in the group: her chat reaches the host, and she reads the host's.
    await fake.chatFrom(carol, 'still here', [host]);
    expect(host.chats.at(-1)!.sender.identity.displayName).toBe('Carol');
    expect((await fake.chatTo(host, 'welcome back', carol)).text).toBe('welcome back');
  });

  it('a proposal for the device that left is stored and committed by the named committer', async () => {
    const { host, carol, dave } = await hostWithTwo();
    const epoch = host.epoch!;
    const before = host.client.e2ee.membershipCode;
    const proposal = await fake.removeProposal(dave.active, dave.leafIndex);
    // The server sends its proposal to every member; the colluders store it as members do.
    for (const c of [carol, dave]) await c.process(proposal);
    const mark = host.conn.mark();
    host.conn.say({
      type: 'proposal',
      epoch: String(epoch),
      proposal,
      participantId: dave.participantId,
      deviceId: dave.device.identity.deviceId,
      committer: host.participantId,
    });
    const commit = await host.conn.next('commit', { from: mark });
    const [forCarol, forDave] = await fake.relay(host, commit, [carol, dave]);
    expect(forCarol!.result).toMatchObject({ kind: 'commit', removedSelf: false });
    if (forCarol!.result?.kind !== 'commit') throw new Error('unreachable');
    expect(forCarol!.result.removed.map((m) => m.identity.displayName)).toEqual(['Dave']);
    expect(forDave!.result).toMatchObject({ kind: 'commit', removedSelf: true });
    expect(host.rosterNames()).toEqual(['Carol', 'Host']);
    expect(host.membership.at(-1)).toMatchObject({
      epoch: epoch + 1n,
      by: { identity: { displayName: 'Host' } },
      added: [],
      removed: [{ identity: { displayName: 'Dave' } }],
    });
    expect(host.client.e2ee.membershipCode).not.toBe(before);
    expect(host.client.e2ee.membershipCode).toBe(await carol.membershipCode());
    expect(host.client.e2ee.health).toBe('ok');
    expect(host.client.e2ee.active).toBe(true);
    await fake.chatFrom(carol, 'bye Dave', [host]);
  });
});

describe('obs. 6: who is added is shown, and a ghost changes the membership code', () => {
  it('every member is told who added whom; the membership code changes exactly when membership does', async () => {
    const host = await fake.join({ displayName: 'Host' });
    const alone = host.client.e2ee.membershipCode;
    expect(alone).toMatch(/^\d{4} \d{4} \d{4} \d{4}$/);
    const bob = await fake.join({ displayName: 'Bob', createGroup: false });
    const carol = await fake.colluder('Carol');

    expect((await fake.add(host, [bob]))[0]).toMatchObject({ ok: true });
    await until(() => bob.epoch === 1n, 'bob in the group');
    const withBob = host.client.e2ee.membershipCode;
    expect(withBob).not.toBe(alone);
    expect(bob.client.e2ee.membershipCode).toBe(withBob);
    expect(host.membership).toMatchObject([
      { epoch: 1n, by: { identity: { displayName: 'Host' } }, added: [{ identity: { displayName: 'Bob' } }] },
    ]);

    const added = await fake.add(host, [carol], [bob]);
    expect(added.every((d) => d.ok)).toBe(true);
    const withCarol = host.client.e2ee.membershipCode;
    expect(withCarol).not.toBe(withBob);
    expect(bob.client.e2ee.membershipCode).toBe(withCarol);
    expect(await carol.membershipCode()).toBe(withCarol);
    const carolAdded = {
      epoch: 2n,
      by: { identity: { displayName: 'Host' } },
      added: [{ identity: { displayName: 'Carol' } }],
      removed: [],
    };
    expect(host.membership.at(-1)).toMatchObject(carolAdded);
    expect(bob.membership).toMatchObject([carolAdded]);

    // A rekey (Bob commits) changes the security code, not the membership code, and is no membership event.
    const security = host.client.e2ee.securityCode;
    const mark = bob.conn.mark();
    bob.conn.say({ type: 'rekey_request', epoch: '2' });
    await fake.relay(bob, await bob.conn.next('commit', { from: mark }), [host, carol]);
    await until(() => host.epoch === 3n, 'the rekey');
    expect(host.client.e2ee.securityCode).not.toBe(security);
    expect(host.client.e2ee.membershipCode).toBe(withCarol);
    expect(bob.client.e2ee.membershipCode).toBe(withCarol);
    expect(host.membership).toHaveLength(2);
    expect(bob.membership).toHaveLength(1);

    // Carol leaves: the code goes back to the one of {Host, Bob}, for everyone.
    const proposal = {
      type: 'proposal' as const,
      epoch: '3',
      proposal: await fake.removeProposal(carol.active, carol.leafIndex),
      participantId: carol.participantId,
      deviceId: carol.device.identity.deviceId,
      committer: host.participantId,
    };
    bob.conn.say(proposal);
    await carol.process(proposal.proposal);
    const hostMark = host.conn.mark();
    host.conn.say(proposal);
    await fake.relay(host, await host.conn.next('commit', { from: hostMark }), [bob, carol]);
    expect(host.client.e2ee.membershipCode).toBe(withBob);
    expect(bob.client.e2ee.membershipCode).toBe(withBob);
    const carolRemoved = {
      epoch: 4n,
      by: { identity: { displayName: 'Host' } },
      removed: [{ identity: { displayName: 'Carol' } }],
    };
    expect(host.membership.at(-1)).toMatchObject(carolRemoved);
    expect(bob.membership.at(-1)).toMatchObject(carolRemoved);
    expect(host.client.e2ee.active && bob.client.e2ee.active).toBe(true);
  });

  it('a ghost that a fork shows to one member only makes the membership codes differ', async () => {
    // The server's colluder Hana hosts the group; the SDK (Bob) and Dave join from her Welcome.
    const hana = await fake.colluder('Hana');
    const dave = await fake.colluder('Dave');
    await hana.createGroup();
    const bob = await fake.join({
      displayName: 'Bob',
      createGroup: false,
      group: { groupId: toBase64(hana.active.groupId), epoch: '0' },
    });
    const welcome = await hana.commit({
      add: [fromBase64(bob.keyPackage()), fromBase64(await dave.keyPackage())],
    });
    hana.apply(welcome);
    expect(await fake.welcome(bob, welcome)).toMatchObject({ ok: true });
    await dave.join(welcome.welcome!);
    const shared = await dave.membershipCode();
    expect(bob.client.e2ee.membershipCode).toBe(shared);
    expect(bob.rosterNames()).toEqual(['Bob', 'Dave', 'Hana']);

    // At the same epoch Hana makes two commits: Bob is given the one that adds a ghost, Dave a rekey.
    const ghost = await fake.colluder('Ghost');
    const withGhost = await hana.commit({ add: [fromBase64(await ghost.keyPackage())] });
    const rekey = await hana.commit();
    expect(await fake.deliver(hana, withGhost, [bob])).toMatchObject([{ ok: true }]);
    expect(await fake.deliver(hana, rekey, [dave])).toMatchObject([{ ok: true }]);

    // Bob's SDK says who added the ghost, and Bob's code is no longer the one Dave reads out.
    expect(bob.membership).toMatchObject([
      {
        by: { identity: { displayName: 'Hana' } },
        added: [{ identity: { displayName: 'Ghost' } }],
        removed: [],
      },
    ]);
    expect(bob.rosterNames()).toEqual(['Bob', 'Dave', 'Ghost', 'Hana']);
    expect(dave.rosterNames()).toEqual(['Bob', 'Dave', 'Hana']);
    expect(await dave.membershipCode()).toBe(shared); // Dave's rekey did not change his
    expect(bob.client.e2ee.membershipCode).toBeDefined();
    expect(bob.client.e2ee.membershipCode).not.toBe(shared);
    expect(bob.client.e2ee.membershipCode).not.toBe(await dave.membershipCode());
  });
});

describe('obs. 4: a commit forwarded by the server must conform to the group policy', () => {
  it('a participant’s commit that removes the host or a member, adds, or makes itself host is refused', async () => {
    const { host, carol, dave } = await hostWithTwo();
    const ghost = await fake.colluder('Ghost');
    const attacks = [
      {
        what: 'removes the host',
        make: () => carol.commit({ remove: [host.client.ownLeafIndex!] }),
        reason: /only the host or a co-host may remove/,
      },
      {
        what: 'removes Dave',
        make: () => carol.commit({ remove: [dave.leafIndex] }),
        reason: /only the host or a co-host may remove/,
      },
      {
        what: 'adds a leaf while the host is present',
        make: async () => carol.commit({ add: [fromBase64(await ghost.keyPackage())] }),
        reason: /only the host or a co-host may add/,
      },
      {
        what: 'makes Carol host',
        make: () => carol.commit({ roles: { hosts: [carol.signatureKey], cohosts: [] } }),
        reason: /only the host may change the roles/,
      },
    ];
    for (const attack of attacks) {
      const epoch = host.epoch!;
      const roster = rosterKeys(host);
      const membership = host.membership.length;
      const [answer] = await fake.deliver(carol, await attack.make(), [host]);
      expect(answer, attack.what).toMatchObject({ ok: false });
      expect(answer!.reason, attack.what).toMatch(attack.reason);
      expect(host.warnings.at(-1)).toMatch(/^refused a commit: /);
      expect(host.epoch).toBe(epoch);
      expect(rosterKeys(host)).toEqual(roster);
      expect(host.membership).toHaveLength(membership);
      expect(host.client.e2ee.health).toBe('out_of_sync');
      expect(host.client.e2ee.active).toBe(false);

      // The next valid commit (Dave's rekey, made at the same epoch) applies: the SDK never
      // applied the refused one, and is back in sync.
      const next = await dave.commit();
      const [back] = await fake.deliver(dave, next, [host, carol]);
      dave.apply(next);
      expect(back).toMatchObject({ ok: true });
      expect(host.epoch).toBe(epoch + 1n);
      expect(host.client.e2ee.health).toBe('ok');
      expect(host.client.e2ee.active).toBe(true);
    }
    expect(host.rosterNames()).toEqual(['Carol', 'Dave', 'Host']);
    expect(host.health.filter((h) => h === 'out_of_sync')).toHaveLength(attacks.length);
    await fake.chatFrom(dave, 'the meeting goes on', [host]);
    expect((await fake.chatTo(host, 'indeed', carol)).sender.identity.displayName).toBe('Host');

    // Refused again, then the server resets the group: the host makes a new one and re-adds.
    const [again] = await fake.deliver(carol, await carol.commit({ remove: [host.client.ownLeafIndex!] }), [
      host,
    ]);
    expect(again).toMatchObject({ ok: false });
    expect(host.client.e2ee.health).toBe('out_of_sync');
    const announced = host.epochs.length;
    host.conn.say({ type: 'group_reset', creator: host.participantId });
    await host.settled(0n, announced);
    expect(host.epoch).toBe(0n);
    expect(host.client.e2ee.health).toBe('ok');
    expect(host.rosterNames()).toEqual(['Host']);
    carol.session = undefined;
    dave.session = undefined;
    expect((await fake.add(host, [carol, dave])).every((d) => d.ok)).toBe(true);
    expect(host.rosterNames()).toEqual(['Carol', 'Dave', 'Host']);
    await fake.chatFrom(carol, 'after the reset', [host]);
    expect(host.client.e2ee.active).toBe(true);
  });

  it('a commit forwarded as an MLS PrivateMessage is refused', async () => {
    const { host, carol, dave } = await hostWithTwo();
    const epoch = host.epoch!;
    const roster = rosterKeys(host);
    // An otherwise ordinary rekey, but encrypted: the delivery service could not have checked it.
    const hidden = await carol.privateCommit();
    const [answer] = await fake.deliver(carol, hidden, [host]);
    expect(answer).toMatchObject({ ok: false });
    expect(answer!.reason).toMatch(/must be MLS PublicMessages, not mls_private_message/);
    expect(host.epoch).toBe(epoch);
    expect(rosterKeys(host)).toEqual(roster);
    expect(host.client.e2ee.health).toBe('out_of_sync');
    expect(host.client.e2ee.active).toBe(false);

    const next = await dave.commit();
    expect(await fake.deliver(dave, next, [host, carol])).toMatchObject([{ ok: true }, { ok: true }]);
    dave.apply(next);
    expect(host.epoch).toBe(epoch + 1n);
    expect(host.client.e2ee.health).toBe('ok');
    expect(host.client.e2ee.active).toBe(true);
    await fake.chatFrom(carol, 'in sync', [host]);
  });
});

describe('a Welcome (or commit) that puts the server in the group is refused', () => {
  it('a Welcome into a group with a leaf carrying the server credential; the meeting goes on after a reset', async () => {
    const hana = await fake.colluder('Hana');
    await hana.createGroup();
    const bob = await fake.join({
      displayName: 'Bob',
      createGroup: false,
      group: { groupId: toBase64(hana.active.groupId), epoch: '0' },
    });
    // The server adds itself (its own credential and signature key) along with Bob.
    const server = await fake.serverCredentialDevice();
    const tainted = await hana.commit({
      add: [fromBase64(bob.keyPackage()), await server.createKeyPackage()],
    });
    hana.apply(tainted);
    expect(hana.active.members().some((m) => m.identity.kind === 'server')).toBe(true);
    const answer = await fake.welcome(bob, tainted);
    expect(answer).toMatchObject({ epoch: '0', ok: false });
    expect(answer.reason).toMatch(/server credential/);
    expect(bob.warnings.join('\n')).toMatch(/could not join the group from its Welcome/);
    expect(bob.epoch).toBeUndefined();
    expect(bob.client.roster()).toEqual([]);
    expect(bob.client.e2ee.active).toBe(false);

    // The server resets the group; Hana makes a clean one and Bob joins it.
    const mark = bob.conn.mark();
    bob.conn.say({ type: 'group_reset', creator: hana.participantId });
    await bob.conn.next('key_package', { from: mark });
    await hana.createGroup();
    const clean = await hana.commit({ add: [fromBase64(bob.keyPackage())] });
    hana.apply(clean);
    expect(await fake.welcome(bob, clean)).toMatchObject({ ok: true });
    expect(bob.rosterNames()).toEqual(['Bob', 'Hana']);
    expect(bob.client.e2ee.active).toBe(true);
    await fake.chatFrom(hana, 'clean group', [bob]);
    expect((await fake.chatTo(bob, 'thanks', hana)).sender.identity.displayName).toBe('Bob');

    // A later commit of the (listed) host that adds the server's leaf is refused as well.
    const again = await hana.commit({ add: [await server.createKeyPackage()] });
    const [refused] = await fake.deliver(hana, again, [bob]);
    expect(refused).toMatchObject({ ok: false });
    expect(refused!.reason).toMatch(/an added leaf carries the server credential/);
    expect(bob.rosterNames()).toEqual(['Bob', 'Hana']);
    expect(bob.client.e2ee.health).toBe('out_of_sync');
    const rekey = await hana.commit();
    expect(await fake.deliver(hana, rekey, [bob])).toMatchObject([{ ok: true }]);
    hana.apply(rekey);
    expect(bob.client.e2ee.health).toBe('ok');
    await fake.chatFrom(hana, 'still clean', [bob]);
  });
});

describe('obs. 6: the host adds the device it admitted, not one the server swaps in', () => {
  it('after the host admits a waiting participant, a key package from another device under the same name is refused', async () => {
    const host = await fake.join({ displayName: 'Host', settings: { waitingRoom: true } });
    const gabi = await fake.colluder('Gabi');
    // Same name and device id, another signature key: what a server could forge after admission.
    const impostor = await fake.colluder('Gabi', {
      identity: { kind: 'guest', deviceId: gabi.device.identity.deviceId, displayName: 'Gabi' },
    });
    let seen = false;
    host.client.on('waitingRoom', () => (seen = true));
    host.conn.say({
      type: 'waiting_room',
      waiting: [
        {
          id: gabi.participantId,
          displayName: 'Gabi',
          role: 'participant',
          kind: 'guest',
          deviceId: gabi.device.identity.deviceId,
          state: 'waiting',
          inGroup: false,
          audio: true,
          video: true,
          signatureKey: gabi.signatureKey,
        },
      ],
    });
    await until(() => seen, 'the waiting room reaches the host');
    host.client.admit(gabi.participantId);
    await host.conn.next('admit');
    const mark = host.conn.mark();
    host.conn.say({ type: 'add_request', epoch: String(host.epoch), joiners: [await impostor.joiner()] });
    await until(
      () => host.warnings.some((w) => w.includes('not from the device you admitted')),
      'the refusal',
    );
    await sleep(100);
    expect(host.conn.sent('commit', mark)).toHaveLength(0);
    // The admitted device itself is added.
    const added = await fake.add(host, [gabi]);
    expect(added.every((d) => d.ok)).toBe(true);
    expect(host.rosterNames()).toEqual(['Gabi', 'Host']);
  });
});
