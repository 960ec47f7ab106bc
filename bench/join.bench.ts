// npm run -s bench:join [-- --sizes 2,10,50 --rounds 3]
// Time from a bot's join request to its first decrypted frame from every other member, with
// N members already in the meeting; and, on a departure, the time until every remaining member
// sends in the new epoch. Runs a full server (HTTP, hub, SFU workers) in this process tree.
// Each size runs --rounds join/leave rounds; the median is printed with every round's figure.
// The server-side cost of verifying commits: npm run -s bench:commit (commit-verify.bench.ts).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Bot } from '@conclave/client/node';
import { NodeMediaPeer } from '@conclave/client/media';
import { AccountApi } from '@conclave/client';
import { adminSetPlan, createDatabase, loadConfig, startConclave } from '@conclave/server';

const { values } = parseArgs({
  options: { sizes: { type: 'string', default: '2,10,50' }, rounds: { type: 'string', default: '3' } },
});
const sizes = values.sizes.split(',').map(Number);
const rounds = Number(values.rounds);

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

async function until(pred: () => boolean, ms: number): Promise<number> {
  const t0 = performance.now();
  while (!pred()) {
    if (performance.now() - t0 > ms) throw new Error(`timed out after ${ms} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
  return performance.now() - t0;
}

const dataDir = await mkdtemp(join(tmpdir(), 'conclave-bench-join-'));
const config = loadConfig(['--port', '0', '--host', '127.0.0.1', '--data-dir', dataDir], {
  CONCLAVE_LOG_LEVEL: process.env.CONCLAVE_LOG_LEVEL ?? 'error',
});
const server = await startConclave(config, {
  loopbackOnly: true,
  createMeetingLimit: { capacity: 1000, refillPerSecond: 1000 },
});
console.log(
  `join and rekey with a real server (${config.sfuWorkers} SFU workers); bots (all in this one process) send 5 audio + 1 video frames/s each`,
);
try {
  // Hosting E2EE needs an account with the entitlement: a paid one, as `conclave admin plan` makes it.
  const host = new AccountApi({ serverUrl: server.url });
  await host.signUp({ email: 'bench@example.org', password: 'bench host password' });
  const db = createDatabase(config);
  await adminSetPlan(db, 'bench@example.org', 'paid');
  await db.destroy();
  for (const n of sizes) {
    const m = await host.createMeeting({ title: `bench ${n}`, maxParticipants: 1000 });
    const mk = (name: string, hostSecret?: string) =>
      new Bot({
        serverUrl: server.url,
        meetingId: m.meeting.id,
        name,
        hostSecret,
        audioFps: 5,
        videoFps: 1,
        transport: () => new NodeMediaPeer({ loopbackOnly: true }),
      });
    const members: Bot[] = [];
    const warnings = new Map<string, number>();
    const note = (w: string) => {
      const key = w.replace(/\d+/g, '#').slice(0, 120);
      warnings.set(key, (warnings.get(key) ?? 0) + 1);
    };
    // Warnings, and the server's error answers (a refused commit says why here).
    const watch = (b: Bot) => {
      b.client.on('warning', note);
      b.client.on('error', (code, message, ref) =>
        note(`server error ${code}${ref ? ` to ${ref}` : ''}: ${message}`),
      );
    };
    const report = () =>
      [...warnings]
        .sort((a, b) => b[1] - a[1])
        .slice(0, 5)
        .map(([w, c]) => `    ${c}× ${w}`)
        .join('\n');
    try {
      for (let i = 0; i < n; i++) {
        const b = mk(`m${i}`, i === 0 ? m.hostSecret : undefined);
        watch(b);
        members.push(b);
        await b.start();
      }
      try {
        await until(
          () => members.every((b) => b.client.e2ee.active && b.client.roster().length === n),
          60_000 + n * 1000,
        );
      } catch {
        const state = members
          .map(
            (b) =>
              `${b.client.e2ee.active ? 'in' : 'out'}/${b.client.roster().length}@${b.keySink.confirmedEpoch ?? '-'}`,
          )
          .join(' ');
        console.log(
          `members ${String(n).padStart(3)}: the first ${n} members did not all reach one group of ${n} (NOT reached;` +
            ` group/roster@epoch per member: ${state})\n${report()}`,
        );
        continue;
      }
      // Each round: a newcomer joins the n members (timed), then a member other than the host
      // leaves (timed), so the next round starts from n members again.
      const joins: number[] = [];
      const rekeys: number[] = [];
      let failure: string | undefined;
      for (let r = 0; r < rounds && !failure; r++) {
        if (r > 0) {
          // Untimed: the group is settled (everyone in it, at one epoch) before the next join.
          await until(
            () =>
              members.every(
                (b) =>
                  b.client.e2ee.active &&
                  b.client.roster().length === n &&
                  b.keySink.confirmedEpoch === members[0]!.keySink.confirmedEpoch,
              ),
            30_000,
          ).catch(() => undefined);
          await new Promise((res) => setTimeout(res, 500));
        }
        const newcomer = mk(`newcomer ${r}`);
        watch(newcomer);
        const others = [...members];
        const t0 = performance.now();
        await newcomer.start();
        members.push(newcomer);
        const heard = () => others.filter((b) => (newcomer.decrypted.get(b.id) ?? 0) > 0).length;
        try {
          await until(() => heard() === n, 60_000);
        } catch {
          failure =
            `the newcomer decrypted ${heard()} of ${n} members within 60 s (NOT reached;` +
            ` in the MLS group: ${newcomer.client.e2ee.active}, roster ${newcomer.client.roster().length},` +
            ` frames without key ${newcomer.framesWithoutKey}, failures ${newcomer.decryptFailures})`;
          break;
        }
        joins.push(performance.now() - t0);

        const leaving = members[1]!;
        members.splice(1, 1);
        const before = members[0]!.keySink.confirmedEpoch!;
        const t1 = performance.now();
        await leaving.stop();
        try {
          await until(() => members.every((b) => (b.keySink.confirmedEpoch ?? 0n) > before), 30_000);
        } catch {
          const behind = members.filter((b) => (b.keySink.confirmedEpoch ?? 0n) <= before).length;
          failure = `rekey on leave NOT reached: ${behind} of ${members.length} still in the old epoch after 30 s`;
          break;
        }
        rekeys.push(performance.now() - t1);
      }
      const fig = (xs: number[]) =>
        xs.length === 0
          ? 'n/a'
          : `${median(xs).toFixed(0)} ms (target ≤ 1000 ms: ${(median(xs) / 1000).toFixed(2)}x)` +
            (xs.length > 1 ? ` [${xs.map((x) => x.toFixed(0)).join(', ')}]` : '');
      console.log(
        `members ${String(n).padStart(3)}: median of ${joins.length} round(s): join → first decrypted frame from all ${n}: ${fig(joins)};` +
          ` rekey on leave: ${fig(rekeys)}` +
          (failure ? `\n    round ${joins.length + 1}: ${failure}\n${report()}` : ''),
      );
    } finally {
      await Promise.all(members.map((b) => b.stop().catch(() => undefined)));
    }
  }
} finally {
  await server.close();
  await rm(dataDir, { recursive: true, force: true });
}
