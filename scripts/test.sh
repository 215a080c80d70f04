#!/usr/bin/env bash
# The one test command (npm test): lint, typecheck, every tier. Runs under the
# pinned Node 24 (npm puts node_modules/.bin first on PATH).
set -euo pipefail
cd "$(dirname "$0")/.."
# The real peers (radosgw, promtool, docker, iptables) come from Debian's packages.
bash scripts/install-peers.sh
echo "[test] node $(node --version)"
case "$(node --version)" in v24.*) ;; *) echo "[test] Node 24 required (npm ci installs it)"; exit 1 ;; esac
npx biome check .
node scripts/dependency-rules.ts
npx knip --no-progress --include files,exports,types,enumMembers,duplicates
npx tsc -p tsconfig.json --noEmit
npm run build --silent
npx vitest run "$@"
if [ -d test/system ] && ls test/system/*.test.ts >/dev/null 2>&1; then
  npx vitest run --config vitest.system.config.ts
fi
# The fleet tier (issue 15): sidecar processes, a real Prometheus and a real
# Alertmanager; FLEET_SIZE (default 6) is the CI size. `npm run fleet` runs it at 50.
npx vitest run --config vitest.fleet.config.ts
