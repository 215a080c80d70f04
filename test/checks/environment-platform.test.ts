// The environment lint on ECS and EKS: each platform's traps, from configs
// parsed as the service parses them, token files written for real.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { ProbeDeps } from '../../src/checks/deps.ts';
import { environmentCheck } from '../../src/checks/environment.ts';
import { parseConfig } from '../../src/config/parse.ts';
import { runCheck } from '../../src/engine/run-check.ts';
import type { CheckResult } from '../../src/model/check.ts';

const NO_DEPS = {} as ProbeDeps;
const BASE = {
  KB_STORAGE_URI: 's3://acme-kb-prod/kb/',
  AWS_REGION: 'eu-west-1',
  AWS_DEFAULT_REGION: 'eu-west-1',
};
const dir = mkdtempSync(join(tmpdir(), 's3h-env-platform-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, content: string): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

function jwt(claims: Record<string, unknown>): string {
  const b = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${b({ alg: 'RS256' })}.${b({
    iss: 'https://oidc.eks.eu-west-1.amazonaws.com/id/ABC',
    sub: 'system:serviceaccount:apps:kb',
    aud: ['sts.amazonaws.com'],
    exp: Math.floor(Date.now() / 1000) + 3600,
    ...claims,
  })}.c2ln`;
}

async function lint(env: Record<string, string>): Promise<CheckResult> {
  const parsed = parseConfig({ ...BASE, ...env }, 'host-1');
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  return runCheck(
    environmentCheck,
    { config: parsed.config, facts: {}, deps: NO_DEPS, earlier: new Map() },
    5000,
  );
}

const stepOf = (r: CheckResult, name: string) => r.steps.find((s) => s.name === name);
const POD_URI = 'http://169.254.170.23/v1/credentials';

describe('ECS', () => {
  it('the task role endpoint passes; AWS_EC2_METADATA_DISABLED=true is no failure here', async () => {
    const r = await lint({
      AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: '/v2/credentials/0b7c-41',
      AWS_EC2_METADATA_DISABLED: 'true',
    });
    expect(r.status).toBe('pass');
    expect(stepOf(r, 'container-credentials')?.observed).toMatchObject({
      platform: 'ecs',
      url: 'http://169.254.170.2/v2/credentials/0b7c-41',
    });
  });

  it('a RELATIVE_URI without a leading / -> fail env_container_url_refused', async () => {
    const r = await lint({ AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: 'v2/credentials/abc' });
    expect(r).toMatchObject({ status: 'fail', reason: 'env_container_url_refused' });
    expect(r.output).toContain("does not start with '/'");
  });

  it('both URIs: the warning says RELATIVE_URI is the one used', async () => {
    const r = await lint({
      AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: '/v2/credentials/abc',
      AWS_CONTAINER_CREDENTIALS_FULL_URI: POD_URI,
    });
    expect(r.reason).toBe('env_container_credentials_conflict');
    expect(r.output).toContain('use RELATIVE_URI');
  });

  it('static keys shadow the task role, not "the instance role"', async () => {
    const r = await lint({
      AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: '/v2/credentials/abc',
      AWS_ACCESS_KEY_ID: 'AKIAIOSFODNN7EXAMPLE',
      S3_HEALTH_CHECKS: 'credentials,s3',
    });
    expect(r.reason).toBe('env_static_keys');
    expect(r.output).toContain('shadow the task role');
  });
});

describe('EKS Pod Identity', () => {
  const token = () => file('pod-token', jwt({ aud: ['pods.eks.amazonaws.com'] }));

  it('a good token file passes and names the service account', async () => {
    const r = await lint({
      AWS_CONTAINER_CREDENTIALS_FULL_URI: POD_URI,
      AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: token(),
    });
    expect(r.status).toBe('pass');
    expect(stepOf(r, 'container-credentials')?.observed).toMatchObject({
      platform: 'eks-pod-identity',
      subject: 'system:serviceaccount:apps:kb',
    });
  });

  it.each([
    ['a trailing \\n', `${jwt({})}\n`, 'line break'],
    ['\\r\\n', `${jwt({})}\r\n`, 'line break'],
    ['nothing', '', 'is empty'],
  ])('a token file with %s -> fail env_token_file_invalid', async (_l, content, says) => {
    const r = await lint({
      AWS_CONTAINER_CREDENTIALS_FULL_URI: POD_URI,
      AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: file('bad-token', content),
    });
    expect(r).toMatchObject({ status: 'fail', reason: 'env_token_file_invalid' });
    expect(r.output).toContain(says);
  });

  it('an unreadable token file -> fail env_token_file_invalid', async () => {
    const r = await lint({
      AWS_CONTAINER_CREDENTIALS_FULL_URI: POD_URI,
      AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: join(dir, 'missing'),
    });
    expect(r).toMatchObject({ status: 'fail', reason: 'env_token_file_invalid' });
    expect(r.output).toContain('ENOENT');
  });

  it('a URL the SDK refuses -> fail, with no password in the report', async () => {
    const r = await lint({
      AWS_CONTAINER_CREDENTIALS_FULL_URI: 'http://agent:s3cr3t@10.0.0.5/creds',
    });
    expect(r).toMatchObject({ status: 'fail', reason: 'env_container_url_refused' });
    expect(JSON.stringify(r)).not.toContain('s3cr3t');
  });

  it('a proxy: NO_PROXY must also cover the Pod Identity agent', async () => {
    const r = await lint({
      AWS_CONTAINER_CREDENTIALS_FULL_URI: POD_URI,
      AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: token(),
      HTTPS_PROXY: 'http://proxy:3128',
      HTTP_PROXY: 'http://proxy:3128',
      NO_PROXY: '169.254.169.254,169.254.170.2',
    });
    expect(r.reason).toBe('env_proxy_without_no_proxy');
    expect(r.output).toContain('169.254.170.23');
  });

  it('no region and IMDS not used -> warn env_region_missing', async () => {
    const r = await lint({
      AWS_REGION: '',
      AWS_DEFAULT_REGION: '',
      AWS_CONTAINER_CREDENTIALS_FULL_URI: POD_URI,
      AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: token(),
    });
    expect(r.reason).toBe('env_region_missing');
    expect(r.output).toContain('IMDS is not used here');
  });
});

describe('IRSA', () => {
  const role = 'arn:aws:iam::111122223333:role/kb';

  it('a good token passes and shows its claims', async () => {
    const r = await lint({
      AWS_WEB_IDENTITY_TOKEN_FILE: file('irsa', jwt({})),
      AWS_ROLE_ARN: role,
    });
    expect(r.status).toBe('pass');
    expect(stepOf(r, 'web-identity')?.observed).toMatchObject({
      subject: 'system:serviceaccount:apps:kb',
      audience: 'sts.amazonaws.com',
      roleArn: role,
    });
  });

  it.each([
    [
      'AWS_ROLE_ARN',
      { AWS_WEB_IDENTITY_TOKEN_FILE: '/var/run/secrets/eks.amazonaws.com/serviceaccount/token' },
    ],
    ['AWS_WEB_IDENTITY_TOKEN_FILE', { AWS_ROLE_ARN: role }],
  ])('%s missing -> warn env_web_identity_incomplete', async (missing, env) => {
    const r = await lint(env);
    expect(r).toMatchObject({ status: 'warn', reason: 'env_web_identity_incomplete' });
    expect(r.output).toContain(`${missing} is not`);
  });

  it.each([
    ['expired', { exp: Math.floor(Date.now() / 1000) - 60 }, 'expired at'],
    [
      'for another audience',
      { aud: 'pods.eks.amazonaws.com' },
      'STS accepts only sts.amazonaws.com',
    ],
  ])('a token %s -> warn env_token_file_invalid', async (_l, claims, says) => {
    const r = await lint({
      AWS_WEB_IDENTITY_TOKEN_FILE: file('irsa-bad', jwt(claims)),
      AWS_ROLE_ARN: role,
    });
    expect(r).toMatchObject({ status: 'warn', reason: 'env_token_file_invalid' });
    expect(r.output).toContain(says);
  });

  it('an unreadable token file -> fail env_token_file_invalid', async () => {
    const r = await lint({ AWS_WEB_IDENTITY_TOKEN_FILE: join(dir, 'nope'), AWS_ROLE_ARN: role });
    expect(r).toMatchObject({ status: 'fail', reason: 'env_token_file_invalid' });
  });
});
