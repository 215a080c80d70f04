// The leftover sweep against the real radosgw: only objects provably ours
// (own prefix and hostname, own key format, older than any deadline) go.
import { createHash } from 'node:crypto';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { type Ground, startGround } from '../../ground/ground.ts';
import { adminS3 } from '../../ground/radosgw/info.ts';
import { cycle, summary, useEnv } from '../support/sidecar.ts';

const rgw = inject('rgw');
let ground: Ground;
const s3 = adminS3(rgw);

beforeAll(async () => {
  ground = await startGround(rgw);
});
afterAll(async () => {
  s3.destroy();
  await ground?.close();
});

const old = Date.now() - 3600_000;
const young = Date.now() - 1000;
const FOREIGN = [
  'healthcheck/',
  'healthcheck/test-host',
  'healthcheck/test-host/',
  'healthcheck/other-host/probe-1700000000000-0123456789abcdef',
  'healthcheck/Test-Host/probe-1700000000000-0123456789abcdef',
  'healthcheck/test-host/probe-1700000000000-0123456789abcdef/',
  'healthcheck/test-host/probe-1700000000000-0123456789ABCDEF',
  'healthcheck/test-host/notes.txt',
  `healthcheck/test-host/probe-${young}-0123456789abcdef`,
  'kb/docs/report.pdf',
];
const OURS_OLD = `healthcheck/test-host/probe-${old}-fedcba9876543210`;

async function sha(key: string): Promise<string> {
  const out = await s3.send(new GetObjectCommand({ Bucket: ground.bucket, Key: key }));
  return createHash('sha256')
    .update(await (out.Body?.transformToByteArray() ?? new Uint8Array()))
    .digest('hex');
}

it('deletes a killed run’s own old probe object and nothing else', async () => {
  const before = new Map<string, string>();
  for (const key of [...FOREIGN, OURS_OLD]) {
    await s3.send(
      new PutObjectCommand({ Bucket: ground.bucket, Key: key, Body: `body of ${key}` }),
    );
  }
  for (const key of FOREIGN) before.set(key, await sha(key));
  const results = await cycle(useEnv(ground.env));
  expect(summary(results).s3).toBe('pass');
  const listed = await s3.send(new ListObjectsV2Command({ Bucket: ground.bucket }));
  const keys = (listed.Contents ?? []).map((o) => o.Key).sort();
  expect(keys).toEqual([...FOREIGN].sort());
  for (const key of FOREIGN) expect(await sha(key)).toBe(before.get(key));
});
