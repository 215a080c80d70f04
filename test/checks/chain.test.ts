// The four checks through the real SDK against the real ground: IMDS
// emulator (fault modes), STS endpoint, radosgw with real temporary credentials.
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { GROUND_IDENTITY, type Ground, startGround } from '../../ground/ground.ts';
import { denyActions } from '../../ground/radosgw/info.ts';
import { createDeps } from '../../src/checks/create-deps.ts';
import { cycle, failedStep, quiet, summary, useEnv } from '../support/sidecar.ts';

const rgw = inject('rgw');
let ground: Ground;

beforeAll(async () => {
  ground = await startGround(rgw);
});
afterAll(async () => {
  await ground?.close();
});
afterEach(() => {
  ground.imds.setFault('none');
  ground.imds.setTokensRequired(false);
  ground.sts.setFault('none');
});

const base = () => ({ ...ground.env, S3_HEALTH_TIMEOUT_SECONDS: '3' });

describe('healthy ground', () => {
  it('passes every check with facts learned from IMDS and STS', async () => {
    const config = useEnv(base());
    const deps = createDeps(config, quiet);
    const results = await cycle(config, deps);
    expect(summary(results)).toEqual({
      environment: 'pass',
      imds: 'pass',
      credentials: 'pass',
      s3: 'pass',
    });
    const creds = results.get('credentials');
    expect(creds?.steps[0]?.observed.source).toBe('imds');
    expect(creds?.steps[1]?.observed.account).toBe('123456789012');
    expect(results.get('imds')?.steps[1]?.observed.instanceId).toBe('i-0a1b2c3d4e5f67890');
    expect(deps.ownKeys.pending()).toEqual([]);
  });

  it('PUTs one token per cycle and uses it for every metadata GET of that cycle', async () => {
    const config = useEnv({ ...base(), S3_HEALTH_CHECKS: 'imds' });
    const deps = createDeps(config, quiet);
    ground.imds.resetCounters();
    await cycle(config, deps);
    await cycle(config, deps);
    delete process.env.S3_HEALTH_CHECKS;
    const c = ground.imds.counters();
    expect(c.tokenPuts).toBe(2);
    expect(c.tokenlessGets).toBe(0);
  });
});

describe('IMDS faults', () => {
  it('hop limit 1, tokens optional: imds warns, the rest still passes', async () => {
    ground.imds.setFault('token-blackhole');
    const results = await cycle(useEnv(base()));
    expect(summary(results)).toMatchObject({
      imds: 'warn:imds_hop_limit_v1_fallback',
      credentials: 'pass',
      s3: 'pass',
    });
    const penalty = results.get('imds')?.steps[0]?.observed.fallbackPenaltyMs;
    expect(typeof penalty === 'number' && penalty >= 900).toBe(true);
  });

  it('hop limit 1, tokens required: imds fails, credentials and s3 are blocked by it', async () => {
    ground.imds.setFault('token-blackhole');
    ground.imds.setTokensRequired(true);
    const results = await cycle(useEnv(base()));
    expect(summary(results)).toMatchObject({
      imds: 'fail:imds_hop_limit_tokens_required',
      credentials: 'fail:blocked',
      s3: 'fail:blocked',
    });
    expect(results.get('s3')?.blockedBy).toBe('imds');
  });

  it.each([
    ['disabled', 'imds_disabled', 'token'],
    ['no-role', 'imds_no_role', 'identity'],
    ['role-error', 'imds_role_error', 'identity'],
    ['throttled', 'imds_throttled', 'token'],
    ['malformed', 'imds_bad_response', 'role'],
    ['hang', 'imds_timeout', 'token'],
  ] as const)('%s -> %s at step %s', async (fault, reason, step) => {
    ground.imds.setFault(fault);
    // 3 s: a hang costs two 1 s IMDS call deadlines (token PUT, then the
    // tokenless GET), which must end before the check's own deadline does.
    const results = await cycle(useEnv({ ...base(), S3_HEALTH_TIMEOUT_SECONDS: '3' }));
    const imds = results.get('imds');
    expect(imds?.status).toBe('fail');
    expect(imds?.reason).toBe(reason);
    expect(failedStep(imds)).toBe(step);
    expect(summary(results).credentials).toBe('fail:blocked');
  });

  it('credentials about to expire: warn, then fail below the fail threshold', async () => {
    ground.imds.setFault('credentials-expiring', { expiresInSeconds: 600 });
    let results = await cycle(useEnv(base()));
    expect(summary(results).credentials).toBe('warn:credentials_expiring');
    ground.imds.setFault('credentials-expiring', { expiresInSeconds: 120 });
    results = await cycle(useEnv(base()));
    expect(summary(results).credentials).toBe('fail:credentials_expiring');
  });

  it('expired credentials the SDK extended are reported degraded, not fresh', async () => {
    ground.imds.setFault('credentials-expired');
    const results = await cycle(useEnv(base()));
    const c = results.get('credentials');
    expect(c?.reason).toBe('credentials_extended');
    expect(c?.steps[0]?.observed.originalExpiration).not.toBeNull();
  });

  it('AWS_EC2_METADATA_DISABLED=true with the imds check on fails environment and imds', async () => {
    const results = await cycle(useEnv({ ...base(), AWS_EC2_METADATA_DISABLED: 'true' }));
    delete process.env.AWS_EC2_METADATA_DISABLED;
    expect(summary(results)).toMatchObject({
      environment: 'fail:env_imds_disabled',
      imds: 'fail:env_imds_disabled',
      credentials: 'fail:blocked',
    });
  });
});

describe('STS faults', () => {
  it('a hanging STS fails credentials within the deadline and blocks s3', async () => {
    ground.sts.setFault('hang');
    const t0 = Date.now();
    const results = await cycle(useEnv({ ...base(), S3_HEALTH_TIMEOUT_SECONDS: '1' }));
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(summary(results)).toMatchObject({ credentials: 'fail:timeout', s3: 'fail:blocked' });
  });

  it('expected account mismatch fails credentials', async () => {
    const results = await cycle(useEnv({ ...base(), S3_HEALTH_EXPECTED_ACCOUNT: '999999999999' }));
    delete process.env.S3_HEALTH_EXPECTED_ACCOUNT;
    expect(summary(results).credentials).toBe('fail:credentials_wrong_account');
  });

  it('expected role by name matches the assumed-role ARN', async () => {
    const results = await cycle(
      useEnv({ ...base(), S3_HEALTH_EXPECTED_ROLE: 's3-health-demo-role' }),
    );
    delete process.env.S3_HEALTH_EXPECTED_ROLE;
    expect(summary(results).credentials).toBe('pass');
  });
});

describe('S3 faults from the real server', () => {
  it('missing bucket -> s3_no_such_bucket at put', async () => {
    const results = await cycle(useEnv({ ...base(), S3_HEALTH_BUCKET: 'no-such-bucket-s3h' }));
    expect(summary(results).s3).toBe('fail:s3_no_such_bucket');
    expect(results.get('s3')?.steps[0]?.error?.httpStatus).toBe(404);
    expect(results.get('s3')?.steps[0]?.error?.requestId).toBeTruthy();
  });

  it('unknown KMS key id -> kms_key_not_found at put', async () => {
    const results = await cycle(
      useEnv({ ...base(), S3_HEALTH_SSE: 'aws:kms', S3_HEALTH_KMS_KEY_ID: 'no-such-key' }),
    );
    delete process.env.S3_HEALTH_SSE;
    delete process.env.S3_HEALTH_KMS_KEY_ID;
    expect(summary(results).s3).toBe('fail:kms_key_not_found');
  });

  it('a configured KMS key is written and shown on HEAD', async () => {
    const key = rgw.kmsKeys[0] ?? '';
    const results = await cycle(
      useEnv({ ...base(), S3_HEALTH_SSE: 'aws:kms', S3_HEALTH_KMS_KEY_ID: key }),
    );
    delete process.env.S3_HEALTH_SSE;
    delete process.env.S3_HEALTH_KMS_KEY_ID;
    expect(summary(results).s3).toBe('pass');
    expect(results.get('s3')?.steps[1]?.observed.sse).toBe('aws:kms');
  });

  it('wrong secret in static env keys -> STS signature_mismatch, s3 blocked', async () => {
    ground.sts.register(rgw.admin.accessKeyId, {
      account: '123456789012',
      arn: 'arn:aws:iam::123456789012:user/app',
      userId: 'AIDAEXAMPLE',
      secretAccessKey: rgw.admin.secretAccessKey,
    });
    const results = await cycle(
      useEnv({
        ...base(),
        AWS_ACCESS_KEY_ID: rgw.admin.accessKeyId,
        AWS_SECRET_ACCESS_KEY: 'x'.repeat(40),
      }),
    );
    for (const n of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY']) delete process.env[n];
    expect(summary(results)).toMatchObject({
      environment: 'warn:env_static_keys',
      credentials: 'fail:signature_mismatch',
      s3: 'fail:blocked',
    });
    expect(results.get('credentials')?.steps[0]?.observed.source).toBe('env');
  });

  it('radosgw (STS on) answers a wrong secret with AccessDenied, not SignatureDoesNotMatch', async () => {
    // Recorded so the difference from AWS stays visible: the classifier can only
    // name what the store says.
    const results = await cycle(
      useEnv({
        ...base(),
        S3_HEALTH_CHECKS: 's3',
        AWS_ACCESS_KEY_ID: rgw.admin.accessKeyId,
        AWS_SECRET_ACCESS_KEY: 'x'.repeat(40),
        AWS_REGION: 'eu-west-1',
      }),
    );
    for (const n of [
      'S3_HEALTH_CHECKS',
      'AWS_ACCESS_KEY_ID',
      'AWS_SECRET_ACCESS_KEY',
      'AWS_REGION',
    ])
      delete process.env[n];
    expect(results.get('s3')?.steps[0]?.error).toMatchObject({
      code: 'AccessDenied',
      httpStatus: 403,
    });
  });
});

describe('per-action AccessDenied from real role session policies', () => {
  it.each([
    ['s3:PutObject', 'put'],
    ['s3:GetObject', 'head'],
    ['s3:DeleteObject', 'delete'],
  ])('deny %s -> s3_access_denied at %s', async (action, step) => {
    const denied = await startGround(rgw, { sessionPolicy: denyActions([action]) });
    try {
      const config = useEnv({ ...denied.env, S3_HEALTH_TIMEOUT_SECONDS: '3' });
      const deps = createDeps(config, quiet);
      const results = await cycle(config, deps);
      expect(summary(results)).toMatchObject({ imds: 'pass', credentials: 'pass' });
      const s3 = results.get('s3');
      expect(s3?.reason).toBe('s3_access_denied');
      expect(failedStep(s3)).toBe(step);
      expect(s3?.steps.find((s) => s.name === step)?.error?.httpStatus).toBe(403);
      // A denied delete leaves our object pending; nothing else is touched.
      const pending = deps.ownKeys.pending();
      if (step === 'delete') expect(pending).toHaveLength(1);
      else expect(pending).toEqual([]);
      // The imds check named the instance: its id is part of the prefix.
      for (const k of pending)
        expect(k.startsWith(`healthcheck/${GROUND_IDENTITY.instanceId}/test-host/probe-`)).toBe(
          true,
        );
    } finally {
      await denied.close();
    }
  });
});
