/**
 * The `conclave` command (bin/conclave.mjs runs this file with tsx).
 *
 *   conclave serve [flags]    run the server (conclave serve --help for the settings)
 *   conclave bot [flags]      bot participants that join a meeting and report what they decrypted
 *   conclave load [flags]     a meeting of many bots over child processes: join, rekey, CPU figures
 *   conclave admin ...        accounts: plan, role, auth-event log; the phone-number key; reports
 *   conclave help             list the commands
 *
 * Each subcommand is an entry in COMMANDS; its module is imported only when it runs, so one
 * command's dependencies do not slow the others down. `run` resolves to the exit status.
 */
export interface Command {
  summary: string;
  run(args: string[]): Promise<number>;
}

const COMMANDS: Record<string, Command> = {
  serve: {
    summary: 'run the Conclave server (HTTP API, signaling, web app)',
    run: async (args) => (await import('./commands/serve.js')).serve(args),
  },
  bot: {
    summary: 'run bot participants in a meeting (synthetic E2EE audio and video) and report',
    run: async (args) => (await import('./bot.js')).botCommand(args),
  },
  load: {
    summary:
      'load test: bots over child processes grow a meeting to N members with churn; join and rekey latency, decrypt failures, CPU and RSS',
    run: async (args) => (await import('./load/command.js')).loadCommand(args),
  },
  admin: {
    summary:
      'administer accounts, the phone-number key and reports: plan, role, auth-event log, phone-key, reports, moderation-log (conclave admin --help)',
    run: async (args) => (await import('./commands/admin.js')).admin(args),
  },
  help: {
    summary: 'show this help',
    run: async () => {
      process.stdout.write(usage());
      return 0;
    },
  },
};

function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((name) => name.length));
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`);
  return `usage: conclave <command> [options]\n\ncommands:\n${lines.join('\n')}\n\nconclave <command> --help shows a command's options.\n`;
}

async function main(argv: string[]): Promise<number> {
  const [name, ...args] = argv;
  if (name === undefined || name === '--help' || name === '-h') {
    process.stdout.write(usage());
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS[name];
  if (!command) {
    process.stderr.write(`conclave: unknown command "${name}"\n\n${usage()}`);
    return 2;
  }
  return command.run(args);
}

process.exitCode = await main(process.argv.slice(2)).catch((err: unknown) => {
  process.stderr.write(`conclave: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  return 1;
});
