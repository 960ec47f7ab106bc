import { LOAD_USAGE, parseLoadArgs } from './args.js';
import { runLoad } from './coordinator.js';
import { formatReport } from './report.js';

/**
 * `conclave load`: exit status 0 when the run measured everything without a failure, 1 when
 * something failed (a join, a rekey, a decryption, a member missing a shown sender), 2 for bad
 * arguments, 130 after Ctrl-C (the bots, their processes and an embedded server are stopped
 * first; a second Ctrl-C exits at once, and the bot processes die with this one).
 */
export async function loadCommand(argv: string[]): Promise<number> {
  const parsed = parseLoadArgs(argv, process.env);
  if (parsed.kind === 'help') {
    console.log(LOAD_USAGE);
    return 0;
  }
  if (parsed.kind === 'error') {
    console.error(`conclave load: ${parsed.message}\n\n${LOAD_USAGE}`);
    return 2;
  }
  const abort = new AbortController();
  const onSigint = () => {
    if (abort.signal.aborted) process.exit(130);
    abort.abort();
  };
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigint);
  try {
    const report = await runLoad(parsed.options, {
      log: (line) => console.log(line),
      signal: abort.signal,
    });
    for (const line of formatReport(report)) console.log(line);
    if (parsed.options.json) console.log(JSON.stringify(report));
    if (report.interrupted) return 130;
    return report.ok ? 0 : 1;
  } finally {
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigint);
  }
}
