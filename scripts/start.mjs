#!/usr/bin/env node
// `npm start`: runs `conclave serve` once the server package exists; until then it says what
// this checkout contains and how to use it.
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';

if (existsSync(new URL('../packages/server/package.json', import.meta.url))) {
  const r = spawnSync('npx', ['--no-install', 'conclave', 'serve', ...process.argv.slice(2)], {
    stdio: 'inherit',
  });
  process.exit(r.status ?? 1);
}
console.log(`Conclave — nothing to serve yet: this checkout has the E2EE crypto core only.

  packages/crypto   SFrame (RFC 9605), MLS sessions over ts-mls (RFC 9420), SFrame keys from MLS,
                    meeting security codes

Try:
  npm test                                   the whole test suite (also in headless Chromium)
  npm run -s vectors:sframe -- FILE          run an SFrame test-vector file (sframe-wg format)
  npm run -s bench:crypto                    SFrame and MLS benchmarks
`);
