// npm run -s bench:commit [-- --sizes 10,200 --runs 15 --warmup 3]
// The delivery service's cost of verifying one commit on public data (PublicGroup.verifyCommit),
// against the cost, measured in the same run on the same commits, for a member to process that
// commit (MlsSession.processHandshake, group policy included) and for the committer to create it
// (MlsSession.prepareCommit). Three commits: (a) an empty rekey (UpdatePath) from a participant,
// (b) the removal of one member through the server's external proposal, committed by the host,
// (c) the host adding one member (with its Welcome). Medians of --runs after --warmup, in ms.
//
// The group is built in-process: the host adds everyone in commits of at most 50 key packages,
// each verified by the public view as the server would; only the host and one participant hold
// sessions (the others need none to be in the tree). Sessions are mutable but their ts-mls state
// is not, so every run processes its commit on a fresh shallow copy of the receiving session.
import { parseArgs } from 'node:util';
import {
  ExternalSender,
  MlsDevice,
  MlsSession,
  PublicGroup,
  toBase64,
  type PendingCommit,
} from '@conclave/crypto';

const { values } = parseArgs({
  options: {
    sizes: { type: 'string', default: '10,200' },
    runs: { type: 'string', default: '15' },
    warmup: { type: 'string', default: '3' },
  },
});
const sizes = values.sizes.split(',').map(Number);
const RUNS = Number(values.runs);
const WARMUP = Number(values.warmup);
const BATCH = 50;

const guest = (i: number) => ({ kind: 'guest' as const, deviceId: `bench-${i}`, displayName: `member ${i}` });

async function time<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const t0 = performance.now();
  const r = await fn();
  return [r, performance.now() - t0];
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** A copy of the session sharing its (immutable) ts-mls state: processing on it leaves the original as it was. */
function fork(s: MlsSession): MlsSession {
  return Object.assign(Object.create(Object.getPrototypeOf(s) as object) as MlsSession, s);
}

interface Group {
  server: ExternalSender;
  host: MlsSession;
  bob: MlsSession;
  view: PublicGroup;
  setupMs: number;
}

/** `n` members: the host (leaf 0), bob (leaf 1, a participant with a session) and n - 2 more leaves. */
async function buildGroup(n: number): Promise<Group> {
  const t0 = performance.now();
  const server = await ExternalSender.generate();
  const hostDevice = await MlsDevice.create(guest(0));
  const serverKey = server.publicKey;
  const host = await MlsSession.create(hostDevice, {
    groupId: crypto.getRandomValues(new Uint8Array(16)),
    externalSender: { signaturePublicKey: serverKey },
    serverKey,
    roles: { hosts: [toBase64(hostDevice.signatureKeys.publicKey)], cohosts: [] },
  });
  let view = await PublicGroup.fromGroupInfo(await host.groupInfo(), {
    serverKey,
    creatorSignatureKey: hostDevice.signatureKeys.publicKey,
  });
  const bobDevice = await MlsDevice.create(guest(1));
  let bob: MlsSession | undefined;
  for (let from = 1; from < n; from += BATCH) {
    const to = Math.min(n, from + BATCH);
    const kps: Uint8Array[] = [];
    for (let i = from; i < to; i++)
      kps.push(await (i === 1 ? bobDevice : await MlsDevice.create(guest(i))).createKeyPackage());
    const pending = await host.prepareCommit({ add: kps });
    view = (await view.verifyCommit(pending.commit, pending.welcome)).next;
    host.applyCommit(pending);
    if (bob) await bob.processHandshake(pending.commit);
    else bob = await MlsSession.join(bobDevice, pending.welcome!, { serverKey });
  }
  if (!bob || view.members().length !== n || bob.epoch !== view.epoch) throw new Error('setup went wrong');
  return { server, host, bob, view, setupMs: performance.now() - t0 };
}

interface Row {
  commit: string;
  verifyMs: number;
  processMs: number;
  createMs: number;
  /** Medians of the per-run ratios (each run's three figures are taken back to back). */
  verifyPerProcess: number;
  verifyPerCreate: number;
  commitBytes: number;
}

/**
 * Creates a commit with `create` (not applied), verifies it with `view` and processes it on a
 * fork of `receiver`, `WARMUP + RUNS` times; medians of the last RUNS. The receiver's result is
 * checked against the committer's new state once, so the measured work is the real one.
 */
async function measure(
  label: string,
  view: PublicGroup,
  committer: MlsSession,
  receiver: MlsSession,
  create: () => Promise<PendingCommit>,
): Promise<Row> {
  const verify: number[] = [];
  const processing: number[] = [];
  const creating: number[] = [];
  const perProcess: number[] = [];
  const perCreate: number[] = [];
  let bytes = 0;
  for (let i = 0; i < WARMUP + RUNS; i++) {
    const [pending, createMs] = await time(create);
    const [verified, verifyMs] = await time(() => view.verifyCommit(pending.commit, pending.welcome));
    const copy = fork(receiver);
    const [, processMs] = await time(() => copy.processHandshake(pending.commit));
    if (i === 0) {
      const mine = fork(committer);
      mine.applyCommit(pending);
      if (
        verified.next.epoch !== copy.epoch ||
        toBase64(copy.epochAuthenticator()) !== toBase64(mine.epochAuthenticator()) ||
        receiver.epoch !== view.epoch
      )
        throw new Error(`${label}: the receiver did not reach the committer's epoch`);
    }
    if (i < WARMUP) continue;
    verify.push(verifyMs);
    processing.push(processMs);
    creating.push(createMs);
    perProcess.push(verifyMs / processMs);
    perCreate.push(verifyMs / createMs);
    bytes = pending.commit.length;
  }
  return {
    commit: label,
    verifyMs: median(verify),
    processMs: median(processing),
    createMs: median(creating),
    verifyPerProcess: median(perProcess),
    verifyPerCreate: median(perCreate),
    commitBytes: bytes,
  };
}

console.log(
  `server-side commit verification (PublicGroup.verifyCommit) against a member processing the same commit` +
    ` (processHandshake) and its committer creating it (prepareCommit); medians of ${RUNS} runs after ${WARMUP} warm-up, ms;` +
    ` ratios are medians of each run's own ratio`,
);
console.log(
  'members  commit                    verify  member-process  create  verify/process  verify/create  commit-B',
);
for (const n of sizes) {
  const g = await buildGroup(n);
  const rows: Row[] = [];
  rows.push(await measure('rekey (participant)', g.view, g.bob, g.host, () => g.bob.prepareCommit()));
  const newcomer = await MlsDevice.create(guest(n));
  const kp = await newcomer.createKeyPackage();
  rows.push(await measure('add 1 (host)', g.view, g.host, g.bob, () => g.host.prepareCommit({ add: [kp] })));
  // Last: the proposal stays pending in both sessions and in the view's epoch.
  const victim = n - 1;
  const proposal = await g.view.proposeRemove(g.server, victim);
  await g.host.processHandshake(proposal);
  await g.bob.processHandshake(proposal);
  rows.push(await measure('remove 1 (server prop.)', g.view, g.host, g.bob, () => g.host.prepareCommit()));
  for (const r of rows)
    console.log(
      [
        String(n).padStart(7),
        ` ${r.commit.padEnd(23)}`,
        r.verifyMs.toFixed(2).padStart(7),
        r.processMs.toFixed(2).padStart(15),
        r.createMs.toFixed(2).padStart(7),
        `${r.verifyPerProcess.toFixed(2)}x`.padStart(15),
        `${r.verifyPerCreate.toFixed(2)}x`.padStart(14),
        String(r.commitBytes).padStart(9),
      ].join(' '),
    );
  console.log(`         (group of ${n} built in ${(g.setupMs / 1000).toFixed(1)} s)`);
}
