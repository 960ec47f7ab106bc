import { describe, expect, it } from 'vitest';
// This test compares our adapter with ts-mls itself, so it imports ts-mls directly (tests may).
import {
  decodeMlsMessage,
  emptyPskIndex,
  processPrivateMessage,
  processPublicMessage,
  type ClientState,
  type PrivateMessage,
} from 'ts-mls';
import { decryptSenderData, encryptSenderData } from 'ts-mls/privateMessage.js';
import { MlsDevice, MlsSession, mlsSuite, type MemberIdentity } from '../src/mls/index.js';
import { processApplicationMessage } from '../src/mls/ts-mls.js';
import { toBase64 } from '../src/util/bytes.js';

// The ts-mls 1.6.4 behaviours Conclave relies on (packages/crypto/src/mls/ts-mls.ts). A ts-mls
// upgrade that changes one of them fails here first.

const guest = (name: string): MemberIdentity => ({
  kind: 'guest',
  deviceId: `dev-${name}`,
  displayName: name,
});
const text = new TextEncoder();

/** A group of `names` (the first is host and creator), everyone at epoch 1. */
async function group(names: string[], retainEpochs?: number): Promise<MlsSession[]> {
  const devices = await Promise.all(names.map((n) => MlsDevice.create(guest(n))));
  const host = await MlsSession.create(devices[0]!, {
    groupId: text.encode('ts-mls-pins'),
    roles: { hosts: [toBase64(devices[0]!.signatureKeys.publicKey)], cohosts: [] },
    retainEpochs,
  });
  const pending = await host.prepareCommit({
    add: await Promise.all(devices.slice(1).map((d) => d.createKeyPackage())),
  });
  host.applyCommit(pending);
  const others = await Promise.all(
    devices.slice(1).map((d) => MlsSession.join(d, pending.welcome!, { retainEpochs })),
  );
  return [host, ...others];
}

/** The ts-mls state inside a session (tests only). */
const stateOf = (s: MlsSession): ClientState => (s as unknown as { state: ClientState }).state;

function privateMessage(bytes: Uint8Array): PrivateMessage {
  const m = decodeMlsMessage(bytes, 0)?.[0];
  if (m?.wireformat !== 'mls_private_message') throw new Error('not a PrivateMessage');
  return m.privateMessage;
}

function commitContent(bytes: Uint8Array) {
  const m = decodeMlsMessage(bytes, 0)?.[0];
  if (m?.wireformat !== 'mls_public_message' || m.publicMessage.content.contentType !== 'commit')
    throw new Error('not a commit PublicMessage');
  return m.publicMessage.content.commit;
}

describe('ts-mls 1.6.4, as Conclave uses it', () => {
  it('a commit that removes a member carries an UpdatePath, and so does an empty commit (why 1.6.4 is pinned)', async () => {
    const [host] = await group(['a', 'b', 'c']);
    const removal = await host!.prepareCommit({ remove: [2] });
    expect(commitContent(removal.commit).proposals).toHaveLength(1);
    expect(commitContent(removal.commit).path).toBeDefined();
    const rekey = await host!.prepareCommit();
    expect(commitContent(rekey.commit).proposals).toHaveLength(0);
    expect(commitContent(rekey.commit).path).toBeDefined();
  });

  it('processPrivateMessage returns the data of an application message but not its sender (the gap the adapter fills)', async () => {
    const [, b, c] = await group(['a', 'b', 'c']);
    const pm = privateMessage(await b!.encryptApplication(text.encode('hi')));
    const r = await processPrivateMessage(stateOf(c!), pm, emptyPskIndex, await mlsSuite());
    expect(r.kind).toBe('applicationMessage');
    expect(Object.keys(r).sort()).toEqual(['consumed', 'kind', 'message', 'newState']);
  });

  it('processApplicationMessage changes the state exactly as processPrivateMessage: order, gaps, a retained epoch, replays', async () => {
    const cs = await mlsSuite();
    const [a, b, c, d] = await group(['a', 'b', 'c', 'd']);
    const send = async (s: MlsSession, t: string) =>
      privateMessage(await s.encryptApplication(text.encode(t)));
    const b1 = await send(b!, 'b1');
    const b2 = await send(b!, 'b2');
    const b3 = await send(b!, 'b3');
    const b4 = await send(b!, 'b4');
    const c1 = await send(c!, 'c1');
    const commit = await a!.prepareCommit();
    a!.applyCommit(commit);
    await c!.processHandshake(commit.commit);
    const c2 = await send(c!, 'c2 in epoch 2');
    const commitMessage = decodeMlsMessage(commit.commit, 0)![0];
    if (commitMessage.wireformat !== 'mls_public_message') throw new Error('unreachable');

    // d receives everything twice over: through ts-mls and through the adapter, from one state.
    let theirs = stateOf(d!);
    let ours = stateOf(d!);
    const both = async (pm: PrivateMessage, sender: number, expected: string) => {
      const r = await processPrivateMessage(theirs, pm, emptyPskIndex, cs);
      if (r.kind !== 'applicationMessage') throw new Error('unreachable');
      const mine = await processApplicationMessage(ours, pm, cs);
      expect(new TextDecoder().decode(mine.data)).toBe(expected);
      expect(mine.data).toEqual(r.message);
      expect(mine.senderLeafIndex).toBe(sender);
      expect(mine.newState).toEqual(r.newState); // secret tree generations, retained epochs, all of it
      theirs = r.newState;
      ours = mine.newState;
    };
    await both(b1, 1, 'b1');
    await both(c1, 2, 'c1');
    await both(b3, 1, 'b3'); // b2 skipped: its key is kept
    await both(b2, 1, 'b2');
    // the commit moves both to epoch 2; epoch 1's receiver data is retained
    theirs = (await processPublicMessage(theirs, commitMessage.publicMessage, emptyPskIndex, cs)).newState;
    ours = (await processPublicMessage(ours, commitMessage.publicMessage, emptyPskIndex, cs)).newState;
    expect(ours.groupContext.epoch).toBe(2n);
    expect(ours.historicalReceiverData.has(1n)).toBe(true);
    await both(c2, 2, 'c2 in epoch 2');
    await both(b4, 1, 'b4'); // late, from the retained epoch 1
    // a replay is refused by both, in the current and in the retained epoch
    for (const replay of [c2, b1, b3]) {
      await expect(processPrivateMessage(theirs, replay, emptyPskIndex, cs)).rejects.toThrow();
      await expect(processApplicationMessage(ours, replay, cs)).rejects.toThrow();
    }
  });

  it('retains the receiver data of retainKeysForEpochs epochs: older messages are refused', async () => {
    const [a, b, c] = await group(['a', 'b', 'c'], 1);
    const old = await b!.encryptApplication(text.encode('from epoch 1'));
    for (let i = 0; i < 2; i++) {
      const p = await a!.prepareCommit();
      a!.applyCommit(p);
      await b!.processHandshake(p.commit);
      await c!.processHandshake(p.commit);
    }
    expect(c!.epoch).toBe(3n);
    expect([...stateOf(c!).historicalReceiverData.keys()]).toEqual([2n]);
    await expect(c!.decryptApplication(old)).rejects.toMatchObject({ code: 'stale_epoch' });
  });

  it('the sender is the leaf the sender data names: naming another leaf does not decrypt', async () => {
    const cs = await mlsSuite();
    const [, b, c] = await group(['a', 'b', 'c']);
    const pm = privateMessage(await b!.encryptApplication(text.encode('from b')));
    const secret = stateOf(c!).keySchedule.senderDataSecret;
    const senderData = await decryptSenderData(pm, secret, cs);
    expect(senderData?.leafIndex).toBe(1);
    const aad = { groupId: pm.groupId, epoch: pm.epoch, contentType: pm.contentType };
    const claimsA: PrivateMessage = {
      ...pm,
      encryptedSenderData: await encryptSenderData(
        secret,
        { ...senderData!, leafIndex: 0 },
        aad,
        pm.ciphertext,
        cs,
      ),
    };
    await expect(processPrivateMessage(stateOf(c!), claimsA, emptyPskIndex, cs)).rejects.toThrow();
    await expect(processApplicationMessage(stateOf(c!), claimsA, cs)).rejects.toThrow();
    // the original still decrypts, as b's
    expect((await processApplicationMessage(stateOf(c!), pm, cs)).senderLeafIndex).toBe(1);
  });
});
