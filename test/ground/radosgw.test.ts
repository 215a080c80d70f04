// A real radosgw: temporary credentials from STS AssumeRole are verified,
// session policies deny per action, SSE-KMS keys are checked. The error
// shapes asserted here are what src/aws/errors.ts classifies on.
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StaticCreds, TempCreds } from '../../ground/radosgw/creds.ts';
import { type Radosgw, radosgwInstalled, startRadosgw } from '../../ground/radosgw/radosgw.ts';

// Explicit credentials only; never let the SDK reach for IMDS.
process.env.AWS_EC2_METADATA_DISABLED = 'true';

const BUCKET = 'ground-rgw';
const T = 30_000;
const ALLOW_ALL = {
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Action: ['s3:*'], Resource: ['arn:aws:s3:::*'] }],
};

interface ErrorShape {
  name: string;
  status: number | undefined;
}

async function failure(p: Promise<unknown>): Promise<ErrorShape> {
  try {
    await p;
  } catch (err) {
    const e = err as { name?: unknown; $metadata?: { httpStatusCode?: number } };
    return { name: String(e.name), status: e.$metadata?.httpStatusCode };
  }
  throw new Error('expected the call to fail');
}

/** Records the security-token header of every signed request the client sends. */
function captureTokens(client: S3Client): (string | undefined)[] {
  const seen: (string | undefined)[] = [];
  client.middlewareStack.add(
    (next) => async (args) => {
      const req = args.request as { headers?: Record<string, string> };
      seen.push(req.headers?.['x-amz-security-token']);
      return next(args);
    },
    { step: 'deserialize', name: 'captureSecurityToken' },
  );
  return seen;
}

let gw: Radosgw | undefined;
let roleArn = '';

function rgw(): Radosgw {
  if (gw === undefined) throw new Error('radosgw did not start');
  return gw;
}

beforeAll(async () => {
  if (!radosgwInstalled()) {
    throw new Error(
      'radosgw is not installed (apt-get install radosgw ceph-mon ceph-osd): this suite needs it',
    );
  }
  gw = await startRadosgw();
  console.log(`radosgw up in ${gw.startMs} ms ${JSON.stringify(gw.phases)} at ${gw.endpoint}`);
  await gw.createBucket(BUCKET);
  roleArn = await gw.createRole('ground-s3-all', ALLOW_ALL);
}, 120_000);

afterAll(async () => {
  await gw?.stop();
}, 60_000);

describe('radosgw ground', () => {
  it('has a tenantless role ARN and the configured KMS keys', () => {
    expect(roleArn).toBe('arn:aws:iam:::role/ground-s3-all');
    expect(rgw().accountId).toBe('');
    expect(rgw().kmsKeys.length).toBeGreaterThanOrEqual(2);
  });

  it(
    'put/head/get/delete with AssumeRole credentials, session token on every request',
    async () => {
      const creds = await rgw().assumeRole({ roleArn });
      expect(creds.sessionToken.length).toBeGreaterThan(0);
      const s3 = rgw().s3(creds);
      const tokens = captureTokens(s3);
      const Key = 'roundtrip.txt';
      await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key, Body: 'hello' }));
      const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key }));
      expect(head.ContentLength).toBe(5);
      const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key }));
      expect(await got.Body?.transformToString()).toBe('hello');
      await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key }));
      expect(tokens).toEqual(Array(4).fill(creds.sessionToken));
    },
    T,
  );

  it(
    'a session policy denying s3:DeleteObject gives 403 AccessDenied on delete only',
    async () => {
      const creds = await rgw().assumeRole({
        roleArn,
        sessionPolicy: {
          Version: '2012-10-17',
          Statement: [
            { Effect: 'Allow', Action: ['s3:*'], Resource: ['arn:aws:s3:::*'] },
            { Effect: 'Deny', Action: ['s3:DeleteObject'], Resource: ['arn:aws:s3:::*'] },
          ],
        },
      });
      const s3 = rgw().s3(creds);
      const Key = 'no-delete.txt';
      await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key, Body: 'x' }));
      await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key }));
      await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key }));
      expect(await failure(s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key })))).toEqual({
        name: 'AccessDenied',
        status: 403,
      });
      await rgw()
        .s3(rgw().admin)
        .send(new DeleteObjectCommand({ Bucket: BUCKET, Key }));
    },
    T,
  );

  it(
    'a wrong secret with temporary keys gives 403 SignatureDoesNotMatch',
    async () => {
      const creds = await rgw().assumeRole({ roleArn });
      const wrong: TempCreds = { ...creds, secretAccessKey: `x${creds.secretAccessKey}` };
      const put = rgw()
        .s3(wrong)
        .send(new PutObjectCommand({ Bucket: BUCKET, Key: 'sig.txt', Body: 'x' }));
      expect(await failure(put)).toEqual({ name: 'SignatureDoesNotMatch', status: 403 });
    },
    T,
  );

  // With STS on, rgw tries its STS engine first and reports that engine's
  // denial: permanent keys with a wrong secret, unknown keys and temporary
  // keys without (or with a bad) token all read 403 AccessDenied. Putting
  // `local` first in `rgw s3 auth order` would fix permanent keys but make a
  // wrong temporary secret InvalidAccessKeyId and ignore tokens on permanent keys.
  it(
    'permanent keys with a wrong secret, unknown keys, missing or bad tokens give 403 AccessDenied',
    async () => {
      const creds = await rgw().assumeRole({ roleArn });
      const put = (c: StaticCreds | TempCreds) =>
        rgw()
          .s3(c)
          .send(new PutObjectCommand({ Bucket: BUCKET, Key: 'k.txt', Body: 'x' }));
      const denied = { name: 'AccessDenied', status: 403 };
      expect(await failure(put({ ...rgw().admin, secretAccessKey: 'not-the-secret' }))).toEqual(
        denied,
      );
      expect(
        await failure(put({ accessKeyId: 'AKIDUNKNOWN000000000', secretAccessKey: 'x' })),
      ).toEqual(denied);
      const noToken: StaticCreds = {
        accessKeyId: creds.accessKeyId,
        secretAccessKey: creds.secretAccessKey,
      };
      expect(await failure(put(noToken))).toEqual(denied);
      const badToken = `${creds.sessionToken.slice(0, -4)}AAAA`;
      expect(await failure(put({ ...creds, sessionToken: badToken }))).toEqual(denied);
      // HEAD answers carry no body: the SDK can only name them by status.
      const head = rgw()
        .s3(noToken)
        .send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'k.txt' }));
      expect(await failure(head)).toEqual({ name: 'Unknown', status: 403 });
    },
    T,
  );

  it(
    'SSE-KMS with a configured key: head shows aws:kms and the key id',
    async () => {
      const [keyId] = rgw().kmsKeys;
      const s3 = rgw().s3(await rgw().assumeRole({ roleArn }));
      const Key = 'kms.txt';
      const put = await s3.send(
        new PutObjectCommand({
          Bucket: BUCKET,
          Key,
          Body: 'secret',
          ServerSideEncryption: 'aws:kms',
          SSEKMSKeyId: keyId,
        }),
      );
      expect(put.ServerSideEncryption).toBe('aws:kms');
      const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key }));
      expect(head.ServerSideEncryption).toBe('aws:kms');
      expect(head.SSEKMSKeyId).toBe(keyId);
      const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key }));
      expect(await got.Body?.transformToString()).toBe('secret');
    },
    T,
  );

  it(
    'SSE-KMS with an unknown key gives 403 InvalidAccessKeyId (an rgw oddity)',
    async () => {
      const s3 = rgw().s3(await rgw().assumeRole({ roleArn }));
      const put = s3.send(
        new PutObjectCommand({
          Bucket: BUCKET,
          Key: 'kms-unknown.txt',
          Body: 'x',
          ServerSideEncryption: 'aws:kms',
          SSEKMSKeyId: 'no-such-key',
        }),
      );
      expect(await failure(put)).toEqual({ name: 'InvalidAccessKeyId', status: 403 });
    },
    T,
  );

  it(
    'SSE-KMS without a key id gives 400 InvalidArgument',
    async () => {
      const s3 = rgw().s3(await rgw().assumeRole({ roleArn }));
      const put = s3.send(
        new PutObjectCommand({
          Bucket: BUCKET,
          Key: 'kms-nokey.txt',
          Body: 'x',
          ServerSideEncryption: 'aws:kms',
        }),
      );
      expect(await failure(put)).toEqual({ name: 'InvalidArgument', status: 400 });
    },
    T,
  );

  it(
    'a 900 s temporary credential works',
    async () => {
      const before = Date.now();
      const creds = await rgw().assumeRole({ roleArn, durationSeconds: 900 });
      const lifetime = creds.expiration.getTime() - before;
      expect(lifetime).toBeGreaterThan(890_000);
      expect(lifetime).toBeLessThanOrEqual(901_000);
      const s3 = rgw().s3(creds);
      await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'short.txt', Body: 'x' }));
      await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'short.txt' }));
    },
    T,
  );

  it(
    'a missing bucket gives 404 NoSuchBucket',
    async () => {
      const s3 = rgw().s3(await rgw().assumeRole({ roleArn }));
      const put = s3.send(new PutObjectCommand({ Bucket: 'no-such-bucket', Key: 'k', Body: 'x' }));
      expect(await failure(put)).toEqual({ name: 'NoSuchBucket', status: 404 });
      const get = s3.send(new GetObjectCommand({ Bucket: 'no-such-bucket', Key: 'k' }));
      expect(await failure(get)).toEqual({ name: 'NoSuchBucket', status: 404 });
      const head = s3.send(new HeadObjectCommand({ Bucket: 'no-such-bucket', Key: 'k' }));
      expect(await failure(head)).toEqual({ name: 'NotFound', status: 404 });
    },
    T,
  );

  it(
    'STS errors come back in S3 style, which client-sts names Unknown: classify by status',
    async () => {
      const caller = { ...rgw().admin, secretAccessKey: 'wrong' };
      expect(await failure(rgw().assumeRole({ roleArn, caller }))).toEqual({
        name: 'Unknown',
        status: 403,
      });
      expect(await failure(rgw().assumeRole({ roleArn, durationSeconds: 899 }))).toEqual({
        name: 'Unknown',
        status: 400,
      });
      expect(
        await failure(rgw().assumeRole({ roleArn: 'arn:aws:iam:::role/no-such-role' })),
      ).toEqual({ name: 'NotFound', status: 404 });
    },
    T,
  );
});
