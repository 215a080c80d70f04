import { readdirSync, readFileSync, mkdirSync, rmSync } from 'node:fs';
import { startRadosgw } from '../ground/radosgw.ts';
import { PROBE_ROLE_POLICY } from '../ground/rgw-info.ts';
import { startLane, spawnSidecar } from './lane.ts';
import { getText, metricValue } from './http.ts';
import { stopAll, sleep } from './procs.ts';
process.env.AWS_EC2_METADATA_DISABLED = 'true';
const dir = '/tmp/bs/heap'; rmSync(dir, { recursive: true, force: true }); mkdirSync(dir, { recursive: true });
type Snap = { snapshot: { meta: { node_fields: string[]; node_types: [string[]] } }; nodes: number[]; strings: string[] };
function agg(file: string): Map<string, { n: number; size: number }> {
  const s = JSON.parse(readFileSync(file, 'utf8')) as Snap;
  const f = s.snapshot.meta.node_fields.length; const types = s.snapshot.meta.node_types[0];
  const m = new Map<string, { n: number; size: number }>();
  for (let i = 0; i < s.nodes.length; i += f) {
    const key = `${types[s.nodes[i]!]}:${s.strings[s.nodes[i + 1]!]!.slice(0, 80)}`;
    const e = m.get(key) ?? { n: 0, size: 0 }; e.n++; e.size += s.nodes[i + 3]!; m.set(key, e);
  }
  return m;
}
const rgw = await startRadosgw();
try {
  const roleArn = await rgw.createRole('s3-health-probe', PROBE_ROLE_POLICY);
  const info = { endpoint: rgw.endpoint, region: rgw.region, admin: rgw.admin, roleArn, kmsKeys: rgw.kmsKeys };
  const lane = await startLane(info, 'heap');
  const sc = await spawnSidecar(lane, { intervalSeconds: 0.1, timeoutSeconds: 0.1, nodeArgs: ['--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${dir}`] });
  const cyc = async () => metricValue((await getText(sc.url + '/metrics')).body, 's3_health_check_duration_seconds_count{check="environment"}');
  while ((await cyc() ?? 0) < 100) await sleep(500);
  console.log('A at', await cyc()); process.kill(sc.proc.pid, 'SIGUSR2'); await sleep(8000);
  while ((await cyc() ?? 0) < 500) await sleep(500);
  console.log('B at', await cyc()); process.kill(sc.proc.pid, 'SIGUSR2'); await sleep(10000);
  await sc.close(); await lane.close();
  const files = readdirSync(dir).filter((x) => x.endsWith('.heapsnapshot')).sort();
  console.log(files);
  const a = agg(`${dir}/${files[0]}`); const b = agg(`${dir}/${files[1]}`);
  const diff = [...b].map(([k, v]) => [k, v.n - (a.get(k)?.n ?? 0), v.size - (a.get(k)?.size ?? 0)] as const).sort((x, y) => y[2] - x[2]).slice(0, 30);
  for (const d of diff) console.log(d.join('\t'));
} finally { await stopAll(); await rgw.stop(); }
