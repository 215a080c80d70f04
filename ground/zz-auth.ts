process.env.AWS_EC2_METADATA_DISABLED = 'true';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { readFileSync, appendFileSync } from 'node:fs';
import { startRadosgw } from './radosgw.ts';
const gw = await startRadosgw({ keepDir: true, rgwConf: JSON.parse(process.env.RGWCONF ?? '{}') });
const conf = gw.logDir.replace(/log$/, 'ceph.conf');
console.log(conf);
try {
  await gw.createBucket('bkt1');
  const arn = await gw.createRole('all', { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['s3:*'], Resource: ['arn:aws:s3:::*'] }] });
  const creds = await gw.assumeRole({ roleArn: arn });
  const shape = async (label: string, p: Promise<unknown>) => {
    try { await p; console.log(label, 'OK'); } catch (e) { const x = e as { name: string; $metadata?: { httpStatusCode?: number } }; console.log(label, x.name, x.$metadata?.httpStatusCode); }
  };
  const put = (c: Parameters<typeof gw.s3>[0]) => gw.s3(c).send(new PutObjectCommand({ Bucket: 'bkt1', Key: 'k', Body: 'x' }));
  await shape('temp ok', put(creds));
  await shape('temp wrong secret', put({ ...creds, secretAccessKey: 'x' + creds.secretAccessKey }));
  await shape('static ok', put(gw.admin));
  await shape('static wrong secret', put({ ...gw.admin, secretAccessKey: 'wrong' }));
  await shape('unknown akid', put({ accessKeyId: 'AKIDUNKNOWN000000000', secretAccessKey: 'x' }));
  await shape('temp no token', put({ accessKeyId: creds.accessKeyId, secretAccessKey: creds.secretAccessKey }));
  await shape('temp garbled token', put({ ...creds, sessionToken: creds.sessionToken.slice(0, -4) + 'AAAA' }));
  await shape('static + garbage token', put({ ...gw.admin, sessionToken: 'garbage' }));
} finally {
  await gw.stop();
}
