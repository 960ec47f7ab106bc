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
  },
});
