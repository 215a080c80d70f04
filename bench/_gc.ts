import { startRadosgw } from '../ground/radosgw.ts';
import { PROBE_ROLE_POLICY } from '../ground/rgw-info.ts';
import { startLane, spawnSidecar, untilFirstVerdict } from './lane.ts';
import { getText, metricValue } from './http.ts';
import { stopAll, sleep, freePort, rssBytes } from './procs.ts';
import { gcAndMeasure } from './inspector.ts';
process.env.AWS_EC2_METADATA_DISABLED = 'true';
const rgw = await startRadosgw();
try {
  const roleArn = await rgw.createRole('s3-health-probe', PROBE_ROLE_POLICY);
  const info = { endpoint: rgw.endpoint, region: rgw.region, admin: rgw.admin, roleArn, kmsKeys: rgw.kmsKeys };
  const lane = await startLane(info, 'gc');
  const ip = await freePort();
  const sc = await spawnSidecar(lane, { intervalSeconds: 0.1, timeoutSeconds: 0.1, nodeArgs: [`--inspect=127.0.0.1:${ip}`] });
  await untilFirstVerdict(sc);
  const cyc = async () => metricValue((await getText(sc.url + '/metrics')).body, 's3_health_check_duration_seconds_count{check="environment"}') ?? 0;
  for (let target = 50; target <= 800; target += 75) {
    while ((await cyc()) < target) await sleep(300);
    const before = rssBytes(sc.proc.pid);
    const h = await gcAndMeasure(ip);
    console.log(await cyc(), 'heap after GC', (h.usedBytes / 1048576).toFixed(2), 'MiB; rss before/after', (before / 1048576).toFixed(1), (rssBytes(sc.proc.pid) / 1048576).toFixed(1));
  }
  await sc.close(); await lane.close();
} finally { await stopAll(); await rgw.stop(); }
