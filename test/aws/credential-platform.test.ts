// Which platform source the default chain takes, read from the environment
// alone, checked against the SDK's own behaviour where the SDK can be asked
// without a request (fromHttp refuses a URL when it is created).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { sourceOf } from '../../src/aws/credential-chain.ts';
import { explainChainFailure } from '../../src/aws/credential-explain.ts';
import { platformPlan, sdkRefusal } from '../../src/aws/credential-platform.ts';
import { claimsOf } from '../../src/aws/service-account-token.ts';
import { parseConfig } from '../../src/config/parse.ts';
import { CheckFailure } from '../../src/model/check.ts';
import type { AwsEnv } from '../../src/model/config.ts';

function aws(env: Record<string, string>): AwsEnv {
  const parsed = parseConfig({ S3_HEALTH_CHECKS: 'credentials', ...env }, 'host-1');
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  return parsed.config.aws;
}

const dir = mkdtempSync(join(tmpdir(), 's3h-platform-unit-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function jwt(claims: object): string {
  const b = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${b({ alg: 'RS256' })}.${b(claims)}.c2ln`;
}

// The module the SDK's own fromHttp wrapper loads, resolved as the SDK resolves it. Its
// fromHttp checks the URL when created and sends nothing until called.
const sdkRequire = createRequire(
  createRequire(import.meta.url).resolve('@aws-sdk/credential-providers'),
);
const sdkHttp = sdkRequire('@aws-sdk/credential-provider-http') as {
  fromHttp: (o: { awsContainerCredentialsFullUri: string }) => unknown;
};

describe('sdkRefusal mirrors the SDK (fromHttp checkUrl)', () => {
  it.each([
    'https://creds.internal.example/v1/credentials',
    'http://127.0.0.1:9000/creds',
    'http://127.200.3.4/creds',
    'http://localhost:51679/creds',
    'http://[::1]:9000/creds',
    'http://169.254.170.2/v2/credentials/abc',
    'http://169.254.170.23/v1/credentials',
    'http://[fd00:ec2::23]/v1/credentials',
    'http://10.0.0.5/creds',
    'http://0.0.0.0:9/v1/credentials',
    'http://169.254.169.254/latest/meta-data/iam/security-credentials/r',
    'http://169.254.170.2foo/creds',
    'http://127.0.0.1.example/creds',
  ])('%s', (url) => {
    const ours = sdkRefusal(url) === undefined;
    let sdk = true;
    try {
      sdkHttp.fromHttp({ awsContainerCredentialsFullUri: url });
    } catch {
      sdk = false;
    }
    expect(ours).toBe(sdk);
  });
});

describe('platformPlan', () => {
  it('RELATIVE_URI wins over FULL_URI, as in the SDK and botocore', () => {
    const plan = platformPlan(
      aws({
        AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: '/v2/credentials/abc',
        AWS_CONTAINER_CREDENTIALS_FULL_URI: 'http://169.254.170.23/v1/credentials',
      }),
    );
    expect(plan).toMatchObject({ flavour: 'ecs', url: 'http://169.254.170.2/v2/credentials/abc' });
  });

  it('Pod Identity: the EKS host, the token file over the token variable', () => {
    const plan = platformPlan(
      aws({
        AWS_CONTAINER_CREDENTIALS_FULL_URI: 'http://169.254.170.23/v1/credentials',
        AWS_CONTAINER_AUTHORIZATION_TOKEN: 'x',
        AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: '/var/run/secrets/pods.eks.amazonaws.com/t',
      }),
    );
    expect(plan).toMatchObject({
      flavour: 'eks-pod-identity',
      token: { from: 'file', path: '/var/run/secrets/pods.eks.amazonaws.com/t' },
    });
  });

  it('another FULL_URI is a generic container endpoint; a refused one says why', () => {
    expect(
      platformPlan(aws({ AWS_CONTAINER_CREDENTIALS_FULL_URI: 'http://127.0.0.1:1/c' })),
    ).toMatchObject({ flavour: 'container' });
    const refused = platformPlan(aws({ AWS_CONTAINER_CREDENTIALS_FULL_URI: 'http://10.0.0.5/c' }));
    expect(refused).toHaveProperty('refused');
    expect(refused && 'refused' in refused ? refused.refused : '').toContain(
      'plain http to 10.0.0.5',
    );
  });

  it('web identity needs both variables; then it comes before the container endpoint', () => {
    expect(platformPlan(aws({ AWS_WEB_IDENTITY_TOKEN_FILE: '/t' }))).toBeUndefined();
    expect(
      platformPlan(
        aws({
          AWS_WEB_IDENTITY_TOKEN_FILE: '/t',
          AWS_ROLE_ARN: 'arn:aws:iam::111122223333:role/r',
          AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: '/v2/credentials/abc',
        }),
      ),
    ).toEqual({
      kind: 'web-identity',
      tokenFile: '/t',
      roleArn: 'arn:aws:iam::111122223333:role/r',
    });
  });

  it('nothing platform-specific: undefined (IMDS or static sources)', () => {
    expect(platformPlan(aws({}))).toBeUndefined();
  });
});

describe('sourceOf', () => {
  it('the one HTTP tag is told apart by the variables', () => {
    const tag = { CREDENTIALS_HTTP: 'z' };
    expect(
      sourceOf(tag, aws({ AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: '/v2/credentials/a' })),
    ).toBe('ecs');
    expect(
      sourceOf(
        tag,
        aws({ AWS_CONTAINER_CREDENTIALS_FULL_URI: 'http://169.254.170.23/v1/credentials' }),
      ),
    ).toBe('eks-pod-identity');
    expect(sourceOf(tag, aws({ AWS_CONTAINER_CREDENTIALS_FULL_URI: 'http://127.0.0.1/x' }))).toBe(
      'container',
    );
    expect(sourceOf({ CREDENTIALS_STS_ASSUME_ROLE_WEB_ID: 'k' }, aws({}))).toBe('web-identity');
  });
});

describe('claimsOf', () => {
  it('names the service account, never more', () => {
    const token = jwt({
      iss: 'https://oidc.eks.eu-west-1.amazonaws.com/id/ABC',
      sub: 'system:serviceaccount:apps:kb',
      aud: ['sts.amazonaws.com'],
      exp: 1_900_000_000,
    });
    expect(claimsOf(`${token}\n`)).toEqual({
      issuer: 'https://oidc.eks.eu-west-1.amazonaws.com/id/ABC',
      subject: 'system:serviceaccount:apps:kb',
      namespace: 'apps',
      serviceAccount: 'kb',
      audience: 'sts.amazonaws.com',
      expiresAt: new Date(1_900_000_000_000).toISOString(),
    });
    expect(claimsOf('not-a-jwt')).toEqual({});
  });
});

describe('explainChainFailure (web identity, no network)', () => {
  const tokenFile = join(dir, 'token');
  writeFileSync(
    tokenFile,
    jwt({
      iss: 'https://oidc.example/id/X',
      sub: 'system:serviceaccount:ns:sa',
      aud: 'sts.amazonaws.com',
      exp: 1_900_000_000,
    }),
  );
  const env = aws({
    AWS_WEB_IDENTITY_TOKEN_FILE: tokenFile,
    AWS_ROLE_ARN: 'arn:aws:iam::111122223333:role/r',
  });
  const stsError = (name: string, message: string) =>
    Object.assign(new Error(message), { name, $metadata: { httpStatusCode: 400 } });

  it.each([
    [
      'AccessDenied',
      'Not authorized to perform sts:AssumeRoleWithWebIdentity',
      'web_identity_access_denied',
    ],
    [
      'InvalidIdentityTokenException',
      'No OpenIDConnect provider found in your account for https://oidc.example/id/X',
      'web_identity_no_oidc_provider',
    ],
    ['InvalidIdentityTokenException', 'Incorrect token audience', 'web_identity_token_invalid'],
    ['ExpiredTokenException', 'Token expired', 'web_identity_token_expired'],
    ['IDPCommunicationErrorException', 'could not be reached', 'sts_error'],
  ])('%s (%s) -> %s, with the claims as detail', async (name, message, reason) => {
    const out = await explainChainFailure(stsError(name, message), env);
    expect(out).toBeInstanceOf(CheckFailure);
    expect(out).toMatchObject({
      reason,
      detail: {
        namespace: 'ns',
        serviceAccount: 'sa',
        roleArn: 'arn:aws:iam::111122223333:role/r',
      },
    });
  });

  it('anything else comes back unchanged', async () => {
    const e = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    expect(await explainChainFailure(e, env)).toBe(e);
    expect(await explainChainFailure(e, aws({}))).toBe(e);
  });
});
