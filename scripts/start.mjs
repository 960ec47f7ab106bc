#!/usr/bin/env node
// `npm start`: runs `conclave serve` (with any extra arguments) in this process, so signals
// sent to `npm start` reach the server directly.
process.argv = [process.argv[0], 'conclave', 'serve', ...process.argv.slice(2)];
await import('../packages/cli/bin/conclave.mjs');
