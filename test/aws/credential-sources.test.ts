// ECS task roles, EKS Pod Identity and IRSA through the real SDK default
// chain, against the ground's container credential endpoint and STS
// AssumeRoleWithWebIdentity, with real radosgw temporary credentials behind
// both: a pass and the main failures per source, and what /diagnose says.
//
// ECS's AWS_CONTAINER_CREDENTIALS_RELATIVE_URI always means 169.254.170.2,
// which no test in this namespace may reach (network guard). ECS is driven
// through AWS_CONTAINER_CREDENTIALS_FULL_URI on loopback instead: the same
// provider (fromHttp) and the same request, only the URL's origin differs;
// the RELATIVE_URI -> URL step is checked on its own below.
import { createServer } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  IRSA_ROLE_ARN,
  PLATFORM,
  type PlatformGround,
  startPlatformGround,
} from '../../ground/platform/ground.ts';
import { platformPlan } from '../../src/aws/credential-platform.ts';
import { createDeps } from '../../src/checks/create-deps.ts';
import { createDiagnoser } from '../../src/engine/diagnose-run.ts';
import type { CheckName, CheckResult } from '../../src/model/check.ts';
import { renderDiagnoseJson } from '../../src/report/diagnose.ts';
import { clearEnv, quiet, summary, useEnv } from '../support/sidecar.ts';

const rgw = inject('rgw');
let g: PlatformGround;

const SET_BY_TESTS = [
  'AWS_CONTAINER_CREDENTIALS_FULL_URI',
  'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI',
  'AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE',
  'AWS_WEB_IDENTITY_TOKEN_FILE',
  'AWS_ROLE_ARN',
  'AWS_EC2_METADATA_DISABLED',
  'S3_HEALTH_EXPECTED_ROLE',
];

beforeAll(async () => {
  g = await startPlatformGround(rgw, `s3h-platform-${process.pid}`);
});
afterAll(async () => {
  await g?.close();
  process.env.AWS_EC2_METADATA_SERVICE_ENDPOINT = 'http://127.0.0.1:9';
});
afterEach(() => {
  clearEnv(SET_BY_TESTS);
  g.container.setFault('none');
  g.webIdentity.setFault('none');
  g.webIdentity.addProvider(g.webIdentity.issuer);
});

interface Remedy {
  title: string;
  cause: string;
  fix: string[];
}
interface Run {
  results: Map<CheckName, CheckResult>;
  remedy(check: CheckName): Remedy;
  /** every fix block of a check, one string */
  fixText(check: CheckName): string;
}

/** One live /diagnose run with this environment, as the service would do it. */
async function diagnose(env: Record<string, string>): Promise<Run> {
  // Container failures cost the SDK 3 retries of 1 s before it gives up.
  const config = useEnv({ ...g.common(), S3_HEALTH_TIMEOUT_SECONDS: '10', ...env });
  const report = await createDiagnoser(config, createDeps(config, quiet), 'test')();
  const json = renderDiagnoseJson(report) as {
    checks: { check: CheckName; remediation?: Remedy }[];
  };
  const remedy = (check: CheckName): Remedy => {
    const r = json.checks.find((c) => c.check === check)?.remediation;
    if (!r) throw new Error(`no remediation for ${check}`);
    return r;
  };
  return {
    results: new Map(report.results.map((r) => [r.check, r])),
    remedy,
    fixText: (check) => remedy(check).fix.join('\n'),
  };
}

function stepOf(r: CheckResult | undefined, name: string) {
  return r?.steps.find((s) => s.name === name);
}

function failure(run: Run, check: CheckName) {
  return run.results.get(check)?.steps.find((s) => s.status === 'fail')?.error;
}

async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const addr = srv.address();
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  if (addr === null || typeof addr === 'string') throw new Error('no port');
  return addr.port;
}

describe('ECS task role', () => {
  it('passes through the SDK, reports source ecs, and never asks IMDS', async () => {
    g.imds.resetCounters();
    const run = await diagnose(g.ecs());
    expect(summary(run.results)).toEqual({
      environment: 'pass',
      imds: 'pass',
      credentials: 'pass',
      s3: 'pass',
    });
    const creds = run.results.get('credentials');
    expect(stepOf(creds, 'resolve')?.observed.source).toBe('ecs');
    expect(stepOf(creds, 'identity')?.observed.arn).toBe(
      `arn:aws:sts::${PLATFORM.accountId}:assumed-role/${PLATFORM.appRole}/ecs-task-0123456789abcdef0`,
    );
    const imds = run.results.get('imds');
    expect(imds?.steps.map((s) => s.name)).toEqual(['applicability']);
    expect(stepOf(imds, 'applicability')?.observed).toMatchObject({
      applicable: false,
      reason: 'imds_not_applicable',
      credentialSource: 'ecs',
    });
    const calls = g.imds.counters();
    expect(calls.gets + calls.tokenPuts).toBe(0);
  });

  it('RELATIVE_URI: the SDK asks http://169.254.170.2 + the path, the same provider', () => {
    const config = useEnv({ AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: g.container.ecsRelativeUri });
    expect(platformPlan(config.aws)).toEqual({
      kind: 'container',
      flavour: 'ecs',
      variable: 'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI',
      url: `http://169.254.170.2${g.container.ecsRelativeUri}`,
    });
  });

  it('unknown credentials id -> container_credentials_refused; the fix is the task role', async () => {
    g.container.setFault('unknown-id');
    const run = await diagnose(g.ecs());
    expect(summary(run.results)).toMatchObject({
      credentials: 'fail:container_credentials_refused',
      s3: 'fail:blocked',
    });
    expect(failure(run, 'credentials')).toMatchObject({
      httpStatus: 400,
      code: 'InvalidIdInRequest',
    });
    expect(run.remedy('credentials').cause).toContain('no task role (taskRoleArn)');
    expect(run.fixText('credentials')).toContain('ecs-tasks.amazonaws.com');
    expect(run.fixText('credentials')).toContain('--force-new-deployment');
  });

  it('agent still reconciling (503) -> container_credentials_error', async () => {
    g.container.setFault('uninitialized');
    const run = await diagnose(g.ecs());
    expect(summary(run.results).credentials).toBe('fail:container_credentials_error');
    expect(failure(run, 'credentials')).toMatchObject({
      httpStatus: 503,
      code: 'CredentialsUninitialized',
    });
  });

  it('nothing listening -> container_credentials_unreachable with the agent settings', async () => {
    const port = await closedPort();
    const run = await diagnose({
      AWS_CONTAINER_CREDENTIALS_FULL_URI: `http://127.0.0.1:${port}${g.container.ecsRelativeUri}`,
    });
    expect(summary(run.results).credentials).toBe('fail:container_credentials_unreachable');
    expect(failure(run, 'credentials')?.code).toBe('ECONNREFUSED');
    expect(run.fixText('credentials')).toContain('ECS_ENABLE_TASK_IAM_ROLE_NETWORK_HOST=true');
  });
});

describe('EKS Pod Identity', () => {
  it('passes through the SDK with the token from the file, source eks-pod-identity', async () => {
    const token = g.container.issueToken();
    g.container.resetRequests();
    const run = await diagnose(g.podIdentity(token));
    expect(summary(run.results)).toEqual({
      environment: 'pass',
      imds: 'pass',
      credentials: 'pass',
      s3: 'pass',
    });
    expect(stepOf(run.results.get('credentials'), 'resolve')?.observed.source).toBe(
      'eks-pod-identity',
    );
    expect(stepOf(run.results.get('environment'), 'container-credentials')?.observed).toMatchObject(
      {
        platform: 'eks-pod-identity',
        subject: `system:serviceaccount:${PLATFORM.namespace}:${PLATFORM.serviceAccount}`,
      },
    );
    // The raw token goes to the agent as is (not "Bearer …").
    expect(g.container.requests().map((r) => r.authorization)).toContain(token);
  });

  it('re-reads the token file on every request: a rotated token is used at once', async () => {
    const env = g.podIdentity(g.container.issueToken());
    await diagnose(env);
    const rotated = g.container.issueToken();
    g.writeFile('eks-pod-identity-token', rotated);
    g.container.resetRequests();
    const run = await diagnose(env);
    expect(summary(run.results).credentials).toBe('pass');
    expect(g.container.requests().map((r) => r.authorization)).toEqual([rotated]);
  });

  it('no association -> pod_identity_no_association, fix names the service account', async () => {
    g.container.setFault('no-association');
    const run = await diagnose(g.podIdentity());
    expect(summary(run.results)).toMatchObject({
      imds: 'pass',
      credentials: 'fail:pod_identity_no_association',
      s3: 'fail:blocked',
    });
    expect(failure(run, 'credentials')).toMatchObject({
      httpStatus: 404,
      code: 'ResourceNotFoundException',
    });
    expect(run.remedy('credentials').cause).toContain('apps/s3-health');
    expect(run.fixText('credentials')).toContain(
      'aws eks create-pod-identity-association --cluster-name "$CLUSTER" --region eu-west-1 --namespace apps --service-account s3-health --role-arn',
    );
  });

  it('role does not trust Pod Identity -> pod_identity_access_denied with the trust policy', async () => {
    g.container.setFault('access-denied');
    const run = await diagnose(g.podIdentity());
    expect(summary(run.results).credentials).toBe('fail:pod_identity_access_denied');
    const doc = run.remedy('credentials').fix.find((f) => f.startsWith('{'));
    expect(JSON.parse(doc ?? '{}')).toMatchObject({
      Statement: [
        {
          Principal: { Service: 'pods.eks.amazonaws.com' },
          Action: ['sts:AssumeRole', 'sts:TagSession'],
        },
      ],
    });
  });

  it('a token file with a newline fails before any request, in environment and credentials', async () => {
    g.container.resetRequests();
    const run = await diagnose(g.podIdentity(`${g.container.issueToken()}\n`));
    expect(summary(run.results)).toMatchObject({
      environment: 'fail:env_token_file_invalid',
      credentials: 'fail:env_token_file_invalid',
    });
    expect(run.results.get('environment')?.output).toContain('line break');
    expect(run.remedy('credentials').cause).toContain('AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE=');
    expect(g.container.requests().filter((r) => r.authorization?.endsWith('\n'))).toEqual([]);
  });

  it('an unreadable token file -> env_token_file_invalid', async () => {
    const run = await diagnose({
      ...g.podIdentity(),
      AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: '/nonexistent/s3h/eks-pod-identity-token',
    });
    expect(summary(run.results)).toMatchObject({
      environment: 'fail:env_token_file_invalid',
      credentials: 'fail:env_token_file_invalid',
    });
    expect(run.results.get('credentials')?.output).toContain('ENOENT');
  });

  it('an expired token -> container_credentials_refused, the agent says why', async () => {
    const run = await diagnose(g.podIdentity(g.container.issueToken({ expiresInSeconds: -60 })));
    expect(summary(run.results).credentials).toBe('fail:container_credentials_refused');
    expect(run.results.get('credentials')?.output).toContain('token is expired');
    expect(run.remedy('credentials').cause).toContain('Pod Identity Agent refused');
  });

  it('no agent on the node -> container_credentials_unreachable, fix installs the add-on', async () => {
    const port = await closedPort();
    const run = await diagnose({
      ...g.podIdentity(),
      AWS_CONTAINER_CREDENTIALS_FULL_URI: `http://127.0.0.1:${port}/v1/credentials`,
    });
    expect(summary(run.results).credentials).toBe('fail:container_credentials_unreachable');
    expect(run.fixText('credentials')).toContain(
      'aws eks create-addon --cluster-name "$CLUSTER" --addon-name eks-pod-identity-agent --region eu-west-1',
    );
  });

  it('a URL the SDK refuses -> env_container_url_refused (nothing is asked)', async () => {
    g.container.resetRequests();
    const run = await diagnose({
      ...g.podIdentity(),
      AWS_CONTAINER_CREDENTIALS_FULL_URI: 'http://0.0.0.0:9/v1/credentials',
    });
    expect(summary(run.results)).toMatchObject({
      environment: 'fail:env_container_url_refused',
      credentials: 'fail:env_container_url_refused',
    });
    expect(run.remedy('credentials').cause).toContain('http://0.0.0.0:9/v1/credentials');
  });

  it('AWS_EC2_METADATA_DISABLED=true is good practice here, not a failure', async () => {
    const run = await diagnose({ ...g.podIdentity(), AWS_EC2_METADATA_DISABLED: 'true' });
    expect(summary(run.results)).toEqual({
      environment: 'pass',
      imds: 'pass',
      credentials: 'pass',
      s3: 'pass',
    });
  });
});

describe('IRSA (AssumeRoleWithWebIdentity)', () => {
  it('passes through the SDK at AWS_ENDPOINT_URL_STS as the IRSA role', async () => {
    g.imds.resetCounters();
    const run = await diagnose({ ...g.irsa(), S3_HEALTH_EXPECTED_ROLE: IRSA_ROLE_ARN });
    expect(summary(run.results)).toEqual({
      environment: 'pass',
      imds: 'pass',
      credentials: 'pass',
      s3: 'pass',
    });
    const creds = run.results.get('credentials');
    expect(stepOf(creds, 'resolve')?.observed.source).toBe('web-identity');
    expect(String(stepOf(creds, 'identity')?.observed.arn)).toMatch(
      new RegExp(`^arn:aws:sts::${PLATFORM.accountId}:assumed-role/${PLATFORM.irsaRole}/`),
    );
    expect(stepOf(run.results.get('imds'), 'applicability')?.observed.credentialSource).toBe(
      'web-identity',
    );
    expect(g.imds.counters().gets).toBe(0);
    expect(g.webIdentity.calls().at(-1)).toMatchObject({ roleArn: IRSA_ROLE_ARN, error: null });
  });

  it('service account not in the trust policy -> web_identity_access_denied, with the policy', async () => {
    const run = await diagnose(g.irsa(g.webIdentity.issueToken({ serviceAccount: 'worker' })));
    expect(summary(run.results)).toMatchObject({
      credentials: 'fail:web_identity_access_denied',
      s3: 'fail:blocked',
    });
    expect(failure(run, 'credentials')).toMatchObject({ httpStatus: 403, code: 'AccessDenied' });
    const host = g.webIdentity.issuer.replace('https://', '');
    const doc = run.remedy('credentials').fix.find((f) => f.startsWith('{'));
    expect(JSON.parse(doc ?? '{}')).toEqual({
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Principal: { Federated: `arn:aws:iam::${PLATFORM.accountId}:oidc-provider/${host}` },
          Action: 'sts:AssumeRoleWithWebIdentity',
          Condition: {
            StringEquals: {
              [`${host}:sub`]: 'system:serviceaccount:apps:worker',
              [`${host}:aud`]: 'sts.amazonaws.com',
            },
          },
        },
      ],
    });
    expect(run.fixText('credentials')).toContain(
      `aws iam update-assume-role-policy --role-name ${PLATFORM.irsaRole}`,
    );
  });

  it('no IAM OIDC provider for the cluster -> web_identity_no_oidc_provider', async () => {
    g.webIdentity.removeProvider(g.webIdentity.issuer);
    const run = await diagnose(g.irsa());
    expect(summary(run.results).credentials).toBe('fail:web_identity_no_oidc_provider');
    expect(run.fixText('credentials')).toContain(
      `aws iam create-open-id-connect-provider --url ${g.webIdentity.issuer} --client-id-list sts.amazonaws.com`,
    );
  });

  it('an expired token: environment warns, STS refuses -> web_identity_token_expired', async () => {
    const run = await diagnose(g.irsa(g.webIdentity.issueToken({ expiresInSeconds: -60 })));
    expect(summary(run.results)).toMatchObject({
      environment: 'warn:env_token_file_invalid',
      credentials: 'fail:web_identity_token_expired',
    });
    expect(failure(run, 'credentials')?.code).toBe('ExpiredTokenException');
  });

  it('a token for another audience -> web_identity_token_invalid', async () => {
    const run = await diagnose(g.irsa(g.webIdentity.issueToken({ audience: 'kubernetes.svc' })));
    expect(summary(run.results)).toMatchObject({
      environment: 'warn:env_token_file_invalid',
      credentials: 'fail:web_identity_token_invalid',
    });
    expect(run.results.get('credentials')?.output).toContain('Incorrect token audience');
  });

  it('the token file missing -> env_token_file_invalid in environment and credentials', async () => {
    const run = await diagnose({
      ...g.irsa(),
      AWS_WEB_IDENTITY_TOKEN_FILE: '/nonexistent/s3h/irsa-token',
    });
    expect(summary(run.results)).toMatchObject({
      environment: 'fail:env_token_file_invalid',
      credentials: 'fail:env_token_file_invalid',
    });
  });

  it("AWS_ROLE_ARN missing: web identity is skipped and the node's role answers", async () => {
    const run = await diagnose({
      AWS_WEB_IDENTITY_TOKEN_FILE: g.writeFile('irsa-token', g.webIdentity.issueToken()),
      S3_HEALTH_EXPECTED_ROLE: PLATFORM.irsaRole,
    });
    expect(summary(run.results)).toMatchObject({
      environment: 'warn:env_web_identity_incomplete',
      imds: 'pass',
      credentials: 'fail:credentials_wrong_role',
    });
    expect(stepOf(run.results.get('credentials'), 'resolve')?.observed.source).toBe('imds');
    expect(failure(run, 'credentials')?.detail?.arn).toContain(
      `assumed-role/${PLATFORM.nodeRole}/`,
    );
  });
});
