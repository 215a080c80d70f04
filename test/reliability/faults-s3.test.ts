// Fault matrix, S3 side: real AccessDenied from radosgw per step (the
// instance role's session policy changes at run time), a bucket really
// deleted and re-created, and the fault proxy for what radosgw will not do
// on demand (SlowDown, InternalError, reset, hang, trickled or cut bodies).
import { hostname } from 'node:os';
import { DeleteBucketCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, inject, it } from 'vitest';
import { S3_INTERNAL_ERROR, S3_SLOW_DOWN, s3ErrorXml } from '../../ground/fault/proxy.ts';
import { GROUND_IDENTITY } from '../../ground/ground.ts';
import { adminS3, createBucket, denyActions } from '../../ground/radosgw/info.ts';
import type { FaultGround } from './support/ground.ts';
import { closeAll, type Matrix, matrixTests, startMatrix } from './support/harness.ts';
import { waitUntil } from './support/http.ts';
import { type FaultCase, waitPass } from './support/matrix.ts';

const rgw = inject('rgw');
const admin = adminS3(rgw);
let m: Matrix;
let g: FaultGround;
const own = `healthcheck/${GROUND_IDENTITY.instanceId}/${hostname()}/`;

async function ownObjects(): Promise<string[]> {
  const out = await admin.send(new ListObjectsV2Command({ Bucket: g.bucket, Prefix: own }));
  return (out.Contents ?? []).map((o) => o.Key ?? '');
}

beforeAll(async () => {
  m = await startMatrix();
  g = m.g;
}, 60_000);

afterAll(() => closeAll(m?.g, admin));

const policy = (p: object | undefined) => () => g.setPolicy(p);
const clear = async () => {
  g.setPolicy(undefined);
  await g.clearFaults();
};
// Object requests only: the once-per-process leftover sweep lists the bucket.
const objectPath = /\/healthcheck\//;

// Regression (found by this suite, now fixed): ClientPool hands the S3 and STS clients a credentials
// function, which the SDK memoizes until 5 min before the first identity
// expires: every cycle signs with the credentials of the first cycle, not the
// ones the credentials step just resolved. A role policy change, a swapped
// instance profile or revoked sessions stay invisible for up to an hour.
// Fix: mark the provider as already memoized (Object.assign(fn, { memoized:
// true })) or key the pooled clients by access key id.
// Regression (found by this suite, now fixed): @smithy/node-http-handler renames ECONNRESET/EPIPE errors
// to name 'TimeoutError'; classify() reads the name before the Node code, so
// a reset is reported as `timeout`. Fix: look up NETWORK[code] first.

const cases: FaultCase[] = [
  {
    peer: 's3',
    name: '403 AccessDenied on PUT (role policy)',
    boundMs: 6000,
    inject: policy(denyActions(['s3:PutObject'])),
    clear,
    check: 's3',
    status: 'fail',
    reasons: ['s3_access_denied'],
    step: 'put',
  },
  {
    peer: 's3',
    name: '403 AccessDenied on HEAD (role policy denies s3:GetObject)',
    boundMs: 6000,
    inject: policy(denyActions(['s3:GetObject'])),
    clear,
    check: 's3',
    status: 'fail',
    reasons: ['s3_access_denied'],
    step: 'head',
  },
  {
    peer: 's3',
    name: '403 AccessDenied on GET (proxy; rgw ties HEAD to GET)',
    inject: () =>
      g.proxies.s3.set(
        {
          kind: 'status',
          status: 403,
          body: s3ErrorXml('AccessDenied', 'Access Denied'),
          headers: { 'content-type': 'application/xml' },
        },
        { method: 'GET', path: objectPath },
      ),
    clear,
    check: 's3',
    status: 'fail',
    reasons: ['s3_access_denied'],
    step: 'get',
  },
  {
    peer: 's3',
    name: '403 AccessDenied on DELETE (role policy)',
    boundMs: 6000,
    inject: policy(denyActions(['s3:DeleteObject'])),
    clear,
    check: 's3',
    status: 'fail',
    reasons: ['s3_access_denied'],
    step: 'delete',
  },
  {
    peer: 's3',
    name: '404 bucket (deleted on the server)',
    inject: async () => {
      await waitUntil(
        'bucket deleted',
        async () => {
          await admin.send(new DeleteBucketCommand({ Bucket: g.bucket }));
          return true;
        },
        10_000,
        50,
      );
    },
    clear: () => createBucket(rgw, g.bucket),
    check: 's3',
    status: 'fail',
    reasons: ['s3_no_such_bucket'],
    step: 'put',
  },
  {
    peer: 's3',
    name: '503 SlowDown on PUT',
    inject: () => g.proxies.s3.set(S3_SLOW_DOWN, { method: 'PUT' }),
    clear,
    check: 's3',
    status: 'fail',
    reasons: ['s3_throttled'],
    step: 'put',
  },
  {
    peer: 's3',
    name: '500 InternalError on GET',
    inject: () => g.proxies.s3.set(S3_INTERNAL_ERROR, { method: 'GET', path: objectPath }),
    clear,
    check: 's3',
    status: 'fail',
    reasons: ['s3_server_error'],
    step: 'get',
  },
  {
    peer: 's3',
    name: 'connection reset (every request)',
    boundMs: 6000,
    inject: () => g.proxies.s3.set({ kind: 'reset' }),
    clear,
    check: 's3',
    status: 'fail',
    reasons: ['connection_reset'],
    step: 'put',
  },
  {
    peer: 's3',
    name: 'down (port closed)',
    inject: () => g.proxies.s3.set({ kind: 'refuse' }),
    clear,
    check: 's3',
    status: 'fail',
    reasons: ['connection_refused'],
    step: 'put',
  },
  {
    peer: 's3',
    name: 'hang (accepted, never answered)',
    inject: () => g.proxies.s3.set({ kind: 'blackhole' }),
    clear,
    check: 's3',
    status: 'fail',
    reasons: ['timeout'],
    step: 'put',
  },
  {
    peer: 's3',
    name: 'slow body on GET (1 byte / 200 ms)',
    inject: () =>
      g.proxies.s3.set(
        { kind: 'slow-body', chunkBytes: 1, intervalMs: 200 },
        { method: 'GET', path: objectPath },
      ),
    clear,
    check: 's3',
    status: 'fail',
    reasons: ['timeout'],
    step: 'get',
  },
  {
    peer: 's3',
    name: 'GET body cut mid-way (reset)',
    inject: () =>
      g.proxies.s3.set({ kind: 'truncate', bytes: 10 }, { method: 'GET', path: objectPath }),
    clear,
    check: 's3',
    status: 'fail',
    reasons: ['connection_reset', 's3_content_mismatch'],
    step: 'get',
  },
  {
    peer: 's3',
    name: 'PUT answer lost (server wrote it, reset)',
    boundMs: 6000,
    inject: () => g.proxies.s3.set({ kind: 'truncate' }, { method: 'PUT' }),
    clear,
    check: 's3',
    status: 'fail',
    reasons: ['connection_reset'],
    step: 'put',
  },
];

matrixTests(
  'S3 faults: verdict within the bound, health endpoints answering, recovery',
  's3 matrix',
  () => m,
  cases,
  () => {
    it('leaves no probe object behind once S3 works again', async () => {
      await waitPass(m.s.url, 20_000);
      await waitUntil(
        'own objects cleaned up',
        async () => (await ownObjects()).length === 0,
        15_000,
      );
    }, 30_000);
  },
);
