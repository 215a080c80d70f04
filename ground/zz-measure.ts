process.env.AWS_EC2_METADATA_DISABLED = 'true';
import { readFileSync } from 'node:fs';
import { PutObjectCommand, GetObjectCommand } from '@aws-sdk/client-s3';
import { startRadosgw } from './radosgw.ts';
const rss = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
for (let i = 0; i < 3; i++) {
  const gw = await startRadosgw();
  const idle = Object.values(gw.pids).map(rss);
  await gw.createBucket('bkt1');
  let t = performance.now();
  const arn = await gw.createRole('r', { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['s3:*'], Resource: ['arn:aws:s3:::*'] }] });
  const roleMs = performance.now() - t;
  t = performance.now();
  const c = await gw.assumeRole({ roleArn: arn });
  const arMs = performance.now() - t;
  const s3 = gw.s3(c);
  t = performance.now();
  for (let j = 0; j < 100; j++) { await s3.send(new PutObjectCommand({ Bucket: 'bkt1', Key: `k${j}`, Body: 'x'.repeat(1024) })); const g = await s3.send(new GetObjectCommand({ Bucket: 'bkt1', Key: `k${j}` })); await g.Body?.transformToString(); }
  const rtMs = (performance.now() - t) / 100;
  const busy = Object.values(gw.pids).map(rss);
  t = performance.now(); await gw.stop(); const stopMs = performance.now() - t;
  console.log(JSON.stringify({ startMs: gw.startMs, phases: gw.phases, idleRssMiB: idle.map(Math.round), idleTotal: Math.round(idle.reduce((a, b) => a + b)), busyTotal: Math.round(busy.reduce((a, b) => a + b)), createRoleMs: Math.round(roleMs), assumeRoleMs: Math.round(arMs), putGetMs: rtMs.toFixed(1), stopMs: Math.round(stopMs) }));
}
