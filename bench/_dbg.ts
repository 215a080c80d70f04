import { PutObjectCommand, PutBucketPolicyCommand, DeleteBucketPolicyCommand } from '@aws-sdk/client-s3';
import { startRadosgw } from '../ground/radosgw.ts';
import { PROBE_ROLE_POLICY, adminS3 } from '../ground/rgw-info.ts';
import { startLane, spawnSidecar } from './lane.ts';
import { getText } from './http.ts';
import { stopAll, sleep } from './procs.ts';
process.env.AWS_EC2_METADATA_DISABLED = 'true';
const rgw = await startRadosgw();
try {
  const roleArn = await rgw.createRole('s3-health-probe', PROBE_ROLE_POLICY);
  const info = { endpoint: rgw.endpoint, region: rgw.region, admin: rgw.admin, roleArn, kmsKeys: rgw.kmsKeys };
  const lane = await startLane(info, 'dbg');
  const sc = await spawnSidecar(lane, { intervalSeconds: 2, timeoutSeconds: 1 });
  await sleep(2500);
  lane.ground.imds.setFault('hang');
  const t0 = performance.now();
  let last = '';
  while (performance.now() - t0 < 6000) {
    const r = await getText(sc.url + '/healthz');
    const b = `${r.status} ${r.body.replace(/"time":"[^"]+",/g, '')}`;
    if (b !== last) { console.log(Math.round(performance.now() - t0), b.slice(0, 700)); last = b; }
    await sleep(20);
  }
  lane.ground.imds.setFault('none');
  // access denied message: direct vs proxy
  const bucket = lane.ground.bucket;
  const s3 = adminS3(info);
  await s3.send(new PutBucketPolicyCommand({ Bucket: bucket, Policy: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Deny', Principal: { AWS: ['*'] }, Action: ['s3:PutObject'], Resource: [`arn:aws:s3:::${bucket}/*`] }] }) }));
  try { await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'x', Body: 'hello' })); console.log('put ok?!'); } catch (e) { const x = e as { name: string; message: string; $metadata: unknown; $response?: { body?: unknown } }; console.log('direct', x.name, x.message, JSON.stringify(x.$metadata)); }
  await sleep(2500);
  console.log((await getText(sc.url + '/healthz?verbose')).body);
  await s3.send(new DeleteBucketPolicyCommand({ Bucket: bucket }));
  await sc.close();
  await lane.close();
} finally { await stopAll(); await rgw.stop(); }
