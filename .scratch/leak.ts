import { startRadosgw } from '../ground/radosgw.ts';
import { startGround } from '../ground/ground.ts';
import { PROBE_ROLE_POLICY } from '../ground/rgw-info.ts';
import { createDeps } from '../src/checks/create-deps.ts';
import { enabledChecks } from '../src/checks/index.ts';
import { parseConfig } from '../src/config/parse.ts';
import { runCycle } from '../src/engine/cycle.ts';
process.env.AWS_EC2_METADATA_DISABLED = 'true';
const rgw = await startRadosgw();
const roleArn = await rgw.createRole('r', PROBE_ROLE_POLICY);
const g = await startGround({ endpoint: rgw.endpoint, region: rgw.region, admin: rgw.admin, roleArn, kmsKeys: [] });
delete process.env.AWS_EC2_METADATA_DISABLED;
Object.assign(process.env, g.env, { S3_HEALTH_TIMEOUT_SECONDS: '1', S3_HEALTH_INTERVAL_SECONDS: '1' });
const p = parseConfig(process.env); if (!p.ok) throw new Error('cfg');
const deps = createDeps(p.config, { warn: () => {}, debug: () => {} });
const parent = new AbortController();
const mode = process.argv[2] ?? 'parent';
const checks = enabledChecks(p.config.checks);
const gc = (globalThis as { gc?: () => void }).gc!;
for (let i = 0; i <= 400; i++) {
  await runCycle(checks, deps, p.config, mode === 'parent' ? parent.signal : undefined);
  if (i % 100 === 0) { gc(); gc(); console.log(mode, i, (process.memoryUsage().heapUsed / 1048576).toFixed(1), 'MiB'); }
}
await g.close(); await rgw.stop();
