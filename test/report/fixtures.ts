import { namedInMessage } from '../../src/aws/errors.ts';
import { parseConfig } from '../../src/config/parse.ts';
import type {
  CheckResult,
  ClassifiedError,
  Facts,
  StepName,
  StepResult,
} from '../../src/model/check.ts';
import type { Config } from '../../src/model/config.ts';
import type { DiagnoseReport } from '../../src/model/diagnose.ts';

export const INSTANCE_ID = 'i-0123456789abcdef0';
export const REGION = 'eu-west-1';
export const ROLE = 'kdcube-app-role';
export const ACCOUNT = '123456789012';
export const BUCKET = 'acme-kb-prod';
export const HOSTNAME = 'f3a9c2e1b7d4';
export const CALLER_ARN = `arn:aws:sts::${ACCOUNT}:assumed-role/${ROLE}/${INSTANCE_ID}`;
export const ROLE_ARN = `arn:aws:iam::${ACCOUNT}:role/${ROLE}`;
export const KEY_ARN = `arn:aws:kms:${REGION}:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;

// AWS's documented example credentials: shaped like real ones, valid nowhere.
export const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
export const KEY_ID = 'AKIAIOSFODNN7EXAMPLE';
export const SESSION_TOKEN = `IQoJb3JpZ2luX2VjEXAMPLE${'A1b2C3d4'.repeat(40)}`;
export const DIAGNOSE_TOKEN = 'diag-token-0123456789abcdef';

export function config(env: Record<string, string> = {}): Config {
  const parsed = parseConfig(
    {
      KB_STORAGE_URI: `s3://${BUCKET}/kb/`,
      AWS_REGION: REGION,
      AWS_DEFAULT_REGION: REGION,
      ...env,
    },
    HOSTNAME,
  );
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  return parsed.config;
}

/** Everything a healthy run on EC2 learns. */
export function fullFacts(extra: Partial<Facts> = {}): Facts {
  return {
    instanceId: INSTANCE_ID,
    region: REGION,
    availabilityZone: `${REGION}a`,
    roleName: ROLE,
    instanceProfileArn: `arn:aws:iam::${ACCOUNT}:instance-profile/${ROLE}`,
    accountId: ACCOUNT,
    callerArn: CALLER_ARN,
    credentialSource: 'imds',
    accessKeyId: 'ASIA…WXYZ',
    credentialsExpiration: '2026-08-20T16:00:00.000Z',
    bucket: BUCKET,
    prefix: `healthcheck/${HOSTNAME}/`,
    imdsMode: 'v2',
    ...extra,
  };
}

export function step(name: StepName, over: Partial<StepResult> = {}): StepResult {
  return { name, status: 'pass', durationMs: 12.4, observed: {}, ...over };
}

export function failed(name: StepName, error: ClassifiedError, over: Partial<StepResult> = {}) {
  return step(name, { status: 'fail', error, durationMs: 41.7, ...over });
}

export function check(
  name: CheckResult['check'],
  steps: StepResult[],
  over: Partial<CheckResult> = {},
): CheckResult {
  const bad = steps.find((s) => s.status === 'fail') ?? steps.find((s) => s.status === 'warn');
  return {
    check: name,
    status: bad?.status === 'fail' ? 'fail' : bad?.status === 'warn' ? 'warn' : 'pass',
    ...(bad?.error ? { reason: bad.error.reason, output: bad.error.message } : {}),
    steps,
    startedAt: '2026-08-20T10:00:00.000Z',
    durationMs: steps.reduce((a, s) => a + s.durationMs, 0),
    ...over,
  };
}

export const S3_OK_STEPS = (['put', 'head', 'get', 'delete'] as const).map((n) => step(n));

export function report(results: CheckResult[], over: Partial<DiagnoseReport> = {}): DiagnoseReport {
  const worst = results.some((r) => r.status === 'fail')
    ? 'fail'
    : results.some((r) => r.status === 'warn')
      ? 'warn'
      : 'pass';
  return {
    status: worst,
    version: '0.1.0',
    serviceId: HOSTNAME,
    startedAt: '2026-08-20T10:00:00.000Z',
    durationMs: 812.3,
    deadlineMs: 10000,
    timedOut: false,
    results,
    facts: fullFacts(),
    config: config(),
    ...over,
  };
}

/** An error as `classify` hands it over: what its message names is already read. */
export function classified(e: ClassifiedError): ClassifiedError {
  const named = namedInMessage(e.message);
  return Object.keys(named).length > 0 ? { ...e, named } : e;
}

/** Real S3 error shapes, recorded from AWS responses (the local ground cannot produce them). */
const RECORDED_RAW = {
  permanentRedirect: {
    reason: 's3_wrong_region',
    code: 'PermanentRedirect',
    httpStatus: 301,
    message:
      'The bucket you are attempting to access must be addressed using the specified endpoint. Please send all future requests to this endpoint.',
    requestId: 'W3B5Q9QX7V2K1M8N',
    extendedRequestId:
      'Zc6wZ0B2d3vY1uT8x9kM4pQ7rS2tU5vW8xY1zA4bC7dE0fG3hI6jK9lM2nO5pQ8rS1tU4vW7xY0zA3b=',
    time: '2026-08-20T10:00:00.000Z',
    detail: { bucketRegion: 'eu-west-1' },
  },
  authorizationHeaderMalformed: {
    reason: 's3_wrong_region',
    code: 'AuthorizationHeaderMalformed',
    httpStatus: 400,
    message:
      "The authorization header is malformed; the region 'us-east-1' is wrong; expecting 'eu-west-1'",
    requestId: '5N8Q2W7E4R1T9Y6U',
    extendedRequestId: 'hQ3v8GzR9mN2kL5pX7wY1tB4cD6fH8jK0lM3nP5qS7uV9xZ1aC3eG5iK7mO9qS1u=',
    time: '2026-08-20T10:00:01.000Z',
  },
  requestTimeTooSkewed: {
    reason: 'clock_skew',
    code: 'RequestTimeTooSkewed',
    httpStatus: 403,
    message: 'The difference between the request time and the current time is too large.',
    requestId: '8K2M4P6R8T0V2X4Z',
    extendedRequestId: 'pL9kJ8hG7fD6sA5qW4eR3tY2uI1oP0aZ9xC8vB7nM6lK5jH4gF3dS2aQ1wE0rT9y=',
    time: '2026-08-20T10:17:00.000Z',
  },
} satisfies Record<string, ClassifiedError>;

export const RECORDED = Object.fromEntries(
  Object.entries(RECORDED_RAW).map(([k, e]) => [k, classified(e)]),
) as Record<keyof typeof RECORDED_RAW, ClassifiedError>;
