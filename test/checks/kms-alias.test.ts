// S3_HEALTH_KMS_KEY_ID=alias/…: verified against its target key with
// kms:DescribeKey, or `s3` warns kms_key_unverified saying why; never a
// silent pass. radosgw stores SSE-KMS objects with a key literally named
// `alias/s3-health-test` and echoes that name on HEAD (it has no aliases and
// no KMS API): the DescribeKey answers come from ground/kms/endpoint.ts, and
// the fault proxy gives HEAD the key ARN AWS would report for the alias.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type FaultProxy, startFaultProxy } from '../../ground/fault/proxy.ts';
import { type Ground, startGround } from '../../ground/ground.ts';
import { type KmsEndpoint, linkImdsToKms, startKmsEndpoint } from '../../ground/kms/endpoint.ts';
import { createDeps } from '../../src/checks/create-deps.ts';
import { ALIAS_TARGET_TTL_MS } from '../../src/checks/kms-alias.ts';
import { parseConfig } from '../../src/config/parse.ts';
import type { CheckResult } from '../../src/model/check.ts';
import { clearEnv, cycle, quiet, useEnv } from '../support/sidecar.ts';

const rgw = inject('rgw');
const ALIAS = 'alias/s3-health-test';
let g: Ground;
let kms: KmsEndpoint;
let kmsProxy: FaultProxy;
let s3Proxy: FaultProxy;

beforeAll(async () => {
  g = await startGround(rgw);
  kms = await startKmsEndpoint({
    region: 'eu-west-1',
    keys: [
      { keyId: '0b9d5b2e-5c1a-4d6e-9f3a-7c2b1e0d4a61', aliases: [ALIAS] },
      { keyId: '5e7f0c3d-2a4b-4c1d-8e9f-1a2b3c4d5e6f', aliases: [] },
    ],
  });
  linkImdsToKms(g.imds, kms);
  kmsProxy = await startFaultProxy({ target: kms.url });
  s3Proxy = await startFaultProxy({ target: rgw.endpoint });
});

afterAll(async () => {
  clearEnv(['S3_HEALTH_SSE', 'S3_HEALTH_KMS_KEY_ID', 'AWS_ENDPOINT_URL_KMS']);
  await Promise.allSettled([g?.close(), kms?.close(), kmsProxy?.close(), s3Proxy?.close()]);
});

const TARGET = '0b9d5b2e-5c1a-4d6e-9f3a-7c2b1e0d4a61';
const OTHER = '5e7f0c3d-2a4b-4c1d-8e9f-1a2b3c4d5e6f';

/** HEAD as AWS answers it: the ARN of the key the alias resolved to, not the alias. */
async function headShowsKey(keyId: string | undefined): Promise<void> {
  if (keyId === undefined) return s3Proxy.set({ kind: 'pass' });
  return s3Proxy.set(
    {
      kind: 'set-headers',
      headers: { 'x-amz-server-side-encryption-aws-kms-key-id': kms.arnOf(keyId) },
    },
    { method: 'HEAD' },
  );
}

function kmsConfig(keyId: string) {
  const config = useEnv({
    ...g.env,
    AWS_ENDPOINT_URL_S3: s3Proxy.url,
    AWS_ENDPOINT_URL_KMS: kmsProxy.url,
    S3_HEALTH_SSE: 'aws:kms',
    S3_HEALTH_KMS_KEY_ID: keyId,
    S3_HEALTH_TIMEOUT_SECONDS: '2',
  });
  clearEnv(['S3_HEALTH_TIMEOUT_SECONDS']);
  return config;
}

async function s3Result(keyId = ALIAS, deps?: ReturnType<typeof createDeps>): Promise<CheckResult> {
  const config = kmsConfig(keyId);
  const r = (await cycle(config, deps ?? createDeps(config, quiet))).get('s3');
  if (r === undefined) throw new Error('no s3 result');
  return r;
}

const head = (r: CheckResult) => r.steps.find((s) => s.name === 'head');

describe('KMS alias', () => {
  it('verified: DescribeKey names the key HEAD shows -> pass, with the target recorded', async () => {
    await headShowsKey(TARGET);
    const asked = kms.calls();
    const r = await s3Result();
    expect(kms.calls()).toBe(asked + 1);
    expect(r.status).toBe('pass');
    expect(head(r)?.observed.kmsAliasTarget).toBe(kms.arnOf(TARGET));
  });

  it('a verified target is reused while HEAD shows that key; another key is asked afresh', async () => {
    await headShowsKey(TARGET);
    const deps = createDeps(kmsConfig(ALIAS), quiet);
    const asked = kms.calls();
    expect((await s3Result(ALIAS, deps)).status).toBe('pass');
    expect((await s3Result(ALIAS, deps)).status).toBe('pass');
    expect(kms.calls()).toBe(asked + 1);
    kms.setAlias(ALIAS, OTHER);
    await headShowsKey(OTHER);
    try {
      const r = await s3Result(ALIAS, deps);
      expect(r.status).toBe('pass');
      expect(head(r)?.observed.kmsAliasTarget).toBe(kms.arnOf(OTHER));
      expect(kms.calls()).toBe(asked + 2);
    } finally {
      kms.setAlias(ALIAS, TARGET);
      await headShowsKey(TARGET);
    }
  });

  it('a verified target is trusted for one hour by the deps clock, then asked again', async () => {
    await headShowsKey(TARGET);
    const deps = createDeps(kmsConfig(ALIAS), quiet);
    let clock = Date.parse('2026-12-06T00:00:00Z');
    deps.now = () => clock;
    const asked = kms.calls();
    expect((await s3Result(ALIAS, deps)).status).toBe('pass');
    clock += ALIAS_TARGET_TTL_MS - 1;
    expect((await s3Result(ALIAS, deps)).status).toBe('pass');
    expect(kms.calls()).toBe(asked + 1);
    clock += 1;
    expect((await s3Result(ALIAS, deps)).status).toBe('pass');
    expect(kms.calls()).toBe(asked + 2);
  });

  it('the alias points to another key than S3 used -> fail s3_sse_mismatch', async () => {
    await headShowsKey(TARGET);
    kms.setAlias(ALIAS, OTHER);
    try {
      const r = await s3Result();
      expect(r.status).toBe('fail');
      expect(r.reason).toBe('s3_sse_mismatch');
      expect(r.output).toContain(`alias ${ALIAS} points to KMS key ${kms.arnOf(OTHER)}`);
    } finally {
      kms.setAlias(ALIAS, TARGET);
    }
  });

  it('the store echoes the alias (radosgw as it is) -> warn kms_key_unverified', async () => {
    await headShowsKey(undefined);
    const r = await s3Result();
    expect(head(r)?.observed.kmsKeyId).toBe(ALIAS);
    expect(r.status).toBe('warn');
    expect(r.reason).toBe('kms_key_unverified');
    expect(r.output).toContain(`the store reports the alias ${ALIAS} itself`);
  });

  it('kms:DescribeKey denied -> warn kms_key_unverified, saying so', async () => {
    await headShowsKey(TARGET);
    kms.setDenied(true);
    try {
      const r = await s3Result();
      expect(r.status).toBe('warn');
      expect(r.reason).toBe('kms_key_unverified');
      expect(r.output).toContain('kms:DescribeKey was denied');
    } finally {
      kms.setDenied(false);
    }
  });

  it('KMS unreachable -> warn kms_key_unverified, saying so', async () => {
    await headShowsKey(TARGET);
    await kmsProxy.set({ kind: 'refuse' });
    try {
      const r = await s3Result();
      expect(r.status).toBe('warn');
      expect(r.reason).toBe('kms_key_unverified');
      expect(r.output).toMatch(/DescribeKey failed: ECONNREFUSED/);
    } finally {
      await kmsProxy.set({ kind: 'pass' });
    }
  });

  it('KMS hangs -> warn within half the deadline; the round-trip still completes', async () => {
    await headShowsKey(TARGET);
    await kmsProxy.set({ kind: 'blackhole' });
    try {
      const r = await s3Result();
      expect(r.status).toBe('warn');
      expect(r.reason).toBe('kms_key_unverified');
      expect(r.output).toContain('KMS did not answer DescribeKey within 1000 ms');
      expect(r.steps.map((s) => s.status)).toEqual(['pass', 'warn', 'pass', 'pass']);
    } finally {
      await kmsProxy.set({ kind: 'pass' });
    }
  });

  it('a key id (not an alias) is compared with HEAD directly: no KMS call', async () => {
    await headShowsKey(undefined);
    const asked = kms.calls();
    const r = await s3Result('testkey-1');
    expect(r.status).toBe('pass');
    expect(head(r)?.observed.kmsKeyId).toBe('testkey-1');
    expect(kms.calls()).toBe(asked);
  });

  it('a bad AWS_ENDPOINT_URL_KMS is a configuration problem (exit 78)', () => {
    const r = parseConfig({ S3_HEALTH_BUCKET: 'b', AWS_ENDPOINT_URL_KMS: 'kms.example' }, 'h');
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.problems.map((p) => p.variable)).toContain('AWS_ENDPOINT_URL_KMS');
  });
});
