import { describe, expect, it } from 'vitest';
import {
  type CheckResult,
  type ClassifiedError,
  STEP_NAMES,
  type StepName,
} from '../../src/model/check.ts';
import { REASONS } from '../../src/model/reasons.ts';
import {
  exitCodeFor,
  renderDiagnoseJson,
  renderDiagnoseText,
  WIDTH,
} from '../../src/report/diagnose.ts';
import { fitsWidth } from '../../src/report/wrap.ts';
import {
  BUCKET,
  CALLER_ARN,
  check,
  config,
  DIAGNOSE_TOKEN,
  failed,
  fullFacts,
  INSTANCE_ID,
  KEY_ARN,
  KEY_ID,
  RECORDED,
  REGION,
  ROLE,
  report,
  S3_OK_STEPS,
  SECRET,
  SESSION_TOKEN,
  step,
} from './fixtures.ts';

const ACCESS_DENIED_DELETE: ClassifiedError = {
  reason: 's3_access_denied',
  code: 'AccessDenied',
  httpStatus: 403,
  message: `User: ${CALLER_ARN} is not authorized to perform: s3:DeleteObject on resource: "arn:aws:s3:::${BUCKET}/healthcheck/f3a9c2e1b7d4/probe-1755684000000-3f9a" because no identity-based policy allows the s3:DeleteObject action`,
  requestId: 'TX7Q2M9K4B1V6N3C',
  extendedRequestId: 'b2Zx0Y9w8V7u6T5s4R3q2P1o0N9m8L7k6J5i4H3g2F1e0D9c8B7a6Z5y4X3w2V1u=',
  time: '2026-08-20T10:00:02.000Z',
};

const imdsOk = () => check('imds', [step('token'), step('identity'), step('role')]);
const credsOk = () => check('credentials', [step('resolve'), step('identity'), step('expiry')]);
const envOk = () => check('environment', [step('credentials-env'), step('region')]);

function s3Failing(stepName: StepName<'s3'>, error: ClassifiedError): CheckResult {
  const names = STEP_NAMES.s3;
  const at = names.indexOf(stepName);
  return check(
    's3',
    names.map((n, i) =>
      i < at
        ? step(n)
        : i === at
          ? failed(n, error)
          : step(n, { status: 'skipped', durationMs: 0 }),
    ),
  );
}

function lines(text: string): string[] {
  return text.replace(/\n$/, '').split('\n');
}

describe('text report', () => {
  it('first line is the verdict with the first failing cause', () => {
    const text = renderDiagnoseText(
      report([envOk(), imdsOk(), credsOk(), s3Failing('delete', ACCESS_DENIED_DELETE)]),
    );
    expect(lines(text)[0]).toBe(`FAIL  s3 delete: s3:DeleteObject denied to role ${ROLE}`);
  });

  it('pass: one verdict line, one line a check, then the facts', () => {
    const text = renderDiagnoseText(
      report([envOk(), imdsOk(), credsOk(), check('s3', S3_OK_STEPS)]),
    );
    const l = lines(text);
    expect(l[0]).toBe('PASS  all 4 checks passed');
    expect(l.filter((x) => x.startsWith('[+]'))).toHaveLength(4);
    expect(l).toContain('[+]s3 ok (50 ms: put 12, head 12, get 12, delete 12)');
    expect(text).toContain(`instance id        ${INSTANCE_ID}`);
    expect(text).not.toContain('cause:');
  });

  it('a failure outranks warnings; chain order; blocked checks only say by what', () => {
    const envWarn = check('environment', [
      step('credentials-env'),
      step('proxy', {
        status: 'warn',
        error: {
          reason: 'env_proxy_without_no_proxy',
          message: 'a proxy is set but NO_PROXY lacks 169.254.169.254',
        },
      }),
    ]);
    const imdsFail = check('imds', [
      failed('token', {
        reason: 'imds_hop_limit_tokens_required',
        message: 'token PUT got no answer within 1001 ms and tokenless GET answers 401',
        detail: { fallbackPenaltyMs: 1001 },
      }),
      step('identity', { status: 'skipped', durationMs: 0 }),
      step('role', { status: 'skipped', durationMs: 0 }),
    ]);
    const blocked = (name: 'credentials' | 's3'): CheckResult => ({
      check: name,
      status: 'fail',
      reason: 'blocked',
      blockedBy: 'imds',
      output: 'blocked: imds failed (imds_hop_limit_tokens_required)',
      steps: [],
      startedAt: '2026-08-20T10:00:00.000Z',
      durationMs: 0,
    });
    // Results arrive out of order: the report sorts by chain.
    const text = renderDiagnoseText(
      report([blocked('s3'), envWarn, blocked('credentials'), imdsFail], {
        facts: { instanceId: INSTANCE_ID, region: REGION, imdsMode: 'unreachable' },
      }),
    );
    const l = lines(text);
    expect(l[0]).toBe('FAIL  imds token: IMDSv2 hop limit 1: containers get no credentials');
    const heads = l.filter((x) => /^\[[-+!]\]/.test(x));
    expect(heads).toEqual([
      '[-]imds failed: imds_hop_limit_tokens_required (42 ms)',
      '[-]credentials failed: blocked by imds',
      '[-]s3 failed: blocked by imds',
      '[!]environment warning: env_proxy_without_no_proxy (25 ms)',
    ]);
    expect(text).toContain('1001 ms');
    expect(text).toContain(`--instance-id ${INSTANCE_ID} --region ${REGION}`);
    expect(text).toContain('  not learned        role, account (fixes show <PLACEHOLDERS> there)');
  });

  it('shows the step, codes, request ids and time of the failing call', () => {
    const text = renderDiagnoseText(
      report([envOk(), imdsOk(), credsOk(), s3Failing('delete', ACCESS_DENIED_DELETE)]),
    );
    expect(text).toContain('step delete failed after 42 ms');
    expect(text).toContain('error              AccessDenied, HTTP 403');
    expect(text).toContain(`x-amz-request-id   ${ACCESS_DENIED_DELETE.requestId}`);
    expect(text).toContain(`x-amz-id-2         ${ACCESS_DENIED_DELETE.extendedRequestId}`);
    expect(text).toContain(`time               ${ACCESS_DENIED_DELETE.time}`);
    expect(text).toContain(
      'steps: put pass 12 ms, head pass 12 ms, get pass 12 ms, delete fail 42',
    );
  });

  it('the fix block is pasteable: its JSON parses and names exactly the missing action', () => {
    const text = renderDiagnoseText(
      report([envOk(), imdsOk(), credsOk(), s3Failing('delete', ACCESS_DENIED_DELETE)]),
    );
    const l = lines(text);
    const start = l.indexOf('      {');
    const end = l.indexOf('      }', start);
    const doc = JSON.parse(l.slice(start, end + 1).join('\n'));
    expect(doc.Statement).toEqual([
      {
        Sid: 'S3HealthDeleteObject',
        Effect: 'Allow',
        Action: ['s3:DeleteObject'],
        Resource: `arn:aws:s3:::${BUCKET}/healthcheck/*`,
      },
    ]);
    // The wrapped command joins back to the one-line command.
    const cmdStart = l.findIndex((x) => x.includes('aws iam put-role-policy'));
    let cmd = '';
    for (let i = cmdStart; ; i++) {
      const part = (l[i] ?? '').trim();
      cmd += part.replace(/ \\$/, ' ');
      if (!part.endsWith('\\')) break;
    }
    expect(cmd).toBe(
      `aws iam put-role-policy --role-name ${ROLE} --policy-name s3-health-DeleteObject --policy-document file://s3-health-DeleteObject.json`,
    );
  });

  it('says when the deadline cut the run short', () => {
    const timedOut = failed('put', {
      reason: 'timeout',
      code: 'TimeoutError',
      message: 'step put did not finish within the 5000 ms deadline',
    });
    const text = renderDiagnoseText(
      report([envOk(), imdsOk(), credsOk(), check('s3', [timedOut])], { timedOut: true }),
    );
    expect(lines(text)[0]).toBe('FAIL  s3 put: s3 put timed out');
    expect(text).toContain('The 10000 ms deadline was reached');
  });

  it('renders recorded real error shapes the local ground cannot produce', () => {
    const cases: [ClassifiedError, string[]][] = [
      [RECORDED.permanentRedirect, ['lives in eu-west-1', 'AWS_REGION=eu-west-1', 'x-amz-id-2']],
      [RECORDED.authorizationHeaderMalformed, ['lives in eu-west-1', 'signed for us-east-1']],
      [RECORDED.requestTimeTooSkewed, ['host clock off by +1020 s', 'chronyc tracking']],
    ];
    for (const [error, expected] of cases) {
      const r = report([envOk(), imdsOk(), credsOk(), s3Failing('put', error)], {
        facts: fullFacts({ clockOffsetSeconds: 1020 }),
        config: config({ AWS_REGION: 'us-east-1', AWS_DEFAULT_REGION: 'us-east-1' }),
      });
      const text = renderDiagnoseText(r);
      const flat = text.replace(/\s+/g, ' ');
      for (const e of expected) expect(flat).toContain(e);
      expect(text).toContain(error.requestId);
      expect(text).toContain(error.extendedRequestId);
      expect(text).toContain(error.code);
    }
  });
});

describe('width rule', () => {
  it('fitsWidth accepts only overflow by one long last token', () => {
    expect(fitsWidth('x'.repeat(80), 80)).toBe(true);
    expect(fitsWidth(`    label  ${'a'.repeat(76)}`, 80)).toBe(true);
    expect(fitsWidth(`        --key-id ${KEY_ARN} \\`, 80)).toBe(true);
    expect(fitsWidth(`${'word '.repeat(16)}short`, 80)).toBe(false);
    expect(fitsWidth(`${'y'.repeat(82)} ${'z'.repeat(40)}`, 80)).toBe(false);
  });

  it('every reason, with long real values, renders within 80 columns by that rule', () => {
    const longFacts = fullFacts({
      roleName: 'kdcube-production-application-instance-role-eu',
      callerArn:
        'arn:aws:sts::123456789012:assumed-role/kdcube-production-application-instance-role-eu/i-0123456789abcdef0',
      kmsKeyId: KEY_ARN,
      clockOffsetSeconds: -930,
    });
    for (const reason of REASONS) {
      const error: ClassifiedError = {
        reason,
        code: 'SomeRatherLongAwsErrorCodeName',
        httpStatus: 403,
        message: `User: ${longFacts.callerArn} is not authorized to perform: kms:Decrypt on resource: ${KEY_ARN}`,
        requestId: 'TX7Q2M9K4B1V6N3C',
        extendedRequestId: ACCESS_DENIED_DELETE.extendedRequestId,
        time: '2026-08-20T10:00:02.000Z',
        detail: { bucketRegion: 'ap-southeast-2' },
      };
      const result =
        reason === 'blocked'
          ? ({
              ...s3Failing('put', error),
              reason: 'blocked',
              blockedBy: 'imds',
              steps: [],
            } as CheckResult)
          : s3Failing('get', error);
      const text = renderDiagnoseText(
        report([envOk(), imdsOk(), credsOk(), result], {
          facts: longFacts,
          config: config({
            S3_HEALTH_SSE: 'aws:kms',
            S3_HEALTH_KMS_KEY_ID: KEY_ARN,
            HTTPS_PROXY: 'http://proxy.corp.example.com:3128',
            NO_PROXY: 'localhost,.corp.example.com',
          }),
        }),
      );
      for (const line of lines(text)) {
        if (!fitsWidth(line, WIDTH)) throw new Error(`${reason}: line too wide:\n${line}`);
      }
    }
  });
});

describe('JSON report', () => {
  it('carries status, reason, steps with request ids, remediation, facts and redacted config', () => {
    const r = report([envOk(), imdsOk(), credsOk(), s3Failing('delete', ACCESS_DENIED_DELETE)], {
      config: config({ S3_HEALTH_DIAGNOSE_TOKEN: DIAGNOSE_TOKEN }),
    });
    const json = JSON.parse(JSON.stringify(renderDiagnoseJson(r)));
    expect(json.status).toBe('fail');
    expect(json.summary).toBe(`FAIL  s3 delete: s3:DeleteObject denied to role ${ROLE}`);
    const s3 = json.checks.find((c: { check: string }) => c.check === 's3');
    expect(s3.reason).toBe('s3_access_denied');
    const del = s3.steps.find((s: { name: string }) => s.name === 'delete');
    expect(del.error).toMatchObject({
      reason: 's3_access_denied',
      code: 'AccessDenied',
      httpStatus: 403,
      requestId: ACCESS_DENIED_DELETE.requestId,
      extendedRequestId: ACCESS_DENIED_DELETE.extendedRequestId,
      time: ACCESS_DENIED_DELETE.time,
    });
    expect(s3.remediation.title).toBe(`s3:DeleteObject denied to role ${ROLE}`);
    expect(s3.remediation.cause).toMatch(/\.$/);
    const doc = JSON.parse(s3.remediation.fix.find((f: string) => f.startsWith('{')));
    expect(doc.Statement[0].Action).toEqual(['s3:DeleteObject']);
    expect(json.checks.map((c: { check: string }) => c.check)).toEqual([
      'environment',
      'imds',
      'credentials',
      's3',
    ]);
    expect(json.facts.instanceId).toBe(INSTANCE_ID);
    expect(json.config.diagnoseToken).toBeUndefined();
    expect(json.config.diagnoseTokenSet).toBe(true);
    expect(json.config.bucket).toBe(BUCKET);
  });

  it('a blocked check carries blockedBy and the blocked remediation', () => {
    const blocked: CheckResult = {
      check: 's3',
      status: 'fail',
      reason: 'blocked',
      blockedBy: 'credentials',
      steps: [],
      startedAt: '2026-08-20T10:00:00.000Z',
      durationMs: 0,
    };
    const json = JSON.parse(JSON.stringify(renderDiagnoseJson(report([envOk(), blocked]))));
    expect(json.checks[1]).toMatchObject({
      check: 's3',
      blockedBy: 'credentials',
      remediation: { title: 'blocked by credentials' },
    });
  });
});

describe('secrets', () => {
  it('no output carries a secret, a session token, an unmasked key id or the diagnose token', () => {
    const cfg = config({
      AWS_ACCESS_KEY_ID: KEY_ID,
      AWS_SECRET_ACCESS_KEY: SECRET,
      AWS_SESSION_TOKEN: SESSION_TOKEN,
      S3_HEALTH_DIAGNOSE_TOKEN: DIAGNOSE_TOKEN,
      HTTPS_PROXY: 'http://alice:proxy-pass-123@proxy:3128',
    });
    // Messages are rendered as raised; a store echoing credentials must still not leak them.
    const leaky: ClassifiedError = {
      reason: 'signature_mismatch',
      code: 'SignatureDoesNotMatch',
      httpStatus: 403,
      message: `The request signature we calculated does not match. AWSAccessKeyId=${KEY_ID} secret=${SECRET} token=${SESSION_TOKEN}`,
      requestId: 'TX7Q2M9K4B1V6N3C',
      extendedRequestId: ACCESS_DENIED_DELETE.extendedRequestId,
      detail: { problem: SECRET },
    };
    const r = report(
      [
        check('environment', [
          step('credentials-env', {
            status: 'warn',
            observed: { accessKeyId: 'AKIA…MPLE', leaked: KEY_ID },
            error: { reason: 'env_static_keys', message: `AWS_ACCESS_KEY_ID (${KEY_ID}) is set` },
          }),
        ]),
        imdsOk(),
        credsOk(),
        s3Failing('put', leaky),
      ],
      { config: cfg, facts: fullFacts({ accessKeyId: KEY_ID, credentialSource: 'env' }) },
    );
    const outputs = [renderDiagnoseText(r), JSON.stringify(renderDiagnoseJson(r))];
    for (const out of outputs) {
      for (const s of [SECRET, SESSION_TOKEN, KEY_ID, DIAGNOSE_TOKEN, 'proxy-pass-123']) {
        expect(out).not.toContain(s);
      }
      // Nothing shaped like a secret access key: 40 base64 characters, mixed case.
      const shaped = out.match(/(?<![A-Za-z0-9/+])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])/g) ?? [];
      expect(shaped.filter((m) => /[a-z]/.test(m) && /[A-Z]/.test(m))).toEqual([]);
      expect(out).toContain('AKIA…MPLE');
    }
  });
});

describe('exit codes', () => {
  it('follow Nagios', () => {
    expect(exitCodeFor('pass')).toBe(0);
    expect(exitCodeFor('warn')).toBe(1);
    expect(exitCodeFor('fail')).toBe(2);
    expect(exitCodeFor('error')).toBe(3);
  });
});
