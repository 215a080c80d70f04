// `npm run fleet [-- --size N]` (default 50): the fleet tier's scenarios at
// size N; writes bench/fleet-results.md. Exit 1 when any scenario or panel
// check failed (the results are written either way). Run it under
// `flock /tmp/s3h-heavy.lock` on a shared machine.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { installNetworkGuard } from '../ground/shared/network-guard.ts';
import { type Fleet, type FleetOptions, ROOT, startFleet } from '../test/fleet/support/fleet.ts';
import { renderResults } from '../test/fleet/support/results.ts';
import { notificationLog, runScenarios } from '../test/fleet/support/scenarios.ts';

installNetworkGuard('npm run fleet');
process.env.AWS_EC2_METADATA_DISABLED = 'true';

const { values } = parseArgs({
  options: {
    size: { type: 'string', default: '50' },
    out: { type: 'string', default: join(ROOT, 'bench/fleet-results.md') },
  },
});
const size = Number(values.size);
if (!Number.isInteger(size) || size < 3 || size > 200) {
  console.error(`--size must be an integer from 3 to 200, got ${values.size}`);
  process.exit(2);
}
const opts: FleetOptions = {
  size,
  k: 15,
  intervalSeconds: 2,
  timeoutSeconds: 2,
  log: (line) => console.log(`[fleet] ${line}`),
};

let fleet: Fleet | undefined;
const stop = async (code: number) => {
  await fleet?.close();
  process.exit(code);
};
process.on('SIGINT', () => void stop(130));
process.on('SIGTERM', () => void stop(143));

try {
  const t0 = Date.now();
  fleet = await startFleet(opts);
  const report = await runScenarios(fleet, Date.now() - t0);
  for (const s of report.scenarios) {
    console.log(`[fleet] ${s.name}: ${s.what}`);
    for (const line of notificationLog(s)) console.log(`[fleet]   ${line}`);
    for (const p of s.problems) console.log(`[fleet]   PROBLEM: ${p}`);
  }
  writeFileSync(values.out, renderResults(report, opts));
  // Formatted as `npm run lint` wants it, so the file can be committed as written.
  spawnSync(join(ROOT, 'node_modules/.bin/biome'), ['format', '--write', values.out], {
    cwd: ROOT,
    stdio: 'ignore',
  });
  console.log(`[fleet] wrote ${values.out}`);
  const failed =
    report.scenarios.some((s) => s.problems.length > 0) ||
    [...report.dashboardHealthy, ...report.dashboardBucketDown].some((p) => p.series === 0);
  await stop(failed ? 1 : 0);
} catch (e) {
  console.error(`[fleet] ${(e as Error).stack ?? String(e)}`);
  await stop(1);
}
