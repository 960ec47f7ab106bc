// npm run -s bench:join [-- --sizes 10,50,100 --seconds 60 --churn 12 --join-rate 5 --processes N]
// Join and rekey latency of an E2EE meeting at each size, with `conclave load`'s own code
// (@conclave/cli/load): per size a fresh embedded server (HTTP, hub, SFU workers) in this
// process, the bots in --processes child processes (default one per core). The meeting grows
// to N members (--join-rate joins/s), then holds N for --seconds with --churn leaves and as many
// joins per minute, spread evenly (a leave, half an interval later a join).
//   join: request → E2EE active and a first decrypted frame from every sender the SFU forwards
//         to the joiner (video of the last-N = 9 speakers, audio of the top 3; 3 bots speak);
//   rekey: a leave → every remaining member in an epoch without the leaver.
// Printed per size: p50/p95 of the joins at the target size (and while growing), the ratio of
// the p95 to the 1 s target, rekey p50/p95, CPU (% of one core) and RSS of the server process,
// its SFU workers and the bot processes, and what ran out first.
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import { formatSummary, parseLoadArgs, runLoad, type LoadReport } from '@conclave/cli/load';

const { values } = parseArgs({
  options: {
    sizes: { type: 'string', default: '10,50,100' },
    seconds: { type: 'string', default: '60' },
    churn: { type: 'string', default: '12' },
    'join-rate': { type: 'string', default: '5' },
    processes: { type: 'string', default: String(availableParallelism()) },
    'audio-fps': { type: 'string', default: '10' },
    'video-fps': { type: 'string', default: '5' },
    verbose: { type: 'boolean', default: false },
  },
});
const sizes = values.sizes.split(',').map(Number);
const TARGET_MS = 1000;
const cores = availableParallelism();

const pct = (v: number | null | undefined) => (v === null || v === undefined ? '-' : `${v.toFixed(0)} %`);
const mib = (v: number | undefined) => (v === undefined ? '-' : `${(v / 2 ** 20).toFixed(0)} MiB`);

/**
 * What was busiest in the steady state: this run's parts (bots, SFU workers, server), and the
 * whole machine — other processes' work counts against the same cores.
 */
function limits(r: LoadReport): string {
  const bots = r.bots.reduce((a, b) => a + (b.steady?.cpuPercent ?? 0), 0);
  const parts: [string, number][] = [
    ['bots', bots],
    ['SFU workers', r.server.sfuSteady?.cpuPercent ?? 0],
    ['server process', r.server.steady?.cpuPercent ?? 0],
  ];
  parts.sort((a, b) => b[1] - a[1]);
  const ours = parts.reduce((a, [, v]) => a + v, 0);
  const all = r.machine.steadyPercent ?? ours;
  const others = Math.max(0, all - ours);
  const share = (v: number) => `${((100 * v) / (cores * 100)).toFixed(0)} %`;
  const busiest = parts[0]!;
  return (
    `machine ${share(all)} busy: ${parts.map(([n, v]) => `${n} ${share(v)}`).join(', ')}, other processes ${share(others)}` +
    ` (load average ${r.machine.load1.map((l) => l?.toFixed(1) ?? '-').join(' → ')})` +
    (all > cores * 85
      ? `: CPU-bound${others > ours ? ', mostly by other processes' : `, ${busiest[0]} first`}`
      : ': not CPU-bound')
  );
}

console.log(
  `bench:join — E2EE meetings from conclave load's code; ${values.processes} bot processes on ${cores} cores;` +
    ` per bot ${values['audio-fps']} audio + ${values['video-fps']} video frames/s; churn ${values.churn}/min for ${values.seconds} s at each size`,
);
for (const n of sizes) {
  const parsed = parseLoadArgs(
    [
      ...['--embedded', '--members', String(n), '--processes', values.processes],
      ...['--seconds', values.seconds, '--churn', values.churn, '--join-rate', values['join-rate']],
      ...['--audio-fps', values['audio-fps'], '--video-fps', values['video-fps']],
    ],
    process.env,
  );
  if (parsed.kind !== 'run') throw new Error(parsed.kind === 'error' ? parsed.message : 'help');
  const r = await runLoad(parsed.options, {
    log: (line) => {
      if (values.verbose) console.log(`    ${line}`);
    },
  });
  const j = r.joins.steady;
  const ratio = j.p95Ms === null ? 'n/a' : `${(j.p95Ms / TARGET_MS).toFixed(2)}x`;
  const bots = r.bots.map((b) => pct(b.steady?.cpuPercent)).join(' + ');
  console.log(
    `members ${String(n).padStart(4)}: join at ${n} ${formatSummary(j)} → p95/1 s target ${ratio};` +
      ` while growing ${formatSummary(r.joins.ramp)}; rekey on leave ${formatSummary(r.rekey)}`,
  );
  console.log(
    `               CPU (steady, % of one core): server ${pct(r.server.steady?.cpuPercent)}, SFU workers ${pct(r.server.sfuSteady?.cpuPercent)}, bots ${bots};` +
      ` RSS server ${mib(r.server.steady?.rssBytes)}, SFU ${mib(r.server.sfuSteady?.rssBytes)}, bots ${r.bots.map((b) => mib(b.steady?.rssBytes)).join(' + ')}`,
  );
  const problems = [
    r.joins.failed ? `${r.joins.failed} joins failed (${r.joins.errors[0] ?? ''})` : '',
    r.rekey.failed ? `${r.rekey.failed} rekeys not reached in 30 s` : '',
    r.frames.decryptFailures ? `${r.frames.decryptFailures} decrypt failures` : '',
    r.coverage.complete < r.coverage.checked
      ? `${r.coverage.checked - r.coverage.complete} of ${r.coverage.checked} members missed a shown sender`
      : '',
    r.error ?? '',
  ].filter(Boolean);
  console.log(
    `               ${limits(r)}; ${r.coverage.complete}/${r.coverage.checked} members decrypt every shown sender` +
      ` (${r.coverage.meanShown?.toFixed(1) ?? '-'} each)` +
      (problems.length ? `; NOT clean: ${problems.join('; ')}` : ''),
  );
  for (const [w, c] of r.warnings.slice(0, 3)) console.log(`               ${c}× ${w}`);
}
