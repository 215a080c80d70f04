// The environment lint through runCheck with configs parsed from env, as the service builds them.
import { describe, expect, it } from 'vitest';
import type { ProbeDeps } from '../../src/checks/deps.ts';
import { environmentCheck } from '../../src/checks/environment.ts';
import { parseConfig } from '../../src/config/parse.ts';
import { runCheck } from '../../src/engine/run-check.ts';
import type { CheckResult } from '../../src/model/check.ts';

// The environment check reads the parsed config only; it never touches a client.
const NO_DEPS = {} as ProbeDeps;
const BASE = {
  KB_STORAGE_URI: 's3://acme-kb-prod/kb/',
  AWS_REGION: 'eu-west-1',
  AWS_DEFAULT_REGION: 'eu-west-1',
};
const BOTH = '169.254.169.254,169.254.170.2';

async function lint(env: Record<string, string>): Promise<CheckResult> {
  const parsed = parseConfig({ ...BASE, ...env }, 'host-1');
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  return runCheck(
    environmentCheck,
    { config: parsed.config, facts: {}, deps: NO_DEPS, earlier: new Map() },
    5000,
  );
}

function stepOf(r: CheckResult, name: string) {
  return r.steps.find((s) => s.name === name);
}

describe('environment check', () => {
  it('a clean environment passes every step', async () => {
    const r = await lint({});
    expect(r.status).toBe('pass');
    expect(r.steps.map((s) => [s.name, s.status])).toEqual([
      ['credentials-env', 'pass'],
      ['region', 'pass'],
      ['proxy', 'pass'],
      ['imds-switch', 'pass'],
    ]);
  });

  it('static keys with imds on -> warn env_static_keys, key shown masked only', async () => {
    const r = await lint({
      AWS_ACCESS_KEY_ID: 'AKIAIOSFODNN7EXAMPLE',
      AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
    });
    expect(r).toMatchObject({ status: 'warn', reason: 'env_static_keys' });
    expect(r.output).toContain('AKIA…MPLE');
    expect(stepOf(r, 'credentials-env')?.observed).toEqual({
      accessKeyId: 'AKIA…MPLE',
      profile: null,
    });
    const json = JSON.stringify(r);
    expect(json).not.toContain('AKIAIOSFODNN7EXAMPLE');
    expect(json).not.toContain('wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY');
  });

  it('static keys without the imds check are what the operator chose', async () => {
    const r = await lint({ AWS_ACCESS_KEY_ID: 'AKIAIOSFODNN7EXAMPLE', S3_HEALTH_CHECKS: 's3' });
    expect(r.status).toBe('pass');
  });

  it('AWS_PROFILE with imds on -> warn env_profile_set', async () => {
    const r = await lint({ AWS_PROFILE: 'dev' });
    expect(r).toMatchObject({ status: 'warn', reason: 'env_profile_set' });
    expect(r.output).toContain('AWS_PROFILE=dev');
  });

  it('both container credential URIs -> warn env_container_credentials_conflict', async () => {
    const r = await lint({
      AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: '/v2/credentials/abc',
      AWS_CONTAINER_CREDENTIALS_FULL_URI: 'http://127.0.0.1:9000/creds',
    });
    expect(r.reason).toBe('env_container_credentials_conflict');
  });

  it('AWS_REGION vs AWS_DEFAULT_REGION -> warn env_region_mismatch', async () => {
    const r = await lint({ AWS_DEFAULT_REGION: 'us-east-1' });
    expect(r).toMatchObject({ status: 'warn', reason: 'env_region_mismatch' });
    expect(stepOf(r, 'region')?.observed).toEqual({
      AWS_REGION: 'eu-west-1',
      AWS_DEFAULT_REGION: 'us-east-1',
    });
  });

  it('one of the two regions alone is no mismatch', async () => {
    expect((await lint({ AWS_DEFAULT_REGION: '' })).status).toBe('pass');
  });

  it('no region and no imds check -> warn env_region_missing', async () => {
    const r = await lint({ AWS_REGION: '', AWS_DEFAULT_REGION: '', S3_HEALTH_CHECKS: 's3' });
    expect(r.reason).toBe('env_region_missing');
  });

  it.each([
    ['HTTPS_PROXY', undefined],
    ['https_proxy', '169.254.170.2'],
    ['http_proxy', 'localhost,.internal'],
    ['HTTPS_PROXY', '169.254.169.254:80,169.254.170.2:80'],
  ])('%s with NO_PROXY=%j -> warn env_proxy_without_no_proxy', async (proxyVar, noProxy) => {
    const r = await lint({
      [proxyVar]: 'http://proxy.internal:3128',
      ...(noProxy === undefined ? {} : { NO_PROXY: noProxy }),
    });
    expect(r).toMatchObject({ status: 'warn', reason: 'env_proxy_without_no_proxy' });
    expect(stepOf(r, 'proxy')?.observed.proxy).toBe(true);
  });

  it('names exactly the metadata addresses NO_PROXY lacks', async () => {
    const r = await lint({
      HTTPS_PROXY: 'http://p:3128',
      NO_PROXY: '169.254.169.254',
      AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: '/v2/credentials/abc',
    });
    expect(r.output).toContain('lacks 169.254.170.2:');
    expect(r.output).not.toContain('169.254.169.254,');
  });

  it("the runbook's NO_PROXY on EC2 with compose passes: 169.254.170.2 is asked for only where ECS is configured", async () => {
    const r = await lint({
      HTTPS_PROXY: 'http://proxy.internal:3128',
      NO_PROXY: '169.254.169.254,localhost,127.0.0.1',
    });
    expect(r.status).toBe('pass');
  });

  it('the IMDS address asked for is the one the app uses (AWS_EC2_METADATA_SERVICE_ENDPOINT)', async () => {
    const r = await lint({
      HTTPS_PROXY: 'http://proxy.internal:3128',
      NO_PROXY: '169.254.169.254',
      AWS_EC2_METADATA_SERVICE_ENDPOINT: 'http://10.0.0.9:1338',
    });
    expect(r.status).toBe('warn');
    expect(r.output).toContain('lacks 10.0.0.9:');
    const off = await lint({
      HTTPS_PROXY: 'http://proxy.internal:3128',
      AWS_EC2_METADATA_DISABLED: 'true',
      S3_HEALTH_CHECKS: 'credentials,s3',
    });
    expect(off.status).toBe('pass');
  });

  it("NO_PROXY is read as botocore reads it: '*' only alone, a leading dot ignored", async () => {
    const listed = await lint({ HTTPS_PROXY: 'http://p:3128', NO_PROXY: 'localhost,*' });
    expect(listed.reason).toBe('env_proxy_without_no_proxy');
    const dotted = await lint({
      HTTPS_PROXY: 'http://p:3128',
      NO_PROXY: '.169.254.169.254',
    });
    expect(dotted.status).toBe('pass');
  });

  it.each([
    ['NO_PROXY', BOTH],
    ['NO_PROXY', '169.254.169.254'],
    ['no_proxy', ` localhost , ${BOTH} `],
    ['NO_PROXY', '*'],
  ])('a proxy with %s=%j passes', async (name, value) => {
    const r = await lint({ HTTPS_PROXY: 'http://proxy.internal:3128', [name]: value });
    expect(r.status).toBe('pass');
  });

  it('AWS_EC2_METADATA_DISABLED=true with imds on -> fail env_imds_disabled', async () => {
    const r = await lint({ AWS_EC2_METADATA_DISABLED: 'true' });
    expect(r).toMatchObject({ status: 'fail', reason: 'env_imds_disabled' });
    expect(r.output).toContain('AWS_EC2_METADATA_DISABLED=true');
    expect(stepOf(r, 'imds-switch')?.status).toBe('fail');
  });

  it('AWS_EC2_METADATA_DISABLED=false is fine', async () => {
    expect((await lint({ AWS_EC2_METADATA_DISABLED: 'false' })).status).toBe('pass');
  });

  // Regression, fixed in src/config/parse.ts, see test/config/parse.test.ts: the SDK leaves
  // IMDS on for an empty AWS_EC2_METADATA_DISABLED, the lint fails it.
  it('AWS_EC2_METADATA_DISABLED= (empty, as in an env file) is fine', async () => {
    expect((await lint({ AWS_EC2_METADATA_DISABLED: '' })).status).toBe('pass');
  });

  it('AWS_EC2_METADATA_DISABLED=true without the imds check is fine', async () => {
    const r = await lint({ AWS_EC2_METADATA_DISABLED: 'true', S3_HEALTH_CHECKS: 'credentials' });
    expect(r.status).toBe('pass');
  });

  it('warnings keep every step running; a failure after them wins', async () => {
    const r = await lint({
      AWS_PROFILE: 'dev',
      AWS_DEFAULT_REGION: 'us-east-1',
      AWS_EC2_METADATA_DISABLED: 'true',
    });
    expect(r.steps.map((s) => s.status)).toEqual(['warn', 'warn', 'pass', 'fail']);
    expect(r.reason).toBe('env_imds_disabled');
  });
});
