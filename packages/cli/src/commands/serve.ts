import { CONFIG_HELP, ConfigError, loadConfig, startConclave } from '@conclave/server';

const USAGE = `usage: conclave serve [flags]

Runs the Conclave server until SIGINT (Ctrl-C) or SIGTERM. Flags override environment variables.

${CONFIG_HELP}
`;

/** `conclave serve`: resolves to the exit status once the server has stopped. */
export async function serve(args: string[]): Promise<number> {
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(USAGE);
    return 0;
  }
  let config;
  try {
    config = loadConfig(args, process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`conclave serve: ${err.message}\n\nconclave serve --help lists the settings.\n`);
      return 2;
    }
    throw err;
  }

  let server;
  try {
    server = await startConclave(config);
  } catch (err) {
    // Settings that parse but do not work, e.g. a certificate file that cannot be read.
    if (err instanceof ConfigError) {
      process.stderr.write(`conclave serve: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  process.stdout.write(`Conclave listening on ${server.url}\n`);
  if (server.publicUrl !== server.url) process.stdout.write(`Public URL: ${server.publicUrl}\n`);
  process.stdout.write(`Data directory: ${config.dataDir}\n`);

  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: NodeJS.Signals) => {
      if (stopping) {
        // A second Ctrl-C while shutting down: give up on a clean stop.
        process.stderr.write(`conclave serve: ${signal} again, exiting now\n`);
        process.exit(1);
      }
      stopping = true;
      process.stdout.write(`Stopping (${signal})...\n`);
      server.close().then(
        () => resolve(0),
        (err: unknown) => {
          process.stderr.write(`conclave serve: error while stopping: ${String(err)}\n`);
          resolve(1);
        },
      );
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}
