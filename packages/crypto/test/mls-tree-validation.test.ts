/**
 * Joining from a Welcome after members came and went. ts-mls 1.6.4 checked the ratchet tree's
 * unmerged leaves wrongly (RFC 9420 §12.4.3.1: every non-blank node _between_ an unmerged leaf
 * and the parent listing it must list it too; ts-mls demanded equal lists along the leaf's whole
 * direct path) and refused valid trees: the 8th step of the churn below, a join into six
 * members, failed with "non-blank intermediate node must list leaf node in its unmerged_leaves".
 * `patches/ts-mls+1.6.4.patch` (applied by patch-package at install) puts the RFC's rule in.
 */
import { describe, expect, it } from 'vitest';
import { defaultClientConfig } from 'ts-mls/clientConfig.js';
import { validateRatchetTree } from 'ts-mls/clientState.js';
import { directPath, leafToNodeIndex, leafWidth, toLeafIndex } from 'ts-mls/treemath.js';
import type { ClientState } from 'ts-mls';
import { toBase64 } from '../src/util/bytes.js';
import { conclaveAuthService } from '../src/mls/auth-service.js';
import { mlsSuite } from '../src/mls/suite.js';
import { MlsDevice, MlsSession, type MemberIdentity } from '../src/mls/index.js';

const guest = (name: string): MemberIdentity => ({
  kind: 'guest',
  deviceId: `dev-${name}`,
  displayName: name,
});

/** A seeded meeting: the host adds one member per commit, and removes a random one a third of the time. */
async function churn(steps: number): Promise<{ sessions: MlsSession[]; joins: number }> {
  let seed = 7;
  const rnd = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const hostDevice = await MlsDevice.create(guest('host'));
  const host = await MlsSession.create(hostDevice, {
    groupId: new TextEncoder().encode('churn'),
    roles: { hosts: [toBase64(hostDevice.signatureKeys.publicKey)], cohosts: [] },
  });
  let sessions = [host];
  let joins = 0;
  for (let step = 0; step < steps; step++) {
    if (sessions.length < 6 || rnd(3) !== 0) {
      const device = await MlsDevice.create(guest(`m${step}`));
      const pending = await host.prepareCommit({ add: [await device.createKeyPackage()] });
      host.applyCommit(pending);
      for (const s of sessions) if (s !== host) await s.processHandshake(pending.commit);
      sessions.push(await MlsSession.join(device, pending.welcome!));
      joins++;
    } else {
      const leaving = sessions[1 + rnd(sessions.length - 1)]!;
      const pending = await host.prepareCommit({ remove: [leaving.ownLeafIndex] });
      host.applyCommit(pending);
      sessions = sessions.filter((s) => s !== leaving);
      for (const s of sessions) if (s !== host) await s.processHandshake(pending.commit);
    }
  }
  return { sessions, joins };
}

type Tree = ClientState['ratchetTree'];
const stateOf = (s: MlsSession): ClientState => (s as unknown as { state: ClientState }).state;

/** A parent node's unmerged leaf with a non-blank node between the two (which lists it). */
function unmergedBelow(tree: Tree): { between: number; leaf: number } | undefined {
  for (let i = 1; i < tree.length; i += 2) {
    const p = tree[i];
    if (p?.nodeType !== 'parent') continue;
    for (const leaf of p.parent.unmergedLeaves) {
      for (const up of directPath(leafToNodeIndex(toLeafIndex(leaf)), leafWidth(tree.length))) {
        if (up === i) break;
        if (tree[up]?.nodeType === 'parent') return { between: up, leaf };
      }
    }
  }
  return undefined;
}

describe('joining from a Welcome after churn', () => {
  it('every joiner joins and every member agrees, through 30 adds and removals', async () => {
    const { sessions, joins } = await churn(30);
    expect(joins).toBeGreaterThan(15);
    const codes = new Set(await Promise.all(sessions.map((s) => s.securityCode())));
    expect(codes.size).toBe(1);
    expect(new Set(sessions.map((s) => s.epoch)).size).toBe(1);
  }, 60_000);

  it('the tree check still refuses unmerged leaves the RFC does not allow', async () => {
    // host, a, b, c, e (leaves 0-4); the host removes b (its UpdatePath sets nodes 1, 3 and 7)
    // and adds d into b's place: leaf 2 is unmerged at node 7 and at node 3 between them.
    const devices = await Promise.all(
      ['host', 'a', 'b', 'c', 'e', 'd'].map((n) => MlsDevice.create(guest(n))),
    );
    const host = await MlsSession.create(devices[0]!, {
      groupId: new TextEncoder().encode('four'),
      roles: { hosts: [toBase64(devices[0]!.signatureKeys.publicKey)], cohosts: [] },
    });
    const first = await host.prepareCommit({
      add: await Promise.all(devices.slice(1, 5).map((d) => d.createKeyPackage())),
    });
    host.applyCommit(first);
    host.applyCommit(await host.prepareCommit({ remove: [2] }));
    const add = await host.prepareCommit({ add: [await devices[5]!.createKeyPackage()] });
    host.applyCommit(add);
    const joiner = await MlsSession.join(devices[5]!, add.welcome!);
    expect(joiner.ownLeafIndex).toBe(2);

    const state = stateOf(host);
    const tree = state.ratchetTree;
    expect(unmergedBelow(tree)).toEqual({ between: 3, leaf: 2 });
    const cs = await mlsSuite();
    const config = defaultClientConfig.lifetimeConfig;
    const auth = conclaveAuthService();
    const ctx = state.groupContext;
    const check = (t: Tree) => validateRatchetTree(t, ctx, config, auth, ctx.treeHash, cs);
    expect(await check(tree)).toBeUndefined();
    const withUnmerged = (t: Tree, node: number, leaves: (list: number[]) => number[]): Tree =>
      t.map((n, i) =>
        i === node && n?.nodeType === 'parent'
          ? { ...n, parent: { ...n.parent, unmergedLeaves: leaves([...n.parent.unmergedLeaves]) } }
          : n,
      );
    // Node 3, between leaf 2 and node 7, no longer lists it.
    expect((await check(withUnmerged(tree, 3, (l) => l.filter((x) => x !== 2))))?.message).toMatch(
      /must list leaf node in its unmerged_leaves/,
    );
    // Node 3 lists leaf 4 (e), which is not under it.
    expect((await check(withUnmerged(tree, 3, (l) => [...l, 4])))?.message).toMatch(
      /did not represent a non-blank descendant leaf node/,
    );
  }, 60_000);
});
