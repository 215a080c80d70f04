import { describe, expect, it } from 'vitest';
import type { CheckName, ClassifiedError, Facts } from '../../src/model/check.ts';
import { REASONS, type Reason } from '../../src/model/reasons.ts';
import { roleFromArn } from '../../src/report/arn.ts';
import { type Remediation, remediate } from '../../src/report/remediation.ts';
import { ROWS } from '../../src/report/remediation-table.ts';
import { scrubSecrets } from '../../src/report/scrub.ts';
import { fill, learnVars, type RemediationContext } from '../../src/report/vars.ts';
import {
  ACCOUNT,
  BUCKET,
  CALLER_ARN,
  classified,
  config,
  fullFacts,
  INSTANCE_ID,
  KEY_ARN,
  KEY_ID,
  RECORDED,
  REGION,
  ROLE,
  ROLE_ARN,
  SECRET,
} from './fixtures.ts';

const CHECK_OF: Record<string, CheckName> = { env: 'environment', imds: 'imds', s3: 's3' };

function ctxFor(reason: Reason, over: Partial<RemediationContext> = {}): RemediationContext {
  const prefix = reason.split('_')[0] ?? '';
  return {
    check: CHECK_OF[prefix] ?? (reason.startsWith('kms') ? 's3' : 'credentials'),
    facts: {},
    config: config(),
    ...over,
  };
}

function must(r: Remediation | undefined): Remediation {
  if (r === undefined) throw new Error('no remediation');
  return r;
}

function all(r: Remediation): string {
  return [r.title, r.cause, ...r.fix].join('\n');
}

function jsonBlocks(r: Remediation): unknown[] {
  return r.blocks.filter((b) => b.kind === 'json').map((b) => JSON.parse(b.text));
}

function err(reason: Reason, over: Partial<ClassifiedError> = {}): ClassifiedError {
  return classified({ reason, message: 'Access Denied', ...over });
}

describe('remediation table', () => {
  it('has a row for every reason, and no row for anything else', () => {
    expect(Object.keys(ROWS).sort()).toEqual([...REASONS].sort());
  });

  it.each(REASONS)('%s renders a title, one-sentence cause and a fix, all filled', (reason) => {
    for (const facts of [{}, fullFacts()] as Facts[]) {
      const r = must(remediate(reason, ctxFor(reason, { step: 'put', facts, error: err(reason) })));
      expect(r.reason).toBe(reason);
      expect(r.title.length).toBeGreaterThan(0);
      expect(r.title.length).toBeLessThanOrEqual(60);
      expect(r.cause).toMatch(/[.]$/);
      expect(r.fix.length).toBeGreaterThan(0);
      expect(r.fix).toEqual(r.blocks.map((b) => b.text));
      // Every template name resolves: a `{name}` left in the output is a typo in the table.
      expect(all(r)).not.toMatch(/\{[A-Za-z][A-Za-z0-9]*\}/);
      for (const b of r.blocks.filter((x) => x.kind === 'json'))
        expect(() => JSON.parse(b.text)).not.toThrow();
    }
  });

  it('never fills a value it did not learn: placeholders stay visible', () => {
    for (const reason of REASONS) {
      const r = must(remediate(reason, ctxFor(reason, { step: 'put' })));
      expect(all(r)).not.toContain(INSTANCE_ID);
      expect(all(r)).not.toContain(ROLE);
      expect(all(r)).not.toContain(ACCOUNT);
    }
  });
});

describe('hop limit', () => {
  for (const reason of ['imds_hop_limit_v1_fallback', 'imds_hop_limit_tokens_required'] as const) {
    it(`${reason}: the runbook's command with the real instance id and region`, () => {
      const r = must(remediate(reason, ctxFor(reason, { step: 'token', facts: fullFacts() })));
      const cmd = r.blocks.find((b) =>
        b.text.startsWith('aws ec2 modify-instance-metadata-options'),
      );
      expect(cmd?.kind).toBe('shell');
      expect(cmd?.text).toBe(
        `aws ec2 modify-instance-metadata-options --instance-id ${INSTANCE_ID} --region ${REGION} --http-tokens required --http-put-response-hop-limit 2`,
      );
      const text = all(r);
      expect(text).toContain(
        `aws ec2 describe-instances --instance-ids ${INSTANCE_ID} --region ${REGION} --query 'Reservations[0].Instances[0].MetadataOptions'`,
      );
      expect(text).toContain('Modify instance metadata options');
      expect(text).toContain('Hop limit: 2');
      expect(text).toMatch(/every container on this host/);
      expect(text).not.toContain('<INSTANCE_ID>');
    });

    it(`${reason}: the instance id stays a placeholder when IMDS never told it; the region falls back to AWS_REGION`, () => {
      const r = must(remediate(reason, ctxFor(reason, { step: 'token' })));
      expect(all(r)).toContain(
        `aws ec2 modify-instance-metadata-options --instance-id <INSTANCE_ID> --region ${REGION}`,
      );
    });
  }

  it('names the measured fallback penalty from the step (warning) or the error (failure)', () => {
    const warn = must(
      remediate('imds_hop_limit_v1_fallback', {
        ...ctxFor('imds_hop_limit_v1_fallback'),
        observed: { fallbackPenaltyMs: 1003, tokenPut: 'timeout' },
      }),
    );
    expect(warn.cause).toContain('1003 ms');
    const fail = must(
      remediate('imds_hop_limit_tokens_required', {
        ...ctxFor('imds_hop_limit_tokens_required'),
        error: err('imds_hop_limit_tokens_required', { detail: { fallbackPenaltyMs: 998 } }),
      }),
    );
    expect(fail.cause).toContain('998 ms');
    const none = must(
      remediate('imds_hop_limit_v1_fallback', ctxFor('imds_hop_limit_v1_fallback')),
    );
    expect(none.cause).not.toMatch(/\d+ ms/);
  });

  it('the role is not guessed from config when IMDS is silent', () => {
    const r = must(
      remediate('imds_no_role', ctxFor('imds_no_role', { facts: { instanceId: INSTANCE_ID } })),
    );
    expect(all(r)).toContain(`--instance-id ${INSTANCE_ID}`);
    // The operator picks the profile from the printed list: a shell variable, not a guess.
    expect(all(r)).toContain(
      "aws iam list-instance-profiles --query 'InstanceProfiles[].[InstanceProfileName,Roles[0].RoleName]' --output text",
    );
    expect(all(r)).toContain('--iam-instance-profile Name="$PROFILE"');
    expect(all(r)).not.toContain('<INSTANCE_PROFILE_NAME>');
    // AWS_REGION from the config stands in for the region IMDS did not give.
    expect(all(r)).toContain(`--region ${REGION}`);
  });

  it('with S3_HEALTH_EXPECTED_ROLE, the profile is looked up from that role', () => {
    const r = must(
      remediate('imds_no_role', {
        ...ctxFor('imds_no_role', { facts: { instanceId: INSTANCE_ID } }),
        config: config({ S3_HEALTH_EXPECTED_ROLE: ROLE_ARN }),
      }),
    );
    expect(r.fix).toContain(
      `PROFILE=$(aws iam list-instance-profiles-for-role --role-name ${ROLE} --query 'InstanceProfiles[0].InstanceProfileName' --output text)\necho "PROFILE=$PROFILE"`,
    );
  });
});

describe('S3 AccessDenied per step', () => {
  const cases = [
    ['put', 's3:PutObject'],
    ['head', 's3:GetObject'],
    ['get', 's3:GetObject'],
    ['delete', 's3:DeleteObject'],
  ] as const;
  for (const [stepName, action] of cases) {
    it(`${stepName} -> exactly ${action} on this bucket and prefix, attached to the role`, () => {
      const r = must(
        remediate('s3_access_denied', {
          check: 's3',
          step: stepName,
          error: err('s3_access_denied', { code: 'AccessDenied', httpStatus: 403 }),
          facts: fullFacts(),
          config: config(),
        }),
      );
      const docs = jsonBlocks(r);
      expect(docs).toHaveLength(1);
      expect(docs[0]).toEqual({
        Version: '2012-10-17',
        Statement: [
          {
            Sid: `S3Health${action.slice(3)}`,
            Effect: 'Allow',
            Action: [action],
            Resource: `arn:aws:s3:::${BUCKET}/healthcheck/*`,
          },
        ],
      });
      const name = action.slice(3);
      expect(r.fix).toContain(
        `aws iam put-role-policy --role-name ${ROLE} --policy-name s3-health-${name} --policy-document file://s3-health-${name}.json`,
      );
      expect(r.title).toBe(`${action} denied to role ${ROLE}`);
    });
  }

  it('s3:ListBucket is granted on the bucket ARN, narrowed to the prefix, never on bucket/prefix*', () => {
    const r = must(
      remediate('s3_access_denied', {
        check: 's3',
        step: 'head',
        error: err('s3_access_denied', {
          message: `User: ${CALLER_ARN} is not authorized to perform: s3:ListBucket on resource: "arn:aws:s3:::${BUCKET}"`,
        }),
        facts: fullFacts(),
        config: config(),
      }),
    );
    expect(jsonBlocks(r)[0]).toEqual({
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'S3HealthListBucket',
          Effect: 'Allow',
          Action: ['s3:ListBucket'],
          Resource: `arn:aws:s3:::${BUCKET}`,
          Condition: { StringLike: { 's3:prefix': ['healthcheck/*'] } },
        },
      ],
    });
    expect(r.cause).toContain(`on arn:aws:s3:::${BUCKET}:`);
  });

  it('a role learned only from STS is derived from the assumed-role ARN', () => {
    const r = must(
      remediate('s3_access_denied', {
        check: 's3',
        step: 'delete',
        facts: { callerArn: CALLER_ARN, bucket: BUCKET },
        config: config(),
      }),
    );
    expect(all(r)).toContain(`--role-name ${ROLE} `);
  });

  it('an unknown role stays <ROLE_NAME>', () => {
    const r = must(
      remediate('s3_access_denied', { check: 's3', step: 'put', facts: {}, config: config() }),
    );
    expect(all(r)).toContain('--role-name <ROLE_NAME>');
    const doc = jsonBlocks(r)[0] as { Statement: { Resource: string }[] };
    expect(doc.Statement[0]?.Resource).toBe(`arn:aws:s3:::${BUCKET}/healthcheck/*`);
  });

  it('the action named by AWS wins over the step mapping, and an explicit deny is called out', () => {
    const r = must(
      remediate('s3_access_denied', {
        check: 's3',
        step: 'put',
        error: err('s3_access_denied', {
          message: `User: ${CALLER_ARN} is not authorized to perform: s3:PutObjectTagging on resource: "arn:aws:s3:::${BUCKET}/healthcheck/x" with an explicit deny in a resource-based policy`,
        }),
        facts: fullFacts(),
        config: config(),
      }),
    );
    expect(
      (jsonBlocks(r)[0] as { Statement: { Action: string[] }[] }).Statement[0]?.Action,
    ).toEqual(['s3:PutObjectTagging']);
    expect(r.fix[0]).toContain('explicit deny in a resource-based policy');
  });
});

describe('KMS', () => {
  const message = `User: ${CALLER_ARN} is not authorized to perform: kms:GenerateDataKey on resource: ${KEY_ARN} because no identity-based policy allows the kms:GenerateDataKey action`;

  it('denial -> IAM statement on the key and key-policy statement naming the role ARN', () => {
    const r = must(
      remediate('kms_access_denied', {
        check: 's3',
        step: 'put',
        error: err('kms_access_denied', { message, detail: { kmsAction: 'kms:GenerateDataKey' } }),
        facts: fullFacts(),
        config: config({ S3_HEALTH_SSE: 'aws:kms' }),
      }),
    );
    const [iam, keyPolicy] = jsonBlocks(r) as [
      { Statement: { Action: string[]; Resource: string }[] },
      { Principal: { AWS: string }; Action: string[]; Resource: string },
    ];
    expect(iam.Statement[0]?.Resource).toBe(KEY_ARN);
    expect(iam.Statement[0]?.Action).toContain('kms:GenerateDataKey');
    expect(keyPolicy.Principal.AWS).toBe(ROLE_ARN);
    expect(keyPolicy.Action).toContain('kms:GenerateDataKey');
    expect(keyPolicy.Resource).toBe('*');
    expect(r.fix).toContain(
      `aws iam put-role-policy --role-name ${ROLE} --policy-name s3-health-kms --policy-document file://s3-health-kms.json`,
    );
    expect(r.title).toBe('kms:GenerateDataKey denied on the KMS key');
  });

  it('the key policy is saved as the policy document itself (--query Policy), then put back', () => {
    const r = must(
      remediate('kms_access_denied', {
        check: 's3',
        step: 'put',
        facts: fullFacts({ kmsKeyId: KEY_ARN }),
        config: config(),
      }),
    );
    expect(r.fix).toContain(
      `aws kms get-key-policy --key-id ${KEY_ARN} --region ${REGION} --policy-name default --query Policy --output text > key-policy.json`,
    );
  });

  it('a decrypt denial on get names kms:Decrypt', () => {
    const r = must(
      remediate('kms_access_denied', {
        check: 's3',
        step: 'get',
        error: err('kms_access_denied', {
          message:
            'The ciphertext refers to a customer master key that does not exist, or kms:Decrypt denied',
        }),
        facts: fullFacts(),
        config: config(),
      }),
    );
    expect(r.cause).toContain('kms:Decrypt');
  });

  it('a bare key id is completed to an ARN in the caller account; unknowns stay placeholders', () => {
    const keyId = '1234abcd-12ab-34cd-56ef-1234567890ab';
    const known = learnVars({
      check: 's3',
      facts: fullFacts(),
      config: config({ S3_HEALTH_SSE: 'aws:kms', S3_HEALTH_KMS_KEY_ID: keyId }),
    });
    expect(known.kmsKeyArn).toBe(KEY_ARN);
    const unknown = learnVars({
      check: 's3',
      facts: {},
      config: config({ S3_HEALTH_SSE: 'aws:kms', S3_HEALTH_KMS_KEY_ID: 'alias/app' }),
    });
    expect(unknown.kmsKeyArn).toBe(`arn:aws:kms:${REGION}:<ACCOUNT_ID>:key/<KEY_ID>`);
    expect(unknown.roleArn).toBe('arn:aws:iam::<ACCOUNT_ID>:role/<ROLE_NAME>');
  });

  it('disabled, pending deletion and not found each point at the key', () => {
    const c = { check: 's3' as const, facts: fullFacts({ kmsKeyId: KEY_ARN }), config: config() };
    expect(must(remediate('kms_key_disabled', c)).fix).toContain(
      `aws kms enable-key --key-id ${KEY_ARN} --region ${REGION}`,
    );
    const pending = must(remediate('kms_key_pending_deletion', c));
    expect(pending.fix).toContain(
      `aws kms cancel-key-deletion --key-id ${KEY_ARN} --region ${REGION}`,
    );
    expect(must(remediate('kms_key_not_found', c)).fix).toContain(
      `aws kms describe-key --key-id ${KEY_ARN} --region ${REGION}`,
    );
  });
});

describe('region, clock and credentials', () => {
  it('PermanentRedirect: the bucket region from x-amz-bucket-region', () => {
    const r = must(
      remediate('s3_wrong_region', {
        check: 's3',
        step: 'put',
        error: RECORDED.permanentRedirect,
        facts: fullFacts({ region: 'us-east-1' }),
        config: config({ AWS_REGION: 'us-east-1', AWS_DEFAULT_REGION: 'us-east-1' }),
      }),
    );
    expect(r.cause).toBe(
      `Bucket ${BUCKET} lives in eu-west-1, but the requests were signed for us-east-1.`,
    );
    expect(r.fix).toContain('AWS_REGION=eu-west-1\nAWS_DEFAULT_REGION=eu-west-1');
  });

  it('AuthorizationHeaderMalformed: both regions parsed from the message', () => {
    const r = must(
      remediate('s3_wrong_region', {
        check: 's3',
        step: 'put',
        error: RECORDED.authorizationHeaderMalformed,
        facts: {},
        config: config({ AWS_REGION: 'ap-south-1', AWS_DEFAULT_REGION: 'ap-south-1' }),
      }),
    );
    expect(r.cause).toContain('lives in eu-west-1');
    expect(r.cause).toContain('signed for us-east-1');
  });

  it('clock skew names the measured offset', () => {
    const r = must(
      remediate('clock_skew', {
        check: 's3',
        step: 'put',
        error: RECORDED.requestTimeTooSkewed,
        facts: fullFacts({ clockOffsetSeconds: 1020.4 }),
        config: config(),
      }),
    );
    expect(r.title).toBe('host clock off by +1020 s');
    expect(all(r)).toContain('169.254.169.123');
    expect(all(r)).toContain('chronyc tracking');
  });

  it('static keys: the masked key id and the role they shadow', () => {
    const r = must(
      remediate('env_static_keys', {
        check: 'environment',
        facts: fullFacts(),
        config: config({ AWS_ACCESS_KEY_ID: KEY_ID, AWS_SECRET_ACCESS_KEY: SECRET }),
      }),
    );
    expect(r.cause).toContain('AKIA…MPLE');
    expect(r.cause).toContain(ROLE);
    expect(all(r)).not.toContain(KEY_ID);
    expect(all(r)).not.toContain(SECRET);
  });

  it('extended credentials cite the original expiry', () => {
    const r = must(
      remediate('credentials_extended', {
        check: 'credentials',
        step: 'expiry',
        observed: { originalExpiration: '2026-08-20T09:00:00.000Z' },
        facts: fullFacts(),
        config: config(),
      }),
    );
    expect(r.cause).toContain('2026-08-20T09:00:00.000Z');
  });

  it('extended credentials cite the original expiry the identity step recorded', () => {
    const r = must(
      remediate('credentials_extended', {
        check: 'credentials',
        step: 'identity',
        error: err('credentials_extended', {
          detail: { originalExpiration: '2026-08-20T08:00:00.000Z' },
        }),
        facts: fullFacts(),
        config: config(),
      }),
    );
    expect(r.cause).toContain('they expired at 2026-08-20T08:00:00.000Z');
  });
});

describe('environment and network', () => {
  it('proxy without NO_PROXY: which clients, and a NO_PROXY that keeps the existing entries', () => {
    const r = must(
      remediate('env_proxy_without_no_proxy', {
        check: 'environment',
        facts: {},
        config: config({ HTTPS_PROXY: 'http://proxy:3128', NO_PROXY: 'localhost,.internal' }),
      }),
    );
    const text = all(r);
    expect(text).toMatch(/botocore/);
    expect(text).toMatch(/curl/);
    expect(text).toMatch(/never its own metadata calls/);
    // On EC2 with compose nothing uses ECS's 169.254.170.2: it is not asked for.
    expect(r.fix).toContain(
      'NO_PROXY=localhost,.internal,169.254.169.254,127.0.0.1\nno_proxy=localhost,.internal,169.254.169.254,127.0.0.1',
    );
  });

  it('proxy without NO_PROXY on EKS Pod Identity: the fix adds 169.254.170.23, as the warning names it', () => {
    const cfg = config({
      HTTPS_PROXY: 'http://proxy:3128',
      NO_PROXY: '169.254.169.254,169.254.170.2',
      AWS_CONTAINER_CREDENTIALS_FULL_URI: 'http://169.254.170.23/v1/credentials',
      AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE:
        '/var/run/secrets/pods.eks.amazonaws.com/serviceaccount/eks-pod-identity-token',
    });
    const r = must(
      remediate('env_proxy_without_no_proxy', { check: 'environment', facts: {}, config: cfg }),
    );
    expect(r.cause).toContain('NO_PROXY lacks 169.254.170.23,');
    expect(all(r)).toContain(
      'NO_PROXY=169.254.169.254,169.254.170.2,169.254.170.23,localhost,127.0.0.1\n',
    );
  });

  it('AWS_EC2_METADATA_DISABLED=true -> the runbook value', () => {
    const r = must(
      remediate('env_imds_disabled', {
        check: 'environment',
        facts: {},
        config: config({ AWS_EC2_METADATA_DISABLED: 'true' }),
      }),
    );
    expect(r.cause).toContain('AWS_EC2_METADATA_DISABLED=true');
    expect(r.fix).toContain('AWS_EC2_METADATA_DISABLED=false');
  });

  it('DNS and connect errors name the host from the Node message', () => {
    const dns = must(
      remediate('dns_failure', {
        check: 's3',
        step: 'put',
        error: err('dns_failure', {
          code: 'ENOTFOUND',
          message: `getaddrinfo ENOTFOUND ${BUCKET}.s3.eu-west-9.amazonaws.com`,
        }),
        facts: {},
        config: config(),
      }),
    );
    expect(dns.title).toBe(`DNS cannot resolve ${BUCKET}.s3.eu-west-9.amazonaws.com`);
    const refused = must(
      remediate('connection_refused', {
        check: 's3',
        step: 'put',
        error: err('connection_refused', {
          code: 'ECONNREFUSED',
          message: 'connect ECONNREFUSED 127.0.0.1:7480',
        }),
        facts: {},
        config: config(),
      }),
    );
    expect(refused.title).toBe('connection to 127.0.0.1:7480 refused');
  });

  it('TLS trust: ca-certificates and NODE_EXTRA_CA_CERTS', () => {
    const r = must(remediate('tls_untrusted', ctxFor('tls_untrusted')));
    expect(all(r)).toContain('ca-certificates');
    expect(all(r)).toContain('NODE_EXTRA_CA_CERTS=');
  });

  it('checksum trouble with S3-compatible stores -> WHEN_REQUIRED', () => {
    const r = must(
      remediate('s3_checksum_unsupported', {
        check: 's3',
        step: 'put',
        error: err('s3_checksum_unsupported', { code: 'NotImplemented', httpStatus: 501 }),
        facts: {},
        config: config({ AWS_ENDPOINT_URL_S3: 'https://r2.example.com' }),
      }),
    );
    expect(r.cause).toContain('https://r2.example.com');
    expect(all(r)).toContain('AWS_REQUEST_CHECKSUM_CALCULATION=when_required');
  });

  it('blocked says which check blocked it', () => {
    const r = must(
      remediate('blocked', { check: 's3', blockedBy: 'imds', facts: {}, config: config() }),
    );
    expect(r.title).toBe('blocked by imds');
    expect(r.cause).toContain('imds failed first');
  });
});

describe('helpers', () => {
  it('roleFromArn: assumed role, IAM role with a path, other partitions, nonsense', () => {
    expect(roleFromArn(CALLER_ARN)).toEqual({
      partition: 'aws',
      accountId: ACCOUNT,
      roleName: ROLE,
      roleArn: ROLE_ARN,
    });
    expect(roleFromArn(`arn:aws:iam::${ACCOUNT}:role/team/app`)).toEqual({
      partition: 'aws',
      accountId: ACCOUNT,
      roleName: 'app',
      roleArn: `arn:aws:iam::${ACCOUNT}:role/team/app`,
    });
    expect(roleFromArn(`arn:aws-cn:sts::${ACCOUNT}:assumed-role/r/s`)?.roleArn).toBe(
      `arn:aws-cn:iam::${ACCOUNT}:role/r`,
    );
    expect(roleFromArn(`arn:aws:iam::${ACCOUNT}:user/alice`)).toBeUndefined();
    expect(roleFromArn('nonsense')).toBeUndefined();
  });

  it('fill leaves unknown names and never re-scans a filled value', () => {
    const vars = learnVars({ check: 's3', facts: { roleName: '{bucket}' }, config: config() });
    expect(fill('{roleName} {nope} %{http_code}', vars)).toBe('{bucket} {nope} %{http_code}');
  });

  it('scrubSecrets masks key ids and redacts secret-shaped strings, keeps request ids', () => {
    const id2 = RECORDED.permanentRedirect.extendedRequestId;
    const out = scrubSecrets(`key ${KEY_ID} secret ${SECRET} id2 ${id2} arn ${KEY_ARN}`);
    expect(out).toBe(`key AKIA…MPLE secret [redacted] id2 ${id2} arn ${KEY_ARN}`);
  });
});
