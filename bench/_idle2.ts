import { startRadosgw } from '../ground/radosgw.ts';
import { PROBE_ROLE_POLICY } from '../ground/rgw-info.ts';
import { startLane, spawnSidecar, untilFirstVerdict } from './lane.ts';
import { stopAll, sleep, cpuSeconds } from './procs.ts';
process.env.AWS_EC2_METADATA_DISABLED = 'true';
const rgw = await startRadosgw();
try {
  const roleArn = await rgw.createRole('s3-health-probe', PROBE_ROLE_POLICY);
  const info = { endpoint: rgw.endpoint, region: rgw.region, admin: rgw.admin, roleArn, kmsKeys: rgw.kmsKeys };
  const lane = await startLane(info, 'idle');
  const a = await spawnSidecar(lane, { intervalSeconds: 3600, timeoutSeconds: 5 });
  const b = await spawnSidecar(lane, { intervalSeconds: 3600, timeoutSeconds: 5, nodeArgs: ['--import=/tmp/bs/coarse.mjs'] });
  const c = await spawnSidecar(lane, { intervalSeconds: 3600, timeoutSeconds: 5 });
  const d = await spawnSidecar(lane, { intervalSeconds: 3600, timeoutSeconds: 5, nodeArgs: ['--import=/tmp/bs/coarse.mjs'] });
  for (const s of [a, b, c, d]) await untilFirstVerdict(s);
  await sleep(1000);
  const c0 = [a, b, c, d].map((s) => cpuSeconds(s.proc.pid));
  await sleep(60000);
  console.log('CPU s in 60 s, no cycles: plain, coarse(1000ms), plain, coarse', [a, b, c, d].map((s, i) => (cpuSeconds(s.proc.pid) - c0[i]!).toFixed(2)).join(' '));
  for (const s of [a, b, c, d]) await s.close();
  await lane.close();
} finally { await stopAll(); await rgw.stop(); }
