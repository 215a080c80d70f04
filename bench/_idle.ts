import { readdirSync, readFileSync, mkdirSync, rmSync } from 'node:fs';
import { startRadosgw } from '../ground/radosgw.ts';
import { PROBE_ROLE_POLICY } from '../ground/rgw-info.ts';
import { startLane, spawnSidecar, untilFirstVerdict } from './lane.ts';
import { stopAll, sleep, cpuSeconds } from './procs.ts';
import { summarise } from './profile.ts';
process.env.AWS_EC2_METADATA_DISABLED = 'true';
const dir = '/tmp/bs/prof'; rmSync(dir, { recursive: true, force: true }); mkdirSync(dir, { recursive: true });
const rgw = await startRadosgw();
try {
  const roleArn = await rgw.createRole('s3-health-probe', PROBE_ROLE_POLICY);
  const info = { endpoint: rgw.endpoint, region: rgw.region, admin: rgw.admin, roleArn, kmsKeys: rgw.kmsKeys };
  const lane = await startLane(info, 'idle');
  const plain = await spawnSidecar(lane, { intervalSeconds: 3600, timeoutSeconds: 5 });
  const sc = await spawnSidecar(lane, { intervalSeconds: 3600, timeoutSeconds: 5, nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${dir}`] });
  await untilFirstVerdict(sc); await untilFirstVerdict(plain); await sleep(1000);
  const c0 = cpuSeconds(plain.proc.pid);
  await sleep(30000);
  console.log('plain sidecar, no cycles: CPU in 30 s', (cpuSeconds(plain.proc.pid) - c0).toFixed(2));
  await sc.close(); await plain.close(); await lane.close();
  const f = readdirSync(dir).find((x) => x.endsWith('.cpuprofile'))!;
  const p = JSON.parse(readFileSync(`${dir}/${f}`, 'utf8'));
  // only samples after the first 3 s
  let t = 0; const keep: number[] = []; const deltas: number[] = [];
  p.samples.forEach((id: number, i: number) => { t += p.timeDeltas[i]; if (t > 4e6) { keep.push(id); deltas.push(p.timeDeltas[i]); } });
  const s = summarise({ nodes: p.nodes, samples: keep, timeDeltas: deltas });
  console.log(JSON.stringify(s, null, 1));
} finally { await stopAll(); await rgw.stop(); }
