// npm run -s bench:join [-- --sizes 2,10,50]
// Time from a bot's join request to its first decrypted frame from every other member, with
// N members already in the meeting; and, on a departure, the time until every remaining member
// sends in the new epoch. Runs a full server (HTTP, hub, SFU workers) in this process tree.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Bot } from '@conclave/client/node';
import { NodeMediaPeer } from '@conclave/client/media';
import { AccountApi } from '@conclave/client';
import { adminSetPlan, createDatabase, loadConfig, startConclave } from '@conclave/server';

const { values } = parseArgs({ options: { sizes: { type: 'string', default: '2,10,50' } } });
const sizes = values.sizes.split(',').map(Number);

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
    const watch = (b: Bot) =>
      b.client.on('warning', (w) => {
        const key = w.replace(/\d+/g, '#').slice(0, 120);
        warnings.set(key, (warnings.get(key) ?? 0) + 1);
      });
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
      await until(
        () => members.every((b) => b.client.e2ee.active && b.client.roster().length === n),
        60_000 + n * 1000,
      );
      const newcomer = mk('newcomer');
      watch(newcomer);
      const t0 = performance.now();
      await newcomer.start();
      members.push(newcomer);
      const heard = () =>
        members.filter((b) => b !== newcomer && (newcomer.decrypted.get(b.id) ?? 0) > 0).length;
      try {
        await until(() => heard() === n, 60_000);
      } catch {
        console.log(
          `members ${String(n).padStart(3)}: the newcomer decrypted ${heard()} of ${n} members within 60 s (NOT reached;` +
            ` in the MLS group: ${newcomer.client.e2ee.active}, roster ${newcomer.client.roster().length},` +
            ` frames without key ${newcomer.framesWithoutKey}, failures ${newcomer.decryptFailures})\n${report()}`,
        );
        continue;
      }
      const joinMs = performance.now() - t0;

      const leaving = members[1]!;
      const remaining = members.filter((b) => b !== leaving);
      const before = remaining[0]!.client.mediaKeys.epoch!;
      const t1 = performance.now();
      await leaving.stop();
      try {
        await until(() => remaining.every((b) => (b.client.mediaKeys.epoch ?? 0n) > before), 30_000);
      } catch {
        const behind = remaining.filter((b) => (b.client.mediaKeys.epoch ?? 0n) <= before).length;
        console.log(
          `members ${String(n).padStart(3)}: join ${joinMs.toFixed(0)} ms; rekey on leave NOT reached: ${behind} of ${remaining.length} still in the old epoch after 30 s\n${report()}`,
        );
        continue;
      }
      const rekeyMs = performance.now() - t1;
      console.log(
        `members ${String(n).padStart(3)}: join → first decrypted frame from all ${n}: ${joinMs.toFixed(0)} ms` +
          ` (target ≤ 1000 ms at 10: ${(joinMs / 1000).toFixed(2)}x); rekey on leave: ${rekeyMs.toFixed(0)} ms (target ≤ 1000 ms: ${(rekeyMs / 1000).toFixed(2)}x)`,
      );
    } finally {
      await Promise.all(members.map((b) => b.stop().catch(() => undefined)));
    }
  }
} finally {
  await server.close();
  await rm(dataDir, { recursive: true, force: true });
}
