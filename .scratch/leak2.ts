import pino from 'pino';
import { startRadosgw } from '../ground/radosgw.ts';
import { startGround } from '../ground/ground.ts';
import { PROBE_ROLE_POLICY } from '../ground/rgw-info.ts';
import { parseConfig } from '../src/config/parse.ts';
import { createService } from '../src/service.ts';
process.env.AWS_EC2_METADATA_DISABLED = 'true';
const rgw = await startRadosgw();
const roleArn = await rgw.createRole('r', PROBE_ROLE_POLICY);
const g = await startGround({ endpoint: rgw.endpoint, region: rgw.region, admin: rgw.admin, roleArn, kmsKeys: [] });
delete process.env.AWS_EC2_METADATA_DISABLED;
Object.assign(process.env, g.env, { S3_HEALTH_TIMEOUT_SECONDS: '0.1', S3_HEALTH_INTERVAL_SECONDS: '0.1' });
const p = parseConfig(process.env); if (!p.ok) throw new Error('cfg');
const svc = createService(p.config, pino({ level: 'info' }, pino.destination('/dev/null')), 't');
svc.scheduler.start();
const gc = (globalThis as { gc?: () => void }).gc!;
let last = -1;
while (svc.store.cycles < 600) {
  await new Promise((r) => setTimeout(r, 200));
  if (Math.floor(svc.store.cycles / 100) !== last) { last = Math.floor(svc.store.cycles / 100); gc(); gc(); console.log(svc.store.cycles, (process.memoryUsage().heapUsed / 1048576).toFixed(1), 'MiB'); }
}
await svc.stop(); await g.close(); await rgw.stop();
