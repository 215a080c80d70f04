import type { Reason } from '../model/reasons.ts';
import { roleFromArn } from './arn.ts';
import { type BlockTemplate, code, json, type Row, sh, t } from './remediation-blocks.ts';
import {
  conflictCause,
  EKS_HOP_LIMIT_NOTE,
  PLATFORM_ROWS,
  PLATFORM_SOURCES_HINT,
  tokenFileCause,
  tokenFileFix,
} from './remediation-platform.ts';
import { isBucketLevel, takesPrefixCondition } from './s3-actions.ts';
import type { RemediationContext, Vars } from './vars.ts';

// ---- shared fix fragments -------------------------------------------------

const HOP_LIMIT_FIX: readonly BlockTemplate[] = [
  t(
    'Set the hop limit to 2. Console: EC2 → Instances → select {instanceId} → Actions → Instance settings → Modify instance metadata options; Metadata accessible: Enabled, Metadata version: V2 (required), Hop limit: 2 → Save. Or with the CLI (needs ec2:ModifyInstanceMetadataOptions; on UnauthorizedOperation use the console or ask DevOps):',
  ),
  sh(
    'aws ec2 modify-instance-metadata-options --instance-id {instanceId} --region {region} --http-tokens required --http-put-response-hop-limit 2',
  ),
  t('Verify; expect "HttpTokens": "required" and "HttpPutResponseHopLimit": 2:'),
  sh(
    "aws ec2 describe-instances --instance-ids {instanceId} --region {region} --query 'Reservations[0].Instances[0].MetadataOptions'",
  ),
  t(
    "Trade-off: with hop limit 2 every container on this host can get the instance role's credentials, not only those that need S3; keep 1 on hosts where containers must not have the role. Set it in the launch template too, so replacement instances keep it.",
  ),
  EKS_HOP_LIMIT_NOTE,
];

const IMDS_FROM_CONTAINER: readonly BlockTemplate[] = [
  t("Prove metadata is reachable from a container on this host (the seed's check):"),
  sh(
    [
      "docker run --rm curlimages/curl:8.10.1 sh -c '",
      '  T=$(curl -sS -m 2 -X PUT {imdsEndpoint}/latest/api/token \\',
      '    -H "X-aws-ec2-metadata-token-ttl-seconds: 60")',
      '  curl -sS -m 2 -H "X-aws-ec2-metadata-token: $T" \\',
      "    {imdsEndpoint}/latest/meta-data/iam/info'",
    ].join('\n'),
  ),
];

const MODIFY_ENDPOINT_ENABLED = sh(
  'aws ec2 modify-instance-metadata-options --instance-id {instanceId} --region {region} --http-endpoint enabled --http-tokens required --http-put-response-hop-limit 2',
);

const DESCRIBE_METADATA_OPTIONS = sh(
  "aws ec2 describe-instances --instance-ids {instanceId} --region {region} --query 'Reservations[0].Instances[0].MetadataOptions'",
);

const RECREATE = [
  t('Then recreate the containers so they start with the new environment:'),
  sh('docker compose up -d --force-recreate'),
];

const CHECK_IMDS_FIRST = t(
  'On EC2 the role credentials come from IMDS: when the imds check fails, fix that first (its report has the commands); this one follows.',
);

const CALLER_IDENTITY = [
  t('See which identity a container with the same environment gets:'),
  sh('docker run --rm --env-file .env.backend amazon/aws-cli sts get-caller-identity'),
];

// A throwaway busybox in the sidecar's own network namespace sees its routes and resolver.
const IN_SIDECAR_NETNS =
  'docker run --rm --network container:$(docker compose ps -q s3-health) busybox';

const KEY_POLICY_EDIT = [
  sh(
    'aws kms get-key-policy --key-id {kmsKeyArn} --region {kmsRegion} --policy-name default --query Policy --output text > key-policy.json',
  ),
  t('Add the statement above to its "Statement" list, then:'),
  sh(
    'aws kms put-key-policy --key-id {kmsKeyArn} --region {kmsRegion} --policy-name default --policy file://key-policy.json',
  ),
];

const SUPPORT_IDS = t(
  'If it persists, open an AWS support case with the request ids and times shown above.',
);

const IMDS_TIMEOUT_FIX: readonly BlockTemplate[] = [
  t(
    'IMDS, DNS and NTP share one link-local budget of 1024 packets per second per network interface; drops show up as timeouts. Look for drops on the host:',
  ),
  sh('ethtool -S eth0 | grep linklocal_allowance_exceeded'),
  t('Look for firewall rules touching the metadata address:'),
  sh('sudo iptables -S | grep 169.254.169.254; sudo iptables -t nat -S | grep 169.254'),
  ...IMDS_FROM_CONTAINER,
];

function timeoutFix(v: Vars, ctx: RemediationContext): readonly BlockTemplate[] {
  if (ctx.check === 'imds') return IMDS_TIMEOUT_FIX;
  return [
    t(
      'From a container on this host, time a request to {host} (any HTTP status means the path works):',
    ),
    sh(
      'docker run --rm curlimages/curl:8.10.1 -sS -o /dev/null -m 10 -w "%{http_code} %{time_total}s\\n" {target}',
    ),
    t(
      "Without a NAT gateway or internet route the VPC needs an S3 gateway endpoint in the subnet's route table; security groups and NACLs must allow 443 out:",
    ),
    sh(
      'aws ec2 describe-vpc-endpoints --region {s3Region} --filters Name=service-name,Values=com.amazonaws.{s3Region}.s3',
    ),
    ...(v.target.includes('amazonaws.com')
      ? []
      : [
          t(
            '{target} is an endpoint override (AWS_ENDPOINT_URL*): check that it is up and reachable.',
          ),
        ]),
  ];
}

/** Bucket-level actions act on the bucket ARN; object actions on the probe prefix. */
function s3Resource(v: Vars): string {
  return isBucketLevel(v.s3Action)
    ? 'arn:{partition}:s3:::{bucket}'
    : 'arn:{partition}:s3:::{bucket}/{prefix}*';
}

/**
 * Sets PROFILE for the association commands: the instance profile holding
 * S3_HEALTH_EXPECTED_ROLE when one is configured; else the operator picks it
 * from the listing (the sidecar cannot know which role the instance should have).
 */
function findProfile(ctx: RemediationContext): BlockTemplate[] {
  const expected = ctx.config.expectedRole;
  const role = expected === undefined ? undefined : (roleFromArn(expected)?.roleName ?? expected);
  if (role !== undefined) {
    return [
      t(`The instance profile holding role ${role} (S3_HEALTH_EXPECTED_ROLE):`),
      sh(
        `PROFILE=$(aws iam list-instance-profiles-for-role --role-name ${role} --query 'InstanceProfiles[0].InstanceProfileName' --output text)\necho "PROFILE=$PROFILE"`,
      ),
    ];
  }
  return [
    t(
      "Instance profiles and their roles; set PROFILE to the one holding the application's role (PROFILE=its-name):",
    ),
    sh(
      "aws iam list-instance-profiles --query 'InstanceProfiles[].[InstanceProfileName,Roles[0].RoleName]' --output text",
    ),
  ];
}

// ---- proxies ------------------------------------------------------------------

/** From the host, through the same proxy: what the proxy answers for the AWS host. */
const PROXY_PROBE: readonly BlockTemplate[] = [
  t(
    "Ask the proxy yourself from the host, with the proxy URL from the app's .env.backend (its credentials stay in the variable):",
  ),
  sh(
    'set -a; . ./.env.backend; set +a\ncurl -sS -m 10 -x "$HTTPS_PROXY" -o /dev/null -w \'%{http_code} in %{time_total} s\\n\' https://{proxyHost}/',
  ),
];

const PROXY_BYPASS_NOTE = t(
  'Only where the host has its own route to AWS (a NAT gateway, or VPC endpoints for S3 and STS) may AWS skip the proxy instead: add .amazonaws.com to NO_PROXY (and no_proxy) for the app and the sidecar alike; then both go direct.',
);

// ---- the table --------------------------------------------------------------

export const ROWS: Record<Reason, Row> = {
  // -- environment ------------------------------------------------------------
  env_static_keys: {
    title: 'static keys shadow the instance role',
    cause:
      'AWS_ACCESS_KEY_ID ({envKeyId}) is set, so every SDK signs with those keys and never asks IMDS for the credentials of role {roleName}.',
    fix: [
      t(
        'Remove AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN from .env.backend and the compose file; the runbook forbids static keys on EC2. Find them with:',
      ),
      sh(
        "grep -n 'AWS_ACCESS_KEY_ID\\|AWS_SECRET_ACCESS_KEY\\|AWS_SESSION_TOKEN' .env.backend docker-compose.yml",
      ),
      ...RECREATE,
    ],
  },
  env_profile_set: {
    title: 'AWS_PROFILE is used before the instance role',
    cause:
      'AWS_PROFILE={profile} is set, so the SDK resolves credentials from that shared-config profile instead of the instance role {roleName}.',
    fix: [
      t(
        'On EC2, remove AWS_PROFILE from .env.backend and the compose file; the chain reaches the instance role by itself. Profiles are for local development (runbook §2).',
      ),
      ...RECREATE,
    ],
  },
  env_region_missing: {
    title: 'no region configured',
    cause:
      'Neither AWS_REGION nor AWS_DEFAULT_REGION is set: the Node SDK fails with "Region is missing" and the Python SDK guesses.',
    fix: [
      t('Set both in .env.backend (Node reads the first, Python the second):'),
      code('AWS_REGION={s3Region}\nAWS_DEFAULT_REGION={s3Region}'),
      ...RECREATE,
    ],
  },
  env_region_mismatch: {
    title: 'AWS_REGION and AWS_DEFAULT_REGION disagree',
    cause:
      'AWS_REGION={configuredRegion} but AWS_DEFAULT_REGION={defaultRegion}: Node services read the first and Python services the second, so they talk to different regions.',
    fix: [
      t("Set both to the bucket's region. Look it up (null means us-east-1):"),
      sh('aws s3api get-bucket-location --bucket {bucket}'),
      t('then in .env.backend:'),
      code('AWS_REGION={bucketRegion}\nAWS_DEFAULT_REGION={bucketRegion}'),
      ...RECREATE,
    ],
  },
  env_proxy_without_no_proxy: {
    title: 'proxy set without metadata addresses in NO_PROXY',
    cause:
      "{proxyVars} is set but NO_PROXY lacks {noProxyMissing}, so Python (boto3/botocore) and curl send metadata and credential requests to the proxy, which fails or answers with the proxy host's own credentials.",
    fix: [
      t(
        "Which clients this affects: Python services (boto3/botocore) send their IMDS calls through the proxy, and curl its metadata calls (curl reads only lowercase http_proxy). This sidecar sends S3, STS and KMS through the proxy as boto3 does, but never its own metadata calls: its credentials keep working while the app's fail, so this warning is the app's problem, not the sidecar's.",
      ),
      t('In .env.backend set both spellings (NO_PROXY is now: {noProxy}):'),
      code('NO_PROXY={noProxyFixed}\nno_proxy={noProxyFixed}'),
      ...RECREATE,
    ],
  },
  env_imds_disabled: {
    title: 'AWS_EC2_METADATA_DISABLED turns off the instance role',
    cause:
      'AWS_EC2_METADATA_DISABLED={imdsDisabledRaw} stops every AWS SDK from asking IMDS, so no container here can get the credentials of role {roleName}.',
    fix: [
      t('In .env.backend set it as the runbook does:'),
      code('AWS_EC2_METADATA_DISABLED=false'),
      ...RECREATE,
      t('If IMDS is off on purpose (not EC2), drop imds from the checks instead:'),
      code('S3_HEALTH_CHECKS=credentials,s3'),
    ],
  },
  env_container_credentials_conflict: {
    title: 'container credential variables conflict',
    cause: conflictCause,
    fix: [
      t(
        'Keep only the variable the platform injects: ECS sets AWS_CONTAINER_CREDENTIALS_RELATIVE_URI, EKS Pod Identity sets AWS_CONTAINER_CREDENTIALS_FULL_URI. On EC2 with docker compose, remove both, so the SDK asks IMDS for the instance role.',
      ),
      ...RECREATE,
    ],
  },
  env_token_file_invalid: {
    title: 'service-account token file unusable',
    cause: tokenFileCause,
    fix: tokenFileFix,
  },

  // -- imds ---------------------------------------------------------------------
  imds_hop_limit_v1_fallback: {
    title: 'IMDSv2 hop limit 1: containers fall back to IMDSv1',
    cause: (v) =>
      `The token PUT gets no answer from inside the container while a tokenless GET works: instance {instanceId} has HttpPutResponseHopLimit 1, so the Docker bridge's extra hop drops the token response and the SDKs fall back to IMDSv1${v.penaltyMs ? ', waiting {penaltyMs} ms for the token on every credential fetch' : ''}.`,
    fix: HOP_LIMIT_FIX,
  },
  imds_hop_limit_tokens_required: {
    title: 'IMDSv2 hop limit 1: containers get no credentials',
    cause: (v) =>
      `The token PUT gets no answer from inside the container${v.penaltyMs ? ' (gave up after {penaltyMs} ms)' : ''} and a tokenless GET gets 401: instance {instanceId} requires IMDSv2 with hop limit 1, so no container on the Docker bridge can get the role's credentials.`,
    fix: HOP_LIMIT_FIX,
  },
  imds_token_timeout: {
    title: 'IMDSv2 token request timed out',
    cause:
      'The IMDSv2 token PUT got no answer and no fallback helped: most often hop limit 1 seen from a container, otherwise a firewall rule or link-local throttling.',
    fix: [
      t("Check the instance's metadata options:"),
      DESCRIBE_METADATA_OPTIONS,
      t('If "HttpPutResponseHopLimit" is 1:'),
      ...HOP_LIMIT_FIX,
      ...IMDS_TIMEOUT_FIX.slice(0, 4),
    ],
  },
  imds_token_rejected: {
    title: 'IMDS refused the token request',
    cause:
      'IMDS refused the IMDSv2 token PUT ({httpStatus}): 403 or 405 means the endpoint is disabled or something in between (a proxy adding X-Forwarded-For) altered it, 400 a malformed TTL header.',
    fix: [
      t('Check the instance\'s metadata options; "HttpEndpoint" must be "enabled":'),
      DESCRIBE_METADATA_OPTIONS,
      MODIFY_ENDPOINT_ENABLED,
      t('Make sure no proxy sits in front of IMDS (NO_PROXY must list 169.254.169.254).'),
    ],
  },
  imds_unreachable: {
    title: 'IMDS unreachable',
    cause:
      'Nothing answers at {imdsEndpoint} ({code}): this is not an EC2 instance, the container network has no route to the metadata address, or AWS_EC2_METADATA_SERVICE_ENDPOINT points at something that is not running.',
    fix: [
      ...IMDS_FROM_CONTAINER,
      t("Check the route from the sidecar's network, and any endpoint override:"),
      sh(`${IN_SIDECAR_NETNS} ip route get 169.254.169.254`),
      sh('docker compose exec s3-health env | grep AWS_EC2_METADATA'),
      t(
        'Not on EC2 (local development)? Use a profile (runbook §2) and drop imds from S3_HEALTH_CHECKS.',
      ),
    ],
  },
  imds_timeout: {
    title: 'IMDS did not answer in time',
    cause:
      'IMDS at {imdsEndpoint} did not answer within the deadline: the link-local packet budget may be exhausted, a firewall drops replies, or (from a container) the hop limit is 1.',
    fix: [
      ...IMDS_TIMEOUT_FIX,
      t('From a container the hop limit must be 2; check it:'),
      DESCRIBE_METADATA_OPTIONS,
    ],
  },
  imds_disabled: {
    title: 'IMDS disabled on the instance',
    cause:
      'IMDS answered 403: the metadata endpoint of instance {instanceId} is disabled (HttpEndpoint=disabled), so nothing on it can get role credentials.',
    fix: [
      t('Enable it (IMDSv2 only, hop limit 2 for containers):'),
      MODIFY_ENDPOINT_ENABLED,
      t('Verify:'),
      DESCRIBE_METADATA_OPTIONS,
      t('If an account default or a declarative policy disables IMDS, change it there:'),
      sh('aws ec2 get-instance-metadata-defaults --region {region}'),
    ],
  },
  imds_unauthorized: {
    title: 'IMDS rejected the token',
    cause:
      'IMDS answered 401 to a metadata GET: the token expired or was refused, or a tokenless request reached an instance that requires IMDSv2.',
    fix: [
      t(
        'A single 401 heals with a new token (the next cycle fetches one). If it persists from containers only, the token response is being lost on the way back: the hop limit is 1.',
      ),
      DESCRIBE_METADATA_OPTIONS,
      ...HOP_LIMIT_FIX.slice(0, 2),
    ],
  },
  imds_no_role: {
    title: 'no IAM role attached to the instance',
    cause:
      'IMDS answered 404 under iam/: instance {instanceId} has no instance profile (IAM role) attached, so there are no credentials to hand out.',
    fix: (_v, ctx) => [
      t('Check for an association:'),
      sh(
        'aws ec2 describe-iam-instance-profile-associations --region {region} --filters Name=instance-id,Values={instanceId}',
      ),
      ...findProfile(ctx),
      t("Attach it (the instance profile that holds the application's role):"),
      sh(
        'aws ec2 associate-iam-instance-profile --region {region} --instance-id {instanceId} --iam-instance-profile Name="$PROFILE"',
      ),
      t(
        'Then grant that role the bucket permissions (runbook §1.3). IMDS serves the new role within a few seconds; no restart needed.',
      ),
    ],
  },
  imds_role_error: {
    title: 'EC2 cannot get credentials for the instance role',
    cause:
      'IMDS reports Code={imdsCode} for the instance profile: EC2 could not assume role {roleName} (role deleted or renamed, trust policy not allowing ec2.amazonaws.com, or the profile lost its role).',
    fix: [
      t('Check that the profile still holds the role:'),
      sh('aws iam get-instance-profile --instance-profile-name {instanceProfileName}'),
      t('Check that the role trusts EC2; expect Principal Service "ec2.amazonaws.com":'),
      sh('aws iam get-role --role-name {roleName} --query Role.AssumeRolePolicyDocument'),
    ],
  },
  imds_throttled: {
    title: 'IMDS throttling requests',
    cause:
      'IMDS answered 429: processes on this instance query it faster than its per-instance limit.',
    fix: [
      t(
        'Find the chatty client (a tight loop without credential caching). Probe less often, e.g. S3_HEALTH_INTERVAL_SECONDS=60; the SDKs cache role credentials until they near expiry.',
      ),
      sh('ethtool -S eth0 | grep linklocal_allowance_exceeded'),
    ],
  },
  imds_bad_response: {
    title: 'IMDS answer is not metadata',
    cause:
      'The answer at {imdsEndpoint} is not what IMDS sends ({message}): a proxy or another service answers in its place, or the endpoint override is wrong.',
    fix: [
      t('Check NO_PROXY and the endpoint override inside the container:'),
      sh("docker compose exec s3-health sh -c 'env | grep -i -e proxy -e AWS_EC2_METADATA'"),
      ...IMDS_FROM_CONTAINER,
    ],
  },

  // -- credentials --------------------------------------------------------------
  credentials_not_found: {
    title: 'no credentials found',
    cause:
      "No provider in the SDK's default chain returned credentials: no keys in the environment, no profile, no container endpoint, and IMDS gave none.",
    fix: [
      CHECK_IMDS_FIRST,
      PLATFORM_SOURCES_HINT,
      t('Local development: use a profile (runbook §2) with AWS_PROFILE set.'),
    ],
  },
  credentials_expired: {
    title: 'credentials expired',
    cause:
      'The credentials from {credentialSource} expired ({message}) and nothing refreshed them.',
    fix: [
      t(
        'Static session keys in the environment (AWS_SESSION_TOKEN) never refresh: remove them and use the instance role. For IMDS credentials, a refresh failure shows up in the imds check; a host clock that is far off looks the same (clock offset: {clockOffset}).',
      ),
      CHECK_IMDS_FIRST,
    ],
  },
  credentials_expiring: {
    title: 'credentials about to expire',
    cause:
      'The credentials from {credentialSource} expire at {expiration} ({message}); IMDS normally rotates them well before that, so rotation lags or the source is static.',
    fix: [
      t(
        'If the source is the environment or a profile with session keys, refresh them or move to the instance role. For IMDS, compare LastUpdated/Expiration in the role document:',
      ),
      sh(
        [
          'TOKEN=$(curl -sS -X PUT {imdsEndpoint}/latest/api/token \\',
          '  -H "X-aws-ec2-metadata-token-ttl-seconds: 60")',
          'curl -sS -H "X-aws-ec2-metadata-token: $TOKEN" \\',
          '  {imdsEndpoint}/latest/meta-data/iam/security-credentials/{roleName} \\',
          '  | grep -v -e Secret -e Token',
        ].join('\n'),
      ),
    ],
  },
  credentials_extended: {
    title: 'running on SDK-extended credentials',
    cause:
      'Refreshing the instance role credentials failed, so the SDK extended the old ones (they expired at {originalExpiration}); AWS still accepts them for now, but the role is not being refreshed.',
    fix: [
      t(
        'This is an IMDS outage seen from the SDK: look at the imds check above (hop limit, throttling, firewall) and fix that; the warning clears on the next successful refresh.',
      ),
      ...IMDS_FROM_CONTAINER,
    ],
  },
  credentials_invalid: {
    title: 'credentials rejected',
    cause:
      'AWS rejected the credentials from {credentialSource} ({code}): the session token is malformed or truncated, or key and token do not belong together.',
    fix: [
      t(
        'Unset any AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN in the environment and let the instance role answer; then check the identity:',
      ),
      ...CALLER_IDENTITY,
    ],
  },
  credentials_wrong_account: {
    title: 'credentials from the wrong account',
    cause:
      'STS says the caller is in account {accountId}, not in the expected {expectedAccount} (caller: {callerArn}).',
    fix: [
      t(
        "The credentials came from {credentialSource}. Static keys or a profile from another account shadow the role (see the environment check), or the instance carries another account's profile. If the expectation is wrong, fix S3_HEALTH_EXPECTED_ACCOUNT.",
      ),
      ...CALLER_IDENTITY,
    ],
  },
  credentials_wrong_role: {
    title: 'credentials for the wrong role',
    cause: 'The caller is {callerArn}, not the expected role {expectedRole}.',
    fix: (_v, ctx) => [
      t(
        'The credentials came from {credentialSource}. If the instance carries the wrong instance profile, replace it with the one holding the expected role.',
      ),
      ...findProfile(ctx),
      t("The instance's current association, then the replacement:"),
      sh(
        [
          "ASSOCIATION=$(aws ec2 describe-iam-instance-profile-associations --region {region} --filters Name=instance-id,Values={instanceId} Name=state,Values=associated --query 'IamInstanceProfileAssociations[0].AssociationId' --output text)",
          'aws ec2 replace-iam-instance-profile-association --region {region} --association-id "$ASSOCIATION" --iam-instance-profile Name="$PROFILE"',
        ].join('\n'),
      ),
      t('If the expectation is wrong, fix S3_HEALTH_EXPECTED_ROLE.'),
    ],
  },
  sts_error: {
    // On IRSA the credentials step itself calls STS (AssumeRoleWithWebIdentity).
    title: (_v, ctx) =>
      ctx.step === 'resolve'
        ? 'STS AssumeRoleWithWebIdentity failed'
        : 'STS GetCallerIdentity failed',
    cause: (_v, ctx) =>
      ctx.step === 'resolve'
        ? 'STS AssumeRoleWithWebIdentity failed ({code}, {httpStatus}): STS could not reach the identity provider to verify the token, or the way to {stsEndpoint} is broken.'
        : 'STS GetCallerIdentity failed ({code}, {httpStatus}); it needs no permission, so the credentials, their signature or the way to {stsEndpoint} is broken.',
    fix: [
      t(
        'RegionDisabledException: use a region enabled for the account (AWS_REGION). Otherwise check the credentials and the network path to {stsEndpoint} (AWS_ENDPOINT_URL_STS overrides it):',
      ),
      ...CALLER_IDENTITY,
    ],
  },

  // -- s3 -----------------------------------------------------------------------
  s3_access_denied: {
    title: '{s3Action} denied to role {roleName}',
    cause: (v) =>
      `Role {roleName} may not {s3Action} on ${s3Resource(v)}: its policies do not allow it, or a bucket policy, SCP or VPC endpoint policy denies it.`,
    fix: (v) => [
      ...(v.explicitDenyIn
        ? [
            t(
              'AWS says an explicit deny in a {explicitDenyIn} blocks it: an Allow will not help; find and narrow that Deny first.',
            ),
          ]
        : []),
      t(
        'Least-privilege statement for exactly the missing action; save it as s3-health-{actionName}.json:',
      ),
      json({
        Version: '2012-10-17',
        Statement: [
          {
            Sid: 'S3Health{actionName}',
            Effect: 'Allow',
            Action: ['{s3Action}'],
            Resource: s3Resource(v),
            ...(takesPrefixCondition(v.s3Action)
              ? { Condition: { StringLike: { 's3:prefix': ['{prefix}*'] } } }
              : {}),
          },
        ],
      }),
      t('Attach it to role {roleName}, the instance role the containers run as:'),
      sh(
        'aws iam put-role-policy --role-name {roleName} --policy-name s3-health-{actionName} --policy-document file://s3-health-{actionName}.json',
      ),
      t(
        isBucketLevel(v.s3Action)
          ? 'The application needs it too, on the same bucket ARN (the runbook §1.3 policy grants the whole bucket). If the role already allows it, look for a Deny in the bucket policy:'
          : 'The application needs the same action on its own keys (arn:{partition}:s3:::{bucket}/{appPrefix}*; the runbook §1.3 policy grants the whole bucket). If the role already allows it, look for a Deny in the bucket policy:',
      ),
      sh('aws s3api get-bucket-policy --bucket {bucket} --query Policy --output text'),
    ],
  },
  kms_access_denied: {
    title: '{kmsAction} denied on the KMS key',
    cause:
      "S3 could not use KMS key {kmsKeyArn} for role {roleName}: the {step} needs {kmsAction}, and the role's IAM policy or the key policy does not allow it.",
    fix: [
      t(
        'IAM statement for role {roleName} (PUT needs kms:GenerateDataKey, GET kms:Decrypt); save as s3-health-kms.json:',
      ),
      json({
        Version: '2012-10-17',
        Statement: [
          {
            Sid: 'S3HealthKms',
            Effect: 'Allow',
            Action: ['kms:GenerateDataKey', 'kms:Decrypt'],
            Resource: '{kmsKeyArn}',
          },
        ],
      }),
      sh(
        'aws iam put-role-policy --role-name {roleName} --policy-name s3-health-kms --policy-document file://s3-health-kms.json',
      ),
      t(
        'Key policy statement naming the role (needed unless the key policy delegates to IAM; a key in another account needs both):',
      ),
      json({
        Sid: 'AllowS3HealthRoleUseOfKey',
        Effect: 'Allow',
        Principal: { AWS: '{roleArn}' },
        Action: ['kms:GenerateDataKey', 'kms:Decrypt'],
        Resource: '*',
      }),
      ...KEY_POLICY_EDIT,
      t('If the role was created under a path, take its exact ARN from:'),
      sh('aws iam get-role --role-name {roleName} --query Role.Arn --output text'),
    ],
  },
  kms_key_not_found: {
    title: 'KMS key not found',
    cause:
      'KMS cannot find key {kmsKeyArn} ({message}): the key id or alias is mistyped, or the key lives in another account or region, where only its full ARN works.',
    fix: [
      t("Check the key, and the bucket's default encryption key:"),
      sh('aws kms describe-key --key-id {kmsKeyArn} --region {kmsRegion}'),
      sh('aws s3api get-bucket-encryption --bucket {bucket}'),
      t(
        "Set S3_HEALTH_KMS_KEY_ID (now {kmsKeyConfigured}) and the bucket default to the key's full ARN.",
      ),
    ],
  },
  kms_key_disabled: {
    title: 'KMS key disabled',
    cause: 'KMS key {kmsKeyArn} is disabled, so every SSE-KMS write and read with it fails.',
    fix: [sh('aws kms enable-key --key-id {kmsKeyArn} --region {kmsRegion}')],
  },
  kms_key_pending_deletion: {
    title: 'KMS key pending deletion',
    cause:
      'KMS key {kmsKeyArn} is scheduled for deletion: every object encrypted with it becomes unreadable for good when the waiting period ends.',
    fix: [
      t('Cancel the deletion now (it leaves the key disabled), then enable it:'),
      sh('aws kms cancel-key-deletion --key-id {kmsKeyArn} --region {kmsRegion}'),
      sh('aws kms enable-key --key-id {kmsKeyArn} --region {kmsRegion}'),
    ],
  },
  s3_no_such_bucket: {
    title: 'bucket {bucket} does not exist',
    cause:
      'Bucket {bucket} does not exist at {s3Endpoint}: a typo in KB_STORAGE_URI or S3_HEALTH_BUCKET, a deleted bucket, or one that lives behind another endpoint.',
    fix: [
      t('Check the name (from account {accountId}):'),
      sh('aws s3api head-bucket --bucket {bucket} --region {s3Region}'),
      t('The buckets this account has:'),
      sh("aws s3api list-buckets --query 'Buckets[].Name' --output text"),
      t('Then correct the bucket in .env.backend:'),
      code('KB_STORAGE_URI=s3://<BUCKET_NAME>/{appPrefix}'),
    ],
  },
  s3_wrong_region: {
    title: (v) =>
      v.bucketRegion.startsWith('<')
        ? 'bucket {bucket} is in another region'
        : 'bucket {bucket} is in {bucketRegion}',
    cause:
      'Bucket {bucket} lives in {bucketRegion}, but the requests were signed for {requestRegion}.',
    fix: [
      t('Confirm (a null LocationConstraint means us-east-1):'),
      sh('aws s3api get-bucket-location --bucket {bucket}'),
      t("Set both region variables in .env.backend to the bucket's region:"),
      code('AWS_REGION={bucketRegion}\nAWS_DEFAULT_REGION={bucketRegion}'),
      ...RECREATE,
    ],
  },
  s3_sse_mismatch: {
    title: 'probe object encrypted differently than configured',
    cause:
      "HEAD shows the probe object encrypted differently than S3_HEALTH_SSE={sse} with key {kmsKeyConfigured} ({message}): the bucket's default encryption or a bucket policy overrides the request, or the configuration names another key.",
    fix: [
      t("Compare with the bucket's default encryption:"),
      sh('aws s3api get-bucket-encryption --bucket {bucket}'),
      t(
        'Then align S3_HEALTH_SSE / S3_HEALTH_KMS_KEY_ID with what the application is meant to use.',
      ),
    ],
  },
  s3_content_mismatch: {
    title: 'object read back differs from what was written',
    cause:
      'GET returned other bytes than the PUT stored ({message}): a proxy or an S3-compatible store changed the object, or another process wrote under {ownPrefix}.',
    fix: [
      t(
        'Run once without a proxy (unset HTTPS_PROXY) and make sure no other sidecar shares the hostname {hostname}, which names its prefix.',
      ),
    ],
  },
  s3_object_missing: {
    title: 'probe object missing right after PUT',
    cause:
      'The object just written is gone ({message}); S3 is strongly consistent, so a lifecycle rule, another process deleting under {prefix}, or an eventually consistent S3-compatible store removed or hid it.',
    fix: [
      t(
        'Check lifecycle rules on the prefix (a 403 on HEAD instead of 404 also means s3:ListBucket is missing):',
      ),
      sh('aws s3api get-bucket-lifecycle-configuration --bucket {bucket}'),
    ],
  },
  s3_throttled: {
    title: 'S3 throttling (SlowDown)',
    cause:
      "S3 answered {code} ({httpStatus}): requests to the bucket's prefixes exceed S3's per-prefix rate, most likely from the application's own load.",
    fix: [
      t(
        "The SDKs retry with backoff. If it persists, spread the application's keys across more prefixes and look at its request rate.",
      ),
      SUPPORT_IDS,
    ],
  },
  s3_server_error: {
    title: 'S3 server error',
    cause: 'S3 answered {code} ({httpStatus}): a server-side fault, usually transient.',
    fix: [t('Check https://health.aws.amazon.com/health/status for {s3Region}.'), SUPPORT_IDS],
  },
  s3_checksum_unsupported: {
    title: "store rejects the SDK's default checksums",
    cause:
      'The store at {s3Endpoint} rejects the default CRC32 checksums ({code}) that @aws-sdk/client-s3 since 3.729 and boto3 since 1.36 send on uploads.',
    fix: [
      t('Send checksums only when an operation requires them; in .env.backend:'),
      code(
        'AWS_REQUEST_CHECKSUM_CALCULATION=when_required\nAWS_RESPONSE_CHECKSUM_VALIDATION=when_required',
      ),
      ...RECREATE,
      t('Or upgrade the S3-compatible store to a release that accepts them.'),
    ],
  },

  s3_version_left: {
    title: 'probe versions stay in bucket {bucket}',
    cause: (_v, ctx) =>
      ctx.error?.detail?.versionCause === 'retention'
        ? 'Bucket {bucket} keeps versions under Object Lock retention, so the version each probe writes under {prefix} cannot be deleted until its retention ends ({message}); each cycle leaves one noncurrent version and one delete marker.'
        : 'Bucket {bucket} keeps versions and role {roleName} may not delete a version (s3:DeleteObjectVersion on arn:{partition}:s3:::{bucket}/{prefix}*) or a retention forbids it ({message}); each cycle leaves one noncurrent version and one delete marker.',
    fix: (_v, ctx) => [
      ...(ctx.error?.detail?.versionCause === 'retention'
        ? [
            t(
              "Object Lock retention keeps each probe version until its retain-until date (shown by the head step); nothing may delete it before, so only the lifecycle rule below helps: it removes the versions once retention ends. Check the bucket's default retention:",
            ),
            sh('aws s3api get-object-lock-configuration --bucket {bucket}'),
          ]
        : [
            t(
              'Least-privilege statement letting role {roleName} delete the exact versions it writes; save it as s3-health-DeleteObjectVersion.json:',
            ),
            json({
              Version: '2012-10-17',
              Statement: [
                {
                  Sid: 'S3HealthDeleteObjectVersion',
                  Effect: 'Allow',
                  Action: ['s3:DeleteObjectVersion'],
                  Resource: 'arn:{partition}:s3:::{bucket}/{prefix}*',
                },
              ],
            }),
            sh(
              'aws iam put-role-policy --role-name {roleName} --policy-name s3-health-DeleteObjectVersion --policy-document file://s3-health-DeleteObjectVersion.json',
            ),
          ]),
      t(
        "A lifecycle rule on {prefix} that expires noncurrent probe versions after a day and then the delete markers left alone; save it as s3-health-lifecycle.json. It replaces the bucket's whole lifecycle configuration: if get-bucket-lifecycle-configuration shows rules, add this one to their Rules list instead.",
      ),
      json({
        Rules: [
          {
            ID: 's3-health-probe-versions',
            Filter: { Prefix: '{prefix}' },
            Status: 'Enabled',
            NoncurrentVersionExpiration: { NoncurrentDays: 1 },
            Expiration: { ExpiredObjectDeleteMarker: true },
          },
        ],
      }),
      sh('aws s3api get-bucket-lifecycle-configuration --bucket {bucket}'),
      sh(
        'aws s3api put-bucket-lifecycle-configuration --bucket {bucket} --lifecycle-configuration file://s3-health-lifecycle.json',
      ),
    ],
  },
  kms_key_unverified: {
    title: 'KMS alias {kmsKeyConfigured} not verified',
    cause:
      'S3 encrypted the probe object with key {kmsKeyArn}, but whether alias {kmsKeyConfigured} points to that key could not be checked ({message}), so the key is reported as unverified rather than passed.',
    fix: [
      t(
        "Let role {roleName} read the key's metadata (kms:DescribeKey reads, it changes nothing); save it as s3-health-kms-describe.json:",
      ),
      json({
        Version: '2012-10-17',
        Statement: [
          {
            Sid: 'S3HealthKmsDescribe',
            Effect: 'Allow',
            Action: ['kms:DescribeKey'],
            Resource: '{kmsKeyArn}',
          },
        ],
      }),
      sh(
        'aws iam put-role-policy --role-name {roleName} --policy-name s3-health-kms-describe --policy-document file://s3-health-kms-describe.json',
      ),
      t('Or compare by hand: the alias target must be the key S3 used:'),
      sh(
        'aws kms describe-key --key-id {kmsKeyConfigured} --region {kmsRegion} --query KeyMetadata.Arn --output text',
      ),
      t(
        "Or set S3_HEALTH_KMS_KEY_ID to the key's ARN: a key id or ARN is compared with what S3 reports, no KMS call needed.",
      ),
    ],
  },

  // -- every service --------------------------------------------------------------
  invalid_access_key: {
    title: 'access key unknown to AWS',
    cause:
      'AWS does not know access key {accessKeyId} from {credentialSource}: a deleted or mistyped key, a temporary key without its session token, or static keys left in the environment shadowing the role.',
    fix: [
      t(
        'Remove AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN from .env.backend and the compose file so the instance role answers.',
      ),
      ...RECREATE,
    ],
  },
  signature_mismatch: {
    title: 'request signature does not match',
    cause:
      'AWS computed another signature than the one sent with key {accessKeyId}: the secret does not belong to this key (mixed or whitespace-padded variables), a proxy rewrote the request, or an S3-compatible store mishandles signed payloads.',
    fix: [
      t(
        'The keys came from {credentialSource}. If that is the environment, remove the static keys and use the role; else run once without a proxy. For S3-compatible stores, see the checksum fix: AWS_REQUEST_CHECKSUM_CALCULATION=when_required.',
      ),
      ...RECREATE,
    ],
  },
  expired_token: {
    title: 'session token expired',
    cause:
      'AWS rejected the session token as expired: credentials from {credentialSource} were not refreshed (IMDS refresh failing, or temporary keys pasted into the environment), or the host clock is off ({clockOffset}).',
    fix: [
      t('Remove pasted AWS_SESSION_TOKEN/keys from the environment, and check the clock:'),
      sh('chronyc tracking'),
      CHECK_IMDS_FIRST,
    ],
  },
  clock_skew: {
    title: (v) =>
      /^[+-]/.test(v.clockOffset) ? 'host clock off by {clockOffset}' : 'host clock out of sync',
    cause:
      'The host clock is off by {clockOffset} from AWS time ({code}), so requests carry a timestamp AWS refuses.',
    fix: [
      t(
        'Containers share the host clock: fix time sync on the host. The Amazon Time Sync Service is at 169.254.169.123:',
      ),
      sh('chronyc tracking; chronyc sources'),
      t('Make /etc/chrony.conf use it (Amazon Linux does by default), then restart:'),
      code('server 169.254.169.123 prefer iburst minpoll 4 maxpoll 4'),
      sh('sudo systemctl restart chronyd  # chrony on Debian/Ubuntu'),
    ],
  },
  timeout: {
    title: '{where} timed out',
    cause:
      '{where} got no answer from {target} within the deadline ({timeoutMs} ms): the network path drops packets (security group, NACL, no NAT gateway or S3 endpoint) or the service hung.',
    fix: timeoutFix,
  },
  dns_failure: {
    title: 'DNS cannot resolve {host}',
    cause:
      'DNS could not resolve {host} ({code}): ENOTFOUND means no such name (endpoint typo, wrong region in the host name, VPC endpoint without private DNS), EAI_AGAIN that the resolver did not answer.',
    fix: [
      t('Resolve it from the container:'),
      sh('docker compose exec s3-health getent hosts {host}'),
      t(
        'Check AWS_ENDPOINT_URL* and AWS_REGION for typos. EAI_AGAIN: the VPC resolver shares the 1024 packets/s link-local budget with IMDS:',
      ),
      sh('ethtool -S eth0 | grep linklocal_allowance_exceeded'),
    ],
  },
  connection_refused: {
    title: 'connection to {target} refused',
    cause:
      'Nothing listens at {target} ({code}): an endpoint override (AWS_ENDPOINT_URL*, AWS_EC2_METADATA_SERVICE_ENDPOINT) points at a stopped service, or a proxy is down.',
    fix: [
      t('Check the overrides inside the container and that their target is up:'),
      sh(
        "docker compose exec s3-health sh -c 'env | grep -e AWS_ENDPOINT_URL -e AWS_EC2_METADATA -i -e proxy'",
      ),
    ],
  },
  connection_reset: {
    title: 'connection to {target} reset',
    cause:
      'The connection to {target} was reset ({code}): usually a proxy or firewall in between; for IMDS, sometimes the hop-limit case.',
    fix: [
      t('Run once without the proxy variables; for IMDS check the hop limit:'),
      DESCRIBE_METADATA_OPTIONS,
    ],
  },
  network_unreachable: {
    title: 'no route to {target}',
    cause:
      'There is no route to {target} ({code}): the container network lacks a route there (a custom network without 169.254.0.0/16, or IPv6 IMDS on a non-Nitro instance).',
    fix: [
      t("Check the route from the sidecar's network:"),
      sh(`${IN_SIDECAR_NETNS} ip route get {host}`),
      t('For IMDS over IPv6 the instance needs HttpProtocolIpv6=enabled; else use IPv4.'),
    ],
  },
  proxy_unreachable: {
    title: 'proxy unreachable ({code})',
    cause:
      "{where} goes through the proxy {proxy}, as the app's boto3 does ({proxyVars} set; NO_PROXY does not exempt {proxyHost}), and the proxy could not be reached ({code}): it is down, or its address is wrong. The Python services fail the same way.",
    fix: [
      ...PROXY_PROBE,
      t('Start the proxy, or correct its address in .env.backend and recreate the containers:'),
      sh('docker compose up -d --force-recreate'),
      PROXY_BYPASS_NOTE,
    ],
  },
  proxy_auth_required: {
    title: 'proxy wants credentials (407)',
    cause:
      'The proxy {proxy} answered CONNECT {proxyTarget} with 407 Proxy Authentication Required: the proxy URL carries no user and password, or wrong ones. boto3 and this sidecar both take them from the URL.',
    fix: [
      t(
        'Put the proxy user and password in the URL, percent-encoded (@ as %40, : as %3A), in .env.backend for the app and the sidecar alike:',
      ),
      code(
        'HTTPS_PROXY=http://USER:PASSWORD@PROXY_HOST:3128\nhttps_proxy=http://USER:PASSWORD@PROXY_HOST:3128',
      ),
      ...RECREATE,
    ],
  },
  proxy_denied: {
    title: 'proxy refuses the AWS host ({proxyStatus})',
    cause:
      'The proxy {proxy} answered CONNECT {proxyTarget} with {proxyStatus}: its allow-list does not let this host through. The app reaches the bucket through the same proxy, so it is refused too.',
    fix: [
      t(
        'Allow the AWS hosts this bucket needs in region {s3Region} (S3, virtual-hosted and path style; STS; KMS for SSE-KMS). For squid, before its first http_access deny:',
      ),
      code(
        [
          'acl s3health_aws dstdomain .s3.{s3Region}.amazonaws.com',
          'acl s3health_aws dstdomain s3.{s3Region}.amazonaws.com',
          'acl s3health_aws dstdomain sts.{stsRegion}.amazonaws.com',
          'acl s3health_aws dstdomain kms.{s3Region}.amazonaws.com',
          'http_access allow CONNECT s3health_aws',
        ].join('\n'),
      ),
      t('Other proxies: allow CONNECT to {proxyAllowHosts} on port 443. Then check:'),
      ...PROXY_PROBE.slice(1),
      PROXY_BYPASS_NOTE,
    ],
  },
  proxy_timeout: {
    title: 'proxy did not answer CONNECT',
    cause:
      "The proxy {proxy} took CONNECT {proxyTarget} but did not answer it within {proxyConnectMs} ms (half the check's deadline): it is overloaded, or cannot reach AWS itself (DNS, routes). The app waits on the same proxy.",
    fix: [...PROXY_PROBE, PROXY_BYPASS_NOTE],
  },
  tls_untrusted: {
    title: 'TLS certificate not trusted',
    cause:
      'TLS verification of {host} failed ({code}): the image has no CA certificates, or a TLS-intercepting proxy presents its own root.',
    fix: [
      t('Slim images: install the CA bundle in the Dockerfile (Debian/Ubuntu, then Alpine):'),
      code(
        [
          'RUN apt-get update \\',
          ' && apt-get install -y --no-install-recommends ca-certificates',
          'RUN apk add --no-cache ca-certificates',
        ].join('\n'),
      ),
      t(
        'Corporate proxy root: give it to Node and to Python (NODE_USE_SYSTEM_CA=1 also works on Node ≥ 24.6):',
      ),
      code(
        'NODE_EXTRA_CA_CERTS=/etc/ssl/certs/proxy-root.pem\nAWS_CA_BUNDLE=/etc/ssl/certs/proxy-root.pem',
      ),
    ],
  },
  tls_cert_invalid: {
    title: 'TLS certificate outside its validity',
    cause:
      'The certificate of {host} is expired or not yet valid ({code}): an expired proxy certificate, or a host clock far off (offset {clockOffset}).',
    fix: [t("Check the clock first, then the proxy's certificate:"), sh('chronyc tracking')],
  },
  tls_hostname_mismatch: {
    title: 'TLS certificate does not match {host}',
    cause:
      'The certificate does not cover {host} ({code}): a bucket name with dots breaks virtual-hosted HTTPS, or an endpoint override names the wrong host.',
    fix: [
      t('For dotted bucket names use path-style addressing:'),
      code('S3_HEALTH_S3_FORCE_PATH_STYLE=true'),
      t('and the same in the application (boto3: addressing_style "path").'),
    ],
  },

  // -- engine ---------------------------------------------------------------------
  blocked: {
    title: 'blocked by {blockedBy}',
    cause: 'Not run: {blockedBy} failed first, and {check} cannot succeed without it.',
    fix: [t('Fix {blockedBy} first; {check} runs again on the next cycle.')],
  },
  stale: {
    title: 'result is stale',
    cause:
      'The last result is older than 3 × interval + timeout: the prober is stuck and the verdict is no longer measured.',
    fix: [
      t("Look at the sidecar's logs, then restart it:"),
      sh('docker compose logs --tail 100 s3-health'),
      sh('docker compose restart s3-health'),
    ],
  },
  ...PLATFORM_ROWS,
  unknown: {
    title: 'unclassified error: {code}',
    cause: '{where} failed with an error the sidecar does not classify ({code}, {httpStatus}).',
    fix: [
      t('The raw error, request ids and time are shown above; search them in the AWS docs.'),
      SUPPORT_IDS,
    ],
  },
};
