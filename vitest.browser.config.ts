import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { defineConfig } from 'vitest/config';

// Tests that drive a real browser (Debian's chromium through playwright-core) or do WebRTC.
// Run through scripts/netns.mjs so they see only the loopback interface.
export default defineConfig({
  test: {
    include: ['packages/*/test/**/*.browser.test.ts', 'packages/*/test/e2e/**/*.test.ts'],
    testTimeout: 180_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // One file at a time: each launches browsers or bots, and the machine has 2 cores.
    fileParallelism: false,
    // Servers started by tests keep their phone-number key (made on first start) here, not in
    // the home directory: `~/.config/conclave` is where `npm start` keeps a real one.
    env: { XDG_CONFIG_HOME: join(tmpdir(), `conclave-test-config-${userInfo().uid}`) },
  },
});
