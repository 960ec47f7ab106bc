import { MlsDevice, MlsSession, toBase64 } from '@conclave/crypto';

export interface MlsBenchRow {
  members: number;
  addCreateMs: number;
  addProcessMs: number;
  removeCreateMs: number;
  removeProcessMs: number;
  commitBytes: number;
  welcomeBytes: number;
  removeCommitBytes: number;
}

const guest = (i: number) => ({ kind: 'guest' as const, deviceId: `bench-${i}`, displayName: `member ${i}` });

async function time<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const t0 = performance.now();
  const r = await fn();
  return [r, performance.now() - t0];
}

/**
 * Builds a group of `members` (one commit adding all but the creator, who is its host), then
 * measures, on the creator and on one other member: a commit adding one member, and a commit removing one.
 */
async function benchMlsGroup(members: number): Promise<MlsBenchRow> {
  const devices = await Promise.all(Array.from({ length: members }, (_, i) => MlsDevice.create(guest(i))));
  const host = await MlsSession.create(devices[0]!, {
    groupId: new TextEncoder().encode(`bench-${members}`),
    // The group policy lets only a listed host or co-host remove members (commit-policy.ts).
    roles: { hosts: [toBase64(devices[0]!.signatureKeys.publicKey)], cohosts: [] },
  });
  const setup = await host.prepareCommit({
    add: await Promise.all(devices.slice(1).map((d) => d.createKeyPackage())),
  });
  host.applyCommit(setup);
  const other = await MlsSession.join(devices[1]!, setup.welcome!);

  const newcomer = await MlsDevice.create(guest(members));
  const kp = await newcomer.createKeyPackage();
  const [add, addCreateMs] = await time(() => host.prepareCommit({ add: [kp] }));
  host.applyCommit(add);
  const [, addProcessMs] = await time(() => other.processHandshake(add.commit));

  const victim = members - 1;
  const [remove, removeCreateMs] = await time(() => host.prepareCommit({ remove: [victim] }));
  host.applyCommit(remove);
  const [, removeProcessMs] = await time(() => other.processHandshake(remove.commit));
  return {
    members,
    addCreateMs,
    addProcessMs,
    removeCreateMs,
    removeProcessMs,
    commitBytes: add.commit.length,
    welcomeBytes: add.welcome?.length ?? 0,
    removeCommitBytes: remove.commit.length,
  };
}

/** Prints one row per group size as soon as it is measured (large groups take a while). */
export async function benchMls(sizes: number[], print: (line: string) => void): Promise<MlsBenchRow[]> {
  print('MLS commits (cipher suite 1, ts-mls), ms and bytes:');
  print(
    'members  add-create  add-process  remove-create  remove-process  add-commit-B  welcome-B  remove-commit-B',
  );
  const rows: MlsBenchRow[] = [];
  for (const n of sizes) {
    const r = await benchMlsGroup(n);
    rows.push(r);
    print(
      [
        String(r.members).padStart(7),
        r.addCreateMs.toFixed(1).padStart(11),
        r.addProcessMs.toFixed(1).padStart(12),
        r.removeCreateMs.toFixed(1).padStart(14),
        r.removeProcessMs.toFixed(1).padStart(15),
        String(r.commitBytes).padStart(13),
        String(r.welcomeBytes).padStart(10),
        String(r.removeCommitBytes).padStart(16),
      ].join(' '),
    );
  }
  return rows;
}
