// removeObject against the real radosgw, with the fault proxy refusing one
// exact DELETE: what it reports as left must be what the bucket still holds.
import {
  ListObjectVersionsCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, expect, inject, it } from 'vitest';
import { startFaultProxy } from '../../ground/fault/proxy.ts';
import { adminS3, createBucket } from '../../ground/radosgw/info.ts';
import { removeObject } from '../../src/aws/remove-object.ts';

const rgw = inject('rgw');
const admin = adminS3(rgw);
const open: { close(): Promise<void> }[] = [];
afterAll(async () => {
  await Promise.allSettled(open.map((o) => o.close()));
  admin.destroy();
});

async function versionsOf(bucket: string, key: string) {
  const out = await admin.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: key }));
  return {
    versions: (out.Versions ?? []).map((v) => v.VersionId),
    markers: (out.DeleteMarkers ?? []).map((v) => v.VersionId),
  };
}

it('versioning turned on after the PUT, the marker delete refused: reports the marker as left, not the gone null version', async () => {
  const bucket = `remove-object-${Date.now()}`;
  await createBucket(rgw, bucket);
  const key = 'healthcheck/i-0/test-host/probe-1-0123456789abcdef';
  const put = await admin.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: 'x' }));
  expect(put.VersionId).toBeUndefined();
  await admin.send(
    new PutBucketVersioningCommand({
      Bucket: bucket,
      VersioningConfiguration: { Status: 'Enabled' },
    }),
  );
  const proxy = await startFaultProxy({ target: rgw.endpoint });
  open.push(proxy);
  // Refuse deleting any version but `null`: the marker's delete.
  await proxy.set(
    { kind: 'status', status: 403, body: '<Error><Code>AccessDenied</Code></Error>' },
    { method: 'DELETE', path: /versionId=(?!null)/ },
  );
  const s3 = new S3Client({
    endpoint: proxy.url,
    region: rgw.region,
    credentials: rgw.admin,
    forcePathStyle: true,
  });
  try {
    const removal = await removeObject({
      s3,
      bucket,
      key,
      written: { kind: 'answered' },
      keepsVersions: false,
      signal: AbortSignal.timeout(10_000),
    });
    const left = await versionsOf(bucket, key);
    // The null version went; the marker stays, and that is what is reported.
    expect(left.versions).toEqual([]);
    expect(left.markers).toHaveLength(1);
    expect(removal.removed).toBe(false);
    if (removal.removed) return;
    expect(removal.left.versionId).toBe(left.markers[0]);
    expect(removal.left.markerVersionId).toBeUndefined();
  } finally {
    s3.destroy();
  }
});
