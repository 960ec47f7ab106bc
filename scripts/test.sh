#!/usr/bin/env bash
# The whole test suite: types, lint, unit/integration tests, then browser and WebRTC tests
# (inside a loopback-only network namespace). This is what `npm test` and CI run.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "== typecheck"; npx --no-install tsc -p tsconfig.json --noEmit
echo "== lint"; npx --no-install eslint . --max-warnings 0 && npx --no-install prettier --check . --log-level warn
echo "== unit and integration tests"; npx --no-install vitest run
echo "== browser and WebRTC tests"; node scripts/netns.mjs vitest run --config vitest.browser.config.ts
