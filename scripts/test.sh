#!/usr/bin/env bash
# The whole test suite: types, lint, unit/integration tests, then browser and WebRTC tests
# (inside a loopback-only network namespace). This is what `npm test` and CI run.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== typecheck"
# Every .ts and .tsx file, in three projects run side by side: Node-side code, tests, benches
# and configs (tsconfig.json); the browser app with its React pages (packages/web: DOM, JSX,
# Vite); the E2EE worker (packages/web/tsconfig.worker.json: WebWorker lib).
pids=()
for project in tsconfig.json packages/web/tsconfig.json packages/web/tsconfig.worker.json; do
  npx --no-install tsc -p "$project" --noEmit &
  pids+=($!)
done
failed=0
for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
[ "$failed" = 0 ]

echo "== lint"
npx --no-install eslint . --max-warnings 0
npx --no-install prettier --check . --log-level warn
# Import rules between the packages and no import cycles (.dependency-cruiser.cjs).
npx --no-install depcruise packages bench
# No unused files, exports or dependencies (knip.json).
npx --no-install knip --no-progress

echo "== unit and integration tests"; npx --no-install vitest run
echo "== browser and WebRTC tests"; node scripts/netns.mjs vitest run --config vitest.browser.config.ts
