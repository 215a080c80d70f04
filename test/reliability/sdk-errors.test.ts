// Small, exact reproductions of what the fault matrix found, each through the
// real SDK against the ground's real peers and the fault proxy: how SDK
// errors classify, and which credentials the pooled clients sign with.
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type FaultProxy, startFaultProxy } from '../../ground/fault/proxy.ts';
import { createBucket } from '../../ground/radosgw/info.ts';
import { type StsEndpoint, startStsEndpoint } from '../../ground/sts/endpoint.ts';
import { ClientPool, CredentialHolder } from '../../src/aws/clients.ts';
import { classify } from '../../src/aws/errors.ts';
import { parseConfig } from '../../src/config/parse.ts';
import type { Config } from '../../src/model/config.ts';

const rgw = inject('rgw');
const bucket = `s3h-sdk-${Date.now().toString(36)}`;
let proxy: FaultProxy;
let sts: StsEndpoint;

function configFor(s3: string, stsUrl = 'http://127.0.0.1:9'): Config {
  const p = parseConfig(
    {
      S3_HEALTH_BUCKET: bucket,
      AWS_REGION: rgw.region,
      AWS_ENDPOINT_URL_S3: s3,
      AWS_ENDPOINT_URL_STS: stsUrl,
      S3_HEALTH_S3_FORCE_PATH_STYLE: 'true',
      S3_HEALTH_TIMEOUT_SECONDS: '1',
      S3_HEALTH_INTERVAL_SECONDS: '1',
    },
    'test-host',
  );
  if (!p.ok) throw new Error(JSON.stringify(p.problems));
  return p.config;
}

function pool(
  config: Config,
  identity = rgw.admin,
): { pool: ClientPool; holder: CredentialHolder } {
  const holder = new CredentialHolder();
  holder.resolved = { identity, source: 'env' };
  return { pool: new ClientPool(config, holder), holder };
}

async function putError(p: ClientPool): Promise<unknown> {
  return p
    .s3(rgw.region)
    .send(new PutObjectCommand({ Bucket: bucket, Key: 'healthcheck/x', Body: Buffer.alloc(8) }))
    .then(
      () => undefined,
      (e: unknown) => e,
    );
}

beforeAll(async () => {
  await createBucket(rgw, bucket);
  proxy = await startFaultProxy({ target: rgw.endpoint });
  sts = await startStsEndpoint({ host: '127.0.0.1', port: 0 });
  sts.register(rgw.admin.accessKeyId, {
    account: '123456789012',
    arn: 'arn:aws:iam::123456789012:user/app',
    userId: 'AIDAEXAMPLE',
    secretAccessKey: rgw.admin.secretAccessKey,
  });
});

afterAll(async () => {
  await proxy?.close();
  await sts?.close();
});

describe('classification of network faults through the SDK', () => {
  it('a closed port is connection_refused', async () => {
    await proxy.set({ kind: 'refuse' });
    const { pool: p } = pool(configFor(proxy.url));
    try {
      expect(classify(await putError(p), 's3').reason).toBe('connection_refused');
    } finally {
      p.destroy();
      await proxy.set({ kind: 'pass' });
    }
  });

  it('a hung server is timeout', async () => {
    await proxy.set({ kind: 'blackhole' });
    const { pool: p } = pool(configFor(proxy.url));
    try {
      expect(classify(await putError(p), 's3').reason).toBe('timeout');
    } finally {
      p.destroy();
      await proxy.set({ kind: 'pass' });
    }
  });

  // Regression (found by this suite, now fixed): @smithy/node-http-handler sets name 'TimeoutError' on
  // ECONNRESET/EPIPE socket errors; classify() checks the name first, so a
  // reset reads as `timeout` (and its remediation talks about packet drops).
  // Fix (src/aws/errors.ts): look up NETWORK[s.code] before the
  // AbortError/TimeoutError name test.
  it('a reset is connection_reset', async () => {
    await proxy.set({ kind: 'reset' });
    const { pool: p } = pool(configFor(proxy.url));
    try {
      const e = await putError(p);
      expect(e).toMatchObject({ code: 'ECONNRESET' });
      expect(classify(e, 's3').reason).toBe('connection_reset');
    } finally {
      p.destroy();
      await proxy.set({ kind: 'pass' });
    }
  });
});

describe('clock skew through the SDK', () => {
  const skewed = (endpoint: string) =>
    new STSClient({
      region: rgw.region,
      endpoint,
      credentials: rgw.admin,
      maxAttempts: 1,
      systemClockOffset: -20 * 60_000,
    });

  it('radosgw: RequestTimeTooSkewed is clock_skew', async () => {
    const { pool: p } = pool(configFor(rgw.endpoint));
    p.s3(rgw.region).config.systemClockOffset = -20 * 60_000;
    try {
      const e = await putError(p);
      expect(e).toMatchObject({ name: 'RequestTimeTooSkewed' });
      expect(classify(e, 's3').reason).toBe('clock_skew');
    } finally {
      p.destroy();
    }
  });

  // Regression (found by this suite, now fixed): STS answers a request signed 20 min in the past with
  // SignatureDoesNotMatch "Signature expired: ..." (AWS does the same); it is
  // classified signature_mismatch, whose fix (check the secret key) is wrong.
  // Fix (src/aws/errors.ts): SignatureDoesNotMatch (or any auth error) with
  // $metadata.clockSkewCorrected === true, or a message starting "Signature
  // expired", is clock_skew.
  it('STS: a skewed signature is clock_skew', async () => {
    const c = skewed(sts.url);
    try {
      const e = await c.send(new GetCallerIdentityCommand({})).catch((x: unknown) => x);
      expect(e).toMatchObject({ name: 'SignatureDoesNotMatch' });
      expect(classify(e, 'sts').reason).toBe('clock_skew');
    } finally {
      c.destroy();
    }
  });
});

describe('which credentials the pooled clients sign with', () => {
  // Regression (found by this suite, now fixed): the SDK memoizes a `credentials` function until 5 min
  // before the identity it returned expires, so ClientPool's clients keep the
  // first cycle's credentials although `holder.resolved` changes every cycle.
  // Fix (src/aws/clients.ts): hand the clients a provider the SDK does not
  // wrap — `Object.assign(async () => ..., { memoized: true })` (the flag
  // @aws-sdk/core checks) — or key the pooled clients by access key id.
  it('a new identity in the holder signs the next request', async () => {
    await proxy.set({ kind: 'status', status: 200, body: '' }, { method: 'PUT' });
    const first = { ...rgw.admin, expiration: new Date(Date.now() + 3600_000) };
    const second = {
      accessKeyId: 'ASIASECONDKEY0000001',
      secretAccessKey: 'x'.repeat(40),
      sessionToken: 'token',
      expiration: new Date(Date.now() + 3600_000),
    };
    const { pool: p, holder } = pool(configFor(proxy.url), first);
    try {
      const seen: string[] = [];
      for (const identity of [first, second]) {
        holder.resolved = { identity, source: 'imds' };
        const req = proxy.next({ method: 'PUT' });
        await putError(p);
        seen.push(
          /Credential=([^/]+)\//.exec(String((await req).headers.authorization))?.[1] ?? '',
        );
      }
      expect(seen).toEqual([first.accessKeyId, second.accessKeyId]);
    } finally {
      p.destroy();
      await proxy.set({ kind: 'pass' });
    }
  });
});
