import { readdirSync, readFileSync, mkdirSync, rmSync } from 'node:fs';
import { startRadosgw } from '../ground/radosgw.ts';
import { PROBE_ROLE_POLICY } from '../ground/rgw-info.ts';
import { startLane, spawnSidecar, untilFirstVerdict } from './lane.ts';
import { stopAll, spawnNode, baseEnv } from './procs.ts';
import { summarise } from './profile.ts';
process.env.AWS_EC2_METADATA_DISABLED = 'true';
const rgw = await startRadosgw();
try {
  const roleArn = await rgw.createRole('s3-health-probe', PROBE_ROLE_POLICY);
  const info = { endpoint: rgw.endpoint, region: rgw.region, admin: rgw.admin, roleArn, kmsKeys: rgw.kmsKeys };
  const lane = await startLane(info, 'hp');
  for (const path of (process.argv[2] ?? '/healthz').split(',')) {
    const dir = `/tmp/bs/hprof${path.replace(/\//g, '_')}`; rmSync(dir, { recursive: true, force: true }); mkdirSync(dir, { recursive: true });
    const sc = await spawnSidecar(lane, { intervalSeconds: 30, timeoutSeconds: 5, nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${dir}`] });
    await untilFirstVerdict(sc);
    const p = spawnNode('load', ['bench/load.ts', JSON.stringify({ url: sc.url + path, connections: 50, durationSeconds: 5, overallRate: 0 })], baseEnv());
    await p.exited; console.log(path, p.output().slice(0, 200));
    await sc.close();
    const f = readdirSync(dir).find((x) => x.endsWith('.cpuprofile'))!;
    const s = summarise(JSON.parse(readFileSync(`${dir}/${f}`, 'utf8')));
    console.log(path, JSON.stringify(s));
  }
  await lane.close();
} finally { await stopAll(); await rgw.stop(); }
