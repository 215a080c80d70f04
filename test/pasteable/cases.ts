// Every reason's fix, rendered in every branch a row can take, with the values
// a real account hands the sidecar. The variants are applied to EVERY reason
// (rows ignore what they do not read), and identical renders are merged, so a
// new reason or a new branch keyed on one of these inputs is covered without
// touching this file.

import { parseConfig } from '../../src/config/parse.ts';
import type {
  CheckName,
  ClassifiedError,
  ErrorDetail,
  Facts,
  NamedInMessage,
  Observed,
} from '../../src/model/check.ts';
import type { Config } from '../../src/model/config.ts';
import { REASONS, type Reason } from '../../src/model/reasons.ts';
import { type FixBlock, remediate } from '../../src/report/remediation.ts';
import type { RemediationContext } from '../../src/report/vars.ts';

/** What moto_server holds (test/pasteable/moto-world.py) and what the renders name. */
export interface World {
  region: string;
  accountId: string;
  bucket: string;
  appRole: string;
  /** Another role with its own instance profile: S3_HEALTH_EXPECTED_ROLE's. */
  expectedRole: string;
  cluster: string;
  appInstance: string;
  /** Instances without a profile: one per branch of imds_no_role (attaching is not repeatable). */
  bareInstances: string[];
  appInstanceProfileArn: string;
  keyArn: string;
  /** An alias of keyArn (S3_HEALTH_KMS_KEY_ID may name one). */
  keyAlias: string;
  disabledKeyArn: string;
  pendingKeyArn: string;
  clusterArn: string;
  taskDefinitionArn: string;
}

export const HOSTNAME = 'f3a9c2e1b7d4';
const NAMESPACE = 'kb';
const SERVICE_ACCOUNT = 's3-health';
const OIDC_ISSUER = 'https://oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE';

export interface Render {
  reason: Reason;
  /** Which variants produced this exact fix (identical renders are merged). */
  variants: string[];
  blocks: FixBlock[];
}

interface Variant {
  label: string;
  /** The credential platform it runs on (the platform rows need theirs). */
  platform?: Platform;
  check?: CheckName;
  step?: string;
  env?: Record<string, string>;
  facts?: Partial<Facts>;
  error?: Partial<ClassifiedError>;
  detail?: ErrorDetail;
  /** What AWS names only in the message (aws/errors.ts reads it from there). */
  named?: NamedInMessage;
  observed?: Observed;
}

function config(world: World, env: Record<string, string>): Config {
  const parsed = parseConfig(
    {
      KB_STORAGE_URI: `s3://${world.bucket}/kb/`,
      AWS_REGION: world.region,
      AWS_DEFAULT_REGION: world.region,
      ...env,
    },
    HOSTNAME,
  );
  if (!parsed.ok) throw new Error(`test config rejected: ${JSON.stringify(parsed.problems)}`);
  return parsed.config;
}

function ec2Facts(world: World): Facts {
  const { accountId, appRole, appInstance, region } = world;
  return {
    instanceId: appInstance,
    region,
    availabilityZone: `${region}a`,
    roleName: appRole,
    instanceProfileArn: world.appInstanceProfileArn,
    accountId,
    callerArn: `arn:aws:sts::${accountId}:assumed-role/${appRole}/${appInstance}`,
    credentialSource: 'imds',
    accessKeyId: 'ASIA…WXYZ',
    credentialsExpiration: '2026-08-20T16:00:00.000Z',
    bucket: world.bucket,
    prefix: `healthcheck/${HOSTNAME}/`,
    imdsMode: 'v2',
    kmsKeyId: world.keyArn,
  };
}

const OWN_CHECK: Record<string, CheckName> = {
  env: 'environment',
  imds: 'imds',
  s3: 's3',
  kms: 's3',
  credentials: 'credentials',
  sts: 'credentials',
  container: 'credentials',
  pod: 'credentials',
  web: 'credentials',
};

/** The check that raises a reason; undefined for the ones every check can raise (timeout…). */
function ownCheck(reason: Reason): CheckName | undefined {
  return OWN_CHECK[reason.split('_')[0] ?? ''];
}

type Platform = 'ecs' | 'eks' | 'irsa' | 'container';

/** Reasons only a platform credential source raises, and which platforms raise them. */
const PLATFORM_REASONS: [RegExp, Platform[]][] = [
  [/^(web_identity_|env_web_identity_)/, ['irsa']],
  [/^pod_identity_/, ['eks']],
  [/^env_token_file_/, ['eks', 'irsa']],
  [/^(container_|env_container_)/, ['ecs', 'eks', 'container']],
];

/** A variant applies where it is realistic: its check raises the reason, its platform has it. */
function applies(reason: Reason, v: Variant): boolean {
  const platforms = PLATFORM_REASONS.find(([re]) => re.test(reason))?.[1];
  if (platforms && (v.platform === undefined || !platforms.includes(v.platform))) return false;
  const own = ownCheck(reason);
  return v.check === undefined || own === undefined || own === v.check;
}

function defaultStep(check: CheckName): string | undefined {
  return { environment: undefined, imds: 'token', credentials: 'resolve', s3: 'put' }[check];
}

/** The world as it is when a reason fires: each reason's own precondition in moto. */
function worldFacts(reason: Reason, world: World, v: Variant): Partial<Facts> {
  if (reason === 'imds_no_role') {
    const expected = v.env?.S3_HEALTH_EXPECTED_ROLE !== undefined;
    // IMDS said 404 under iam/: the instance has no profile, so no role was learned.
    return {
      instanceId: world.bareInstances[expected ? 1 : 0] ?? 'i-0missing',
      roleName: undefined,
      instanceProfileArn: undefined,
      callerArn: undefined,
      credentialSource: undefined,
    };
  }
  if (reason === 'kms_key_disabled') return { kmsKeyId: world.disabledKeyArn };
  if (reason === 'kms_key_pending_deletion') return { kmsKeyId: world.pendingKeyArn };
  return {};
}

/** What the failure itself carries when a reason fires (x-amz-bucket-region on a redirect). */
function worldDetail(reason: Reason, world: World): ErrorDetail {
  if (reason === 's3_wrong_region') return { bucketRegion: world.region };
  return {};
}

/** Configuration without which a reason cannot fire: it wins over the variant's. */
function worldEnv(reason: Reason, world: World): Record<string, string> {
  if (reason === 'kms_key_unverified')
    return { S3_HEALTH_SSE: 'aws:kms', S3_HEALTH_KMS_KEY_ID: world.keyAlias };
  return {};
}

function variants(world: World): Variant[] {
  const { accountId, region, appRole, keyArn } = world;
  const roleArn = `arn:aws:iam::${accountId}:role/${appRole}`;
  const callerArn = `arn:aws:sts::${accountId}:assumed-role/${appRole}/${world.appInstance}`;
  const denied = (action: string, extra = '') =>
    `User: ${callerArn} is not authorized to perform: ${action} on resource: "arn:aws:s3:::${world.bucket}/healthcheck/${HOSTNAME}/probe"${extra}`;
  const podIdentityEnv = {
    AWS_CONTAINER_CREDENTIALS_FULL_URI: 'http://169.254.170.23/v1/credentials',
    AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE:
      '/var/run/secrets/pods.eks.amazonaws.com/serviceaccount/eks-pod-identity-token',
  };
  const claims = {
    namespace: NAMESPACE,
    serviceAccount: SERVICE_ACCOUNT,
    subject: `system:serviceaccount:${NAMESPACE}:${SERVICE_ACCOUNT}`,
    issuer: OIDC_ISSUER,
    audience: 'sts.amazonaws.com',
  };
  const irsaEnv = {
    AWS_WEB_IDENTITY_TOKEN_FILE: '/var/run/secrets/eks.amazonaws.com/serviceaccount/token',
    AWS_ROLE_ARN: roleArn,
  };
  return [
    { label: 'ec2' },
    { label: 'ec2 expected role', env: { S3_HEALTH_EXPECTED_ROLE: world.expectedRole } },
    ...['put', 'head', 'get', 'delete'].map((step) => ({ label: `s3 ${step}`, check: 's3', step })),
    ...(['imds', 'credentials', 's3'] as const).map((check) => ({ label: check, check })),
    {
      label: 's3 endpoint override',
      check: 's3',
      env: { AWS_ENDPOINT_URL_S3: 'https://minio.internal:9000' },
    },
    {
      label: 'ListBucket named by AWS',
      check: 's3',
      step: 'head',
      error: { message: denied('s3:ListBucket') },
      named: { s3Action: 's3:ListBucket' },
    },
    {
      label: 'explicit deny',
      check: 's3',
      step: 'put',
      error: {
        message: denied('s3:PutObject', ' with an explicit deny in a resource-based policy'),
      },
      named: { s3Action: 's3:PutObject', explicitDenyIn: 'resource-based policy' },
    },
    {
      label: 'sse-kms put',
      check: 's3',
      step: 'put',
      env: { S3_HEALTH_SSE: 'aws:kms', S3_HEALTH_KMS_KEY_ID: keyArn },
      detail: { kmsAction: 'kms:GenerateDataKey', kmsKeyId: keyArn },
      named: { kmsKeyArn: keyArn },
    },
    {
      label: 'sse-kms get',
      check: 's3',
      step: 'get',
      env: { S3_HEALTH_SSE: 'aws:kms', S3_HEALTH_KMS_KEY_ID: keyArn },
      detail: { kmsAction: 'kms:Decrypt', kmsKeyId: keyArn },
      named: { kmsKeyArn: keyArn },
    },
    {
      label: 'hop limit penalty',
      check: 'imds',
      step: 'token',
      observed: { fallbackPenaltyMs: 1046 },
    },
    { label: 'sts resolve', check: 'credentials', step: 'resolve' },
    { label: 'sts identity', check: 'credentials', step: 'identity' },
    {
      label: 'ecs',
      platform: 'ecs',
      check: 'credentials',
      env: {
        AWS_CONTAINER_CREDENTIALS_RELATIVE_URI:
          '/v2/credentials/7d3c1f0e-5b2a-4c8d-9e6f-0a1b2c3d4e5f',
      },
      detail: { platform: 'ecs', httpStatus: 400 },
      error: { httpStatus: 400 },
    },
    {
      label: 'eks pod identity',
      platform: 'eks',
      check: 'credentials',
      env: podIdentityEnv,
      detail: {
        platform: 'eks-pod-identity',
        url: podIdentityEnv.AWS_CONTAINER_CREDENTIALS_FULL_URI,
        ...claims,
      },
    },
    {
      label: 'pod identity token file',
      platform: 'eks',
      check: 'environment',
      env: podIdentityEnv,
      detail: {
        variable: 'AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE',
        tokenFile: podIdentityEnv.AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE,
        problem: 'cannot be read (ENOENT)',
        ...claims,
      },
    },
    {
      label: 'container endpoint',
      platform: 'container',
      check: 'credentials',
      env: { AWS_CONTAINER_CREDENTIALS_FULL_URI: 'http://127.0.0.1:9911/creds' },
      detail: { platform: 'container', url: 'http://127.0.0.1:9911/creds' },
    },
    {
      label: 'malformed credentials',
      platform: 'eks',
      check: 'credentials',
      env: podIdentityEnv,
      error: { code: 'MalformedCredentials', httpStatus: 200 },
      detail: { platform: 'eks-pod-identity' },
    },
    {
      label: 'irsa',
      platform: 'irsa',
      check: 'credentials',
      step: 'resolve',
      env: irsaEnv,
      detail: {
        ...claims,
        roleArn,
        tokenFile: irsaEnv.AWS_WEB_IDENTITY_TOKEN_FILE,
        expiresAt: '2026-08-20T09:00:00.000Z',
      },
    },
    {
      label: 'irsa token file',
      platform: 'irsa',
      check: 'environment',
      env: irsaEnv,
      detail: {
        variable: 'AWS_WEB_IDENTITY_TOKEN_FILE',
        tokenFile: irsaEnv.AWS_WEB_IDENTITY_TOKEN_FILE,
        problem: 'cannot be read (ENOENT)',
      },
    },
    {
      label: 'irsa half-configured',
      platform: 'irsa',
      check: 'environment',
      env: { AWS_WEB_IDENTITY_TOKEN_FILE: irsaEnv.AWS_WEB_IDENTITY_TOKEN_FILE },
    },
    {
      label: 'proxy',
      check: 'environment',
      env: { HTTPS_PROXY: 'http://proxy.internal:3128', NO_PROXY: 'localhost,.internal' },
    },
    {
      label: 'static keys',
      check: 'environment',
      env: {
        AWS_ACCESS_KEY_ID: 'AKIAIOSFODNN7EXAMPLE',
        AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
      },
    },
    { label: 'profile', check: 'environment', env: { AWS_PROFILE: 'dev' } },
    {
      label: 'container url refused',
      platform: 'container',
      check: 'environment',
      env: { AWS_CONTAINER_CREDENTIALS_FULL_URI: 'http://10.0.12.7:8080/creds' },
      detail: {
        variable: 'AWS_CONTAINER_CREDENTIALS_FULL_URI',
        url: 'http://10.0.12.7:8080/creds',
      },
    },
    {
      label: 'container variables conflict',
      platform: 'ecs',
      check: 'environment',
      env: {
        AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: '/v2/credentials/7d3c1f0e',
        AWS_CONTAINER_CREDENTIALS_FULL_URI: 'http://169.254.170.23/v1/credentials',
      },
    },
    {
      label: 'region mismatch',
      check: 'environment',
      env: { AWS_REGION: region, AWS_DEFAULT_REGION: 'us-east-1' },
    },
    {
      label: 'wrong account',
      check: 'credentials',
      step: 'identity',
      env: { S3_HEALTH_EXPECTED_ACCOUNT: '210987654321' },
    },
  ].map((v) => v as Variant);
}

function context(reason: Reason, world: World, v: Variant): RemediationContext {
  const check = v.check ?? ownCheck(reason) ?? 's3';
  const step = v.step ?? defaultStep(check);
  const detail = { ...v.detail, ...worldDetail(reason, world) };
  const error: ClassifiedError = {
    ...(v.named ? { named: v.named } : {}),
    reason,
    message: 'Access Denied',
    code: 'AccessDenied',
    httpStatus: 403,
    requestId: 'W3B5Q9QX7V2K1M8N',
    ...v.error,
    ...(Object.keys(detail).length > 0 ? { detail } : {}),
  };
  const facts: Facts = { ...ec2Facts(world), ...v.facts, ...worldFacts(reason, world, v) };
  for (const k of Object.keys(facts) as (keyof Facts)[])
    if (facts[k] === undefined) delete facts[k];
  return {
    check,
    ...(step === undefined ? {} : { step }),
    error,
    facts,
    config: config(world, { ...v.env, ...worldEnv(reason, world) }),
    ...(v.observed ? { observed: v.observed } : {}),
    ...(reason === 'blocked' ? { blockedBy: 'imds' as CheckName } : {}),
  };
}

/** Every distinct fix of every reason. */
export function renderAll(world: World): Render[] {
  const out = new Map<string, Render>();
  for (const reason of REASONS) {
    for (const v of variants(world)) {
      if (!applies(reason, v)) continue;
      const r = remediate(reason, context(reason, world, v));
      if (r === undefined) throw new Error(`no remediation for ${reason}`);
      const key = `${reason}\n${JSON.stringify(r.blocks)}`;
      const seen = out.get(key);
      if (seen) seen.variants.push(v.label);
      else out.set(key, { reason, variants: [v.label], blocks: r.blocks });
    }
  }
  return [...out.values()];
}
