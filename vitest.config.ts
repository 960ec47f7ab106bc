import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { defineConfig } from 'vitest/config';

// Unit and integration tests that need no browser and no WebRTC network namespace.
// Browser and WebRTC tests live in `*.browser.test.ts` / `test/e2e` and run through
// vitest.browser.config.ts inside a loopback-only network namespace (scripts/netns.mjs).
export default defineConfig({
  test: {
    include: ['packages/*/test/**/*.test.ts'],
    exclude: ['**/node_modules/**', 'packages/*/test/**/*.browser.test.ts', 'packages/*/test/e2e/**'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Servers started by tests keep their phone-number key (made on first start) here, not in
    // the home directory: `~/.config/conclave` is where `npm start` keeps a real one.
    env: { XDG_CONFIG_HOME: join(tmpdir(), `conclave-test-config-${userInfo().uid}`) },
  },
});
