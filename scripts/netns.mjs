#!/usr/bin/env node
// Runs a command inside a private network namespace that has only loopback up, so WebRTC
// tests never pair sockets on the machine's other addresses. Needs root (CI runs as root);
// without it the command runs as is, with a warning, and WebRTC tests may be flaky.
import { spawnSync } from 'node:child_process';

const args = process.argv.slice(2);
if (args.length === 0) {
  console.error('usage: netns.mjs COMMAND [ARGS...]');
  process.exit(2);
}
const canUnshare =
  process.getuid?.() === 0 && process.env.CONCLAVE_NO_NETNS !== '1' && !process.env.CONCLAVE_IN_NETNS;
let result;
if (canUnshare) {
  result = spawnSync(
    'unshare',
    ['-n', 'sh', '-c', 'ip link set lo up && exec "$@"', 'netns', 'npx', '--no-install', ...args],
    { stdio: 'inherit', env: { ...process.env, CONCLAVE_IN_NETNS: '1' } },
  );
} else {
  if (!process.env.CONCLAVE_IN_NETNS)
    console.warn('netns: not root, running without a private network namespace');
  result = spawnSync('npx', ['--no-install', ...args], { stdio: 'inherit' });
}
if (result.error) {
  console.error(`netns: ${result.error.message}`);
  process.exit(1);
}
process.exit(result.status ?? 1);
