import { noProxyEntries, noProxyMissing } from '../aws/no-proxy.ts';
import { ownPrefixFor } from '../aws/own-keys.ts';
import { maskKeyId, redactUrl } from '../config/mask.ts';
import type { CheckName, ClassifiedError, Facts, Observed } from '../model/check.ts';
import type { Config } from '../model/config.ts';
import { signingRegion } from '../model/region.ts';
import { accountOf, instanceProfileName, kmsRegionOf, partitionOf, roleFromArn } from './arn.ts';
import { scrubSecrets } from './scrub.ts';

export interface RemediationContext {
  check: CheckName;
  step?: string;
  error?: ClassifiedError;
  facts: Facts;
  config: Config;
  /** The step's observations (e.g. `fallbackPenaltyMs` on the hop-limit warning). */
  observed?: Observed;
  /** For `blocked`: the check whose failure stopped this one. */
  blockedBy?: CheckName;
}

/**
 * Every value a template may name as `{name}`. Identifiers that were not
 * learned keep the seed's placeholder (`<ROLE_NAME>`) so nobody pastes a guess.
 */
export interface Vars {
  check: string;
  step: string;
  /** `s3 put`, or just the check name. */
  where: string;
  instanceId: string;
  /** The instance's own region (IMDS placement/region). */
  region: string;
  /** The region S3 requests went to (bucket region when learned). */
  s3Region: string;
  bucketRegion: string;
  requestRegion: string;
  configuredRegion: string;
  defaultRegion: string;
  partition: string;
  accountId: string;
  roleName: string;
  roleArn: string;
  callerArn: string;
  instanceProfileName: string;
  bucket: string;
  /** config.prefix: stable across container restarts, unlike ownPrefix. */
  prefix: string;
  ownPrefix: string;
  appPrefix: string;
  s3Action: string;
  actionName: string;
  kmsAction: string;
  kmsKeyArn: string;
  kmsRegion: string;
  kmsKeyConfigured: string;
  imdsEndpoint: string;
  s3Endpoint: string;
  stsEndpoint: string;
  target: string;
  host: string;
  code: string;
  httpStatus: string;
  message: string;
  penaltyMs: string;
  clockOffset: string;
  credentialSource: string;
  accessKeyId: string;
  /** AWS_ACCESS_KEY_ID as set in the environment, masked. */
  envKeyId: string;
  expiration: string;
  originalExpiration: string;
  expectedAccount: string;
  expectedRole: string;
  warnSeconds: string;
  failSeconds: string;
  timeoutMs: string;
  profile: string;
  proxyVars: string;
  /** The proxy a failure went through, credentials masked. */
  proxy: string;
  /** host:port the CONNECT asked for; proxyHost without the port. */
  proxyTarget: string;
  proxyHost: string;
  proxyStatus: string;
  proxyConnectMs: string;
  /** The AWS hosts a proxy allow-list must let through for this bucket. */
  proxyAllowHosts: string;
  stsRegion: string;
  noProxy: string;
  noProxyMissing: string;
  noProxyFixed: string;
  imdsDisabledRaw: string;
  containerUri: string;
  tokenFile: string;
  imdsCode: string;
  blockedBy: string;
  sse: string;
  hostname: string;
  explicitDenyIn: string;
}

type VarName = keyof Vars;

const PLACEHOLDER = {
  instanceId: '<INSTANCE_ID>',
  region: '<REGION>',
  roleName: '<ROLE_NAME>',
  accountId: '<ACCOUNT_ID>',
  bucket: '<BUCKET_NAME>',
  keyId: '<KEY_ID>',
  instanceProfileName: '<INSTANCE_PROFILE_NAME>',
  s3Action: '<S3_ACTION>',
} as const;

const STEP_S3_ACTION: Record<string, string> = {
  put: 's3:PutObject',
  head: 's3:GetObject',
  get: 's3:GetObject',
  delete: 's3:DeleteObject',
};

// PUT makes S3 ask KMS for a data key; reads make it ask KMS to decrypt one.
const STEP_KMS_ACTION: Record<string, string> = {
  put: 'kms:GenerateDataKey',
  head: 'kms:Decrypt',
  get: 'kms:Decrypt',
};

function first(...values: (string | undefined | null)[]): string | undefined {
  for (const v of values) if (v !== undefined && v !== null && v !== '') return v;
  return undefined;
}

function observedString(o: Observed | undefined, key: string): string | undefined {
  const v = o?.[key];
  return typeof v === 'string' || typeof v === 'number' ? String(v) : undefined;
}

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}

function appPrefixOf(storageUri: string | undefined): string {
  const m = storageUri === undefined ? null : /^s3:\/\/[^/]+\/(.*)$/.exec(storageUri);
  return m?.[1] ?? '';
}

function formatOffset(seconds: number | undefined): string | undefined {
  if (seconds === undefined) return undefined;
  const sign = seconds >= 0 ? '+' : '-';
  return `${sign}${Math.abs(Math.round(seconds))} s`;
}

function defaultTarget(check: CheckName, v: { imds: string; s3: string; sts: string }): string {
  if (check === 'imds') return v.imds;
  if (check === 's3') return v.s3;
  return v.sts;
}

function kmsKey(
  ctx: RemediationContext,
  partition: string,
  account: string | undefined,
  s3Region: string | undefined,
): string {
  const known = first(ctx.error?.named?.kmsKeyArn, ctx.facts.kmsKeyId, ctx.config.kmsKeyId);
  if (known?.startsWith('arn:') && known.includes(':key/')) return known;
  // A bare key id resolves in the caller's account and the bucket's region
  // (S3 only uses keys in its own region); an alias is not a key id, so the
  // key part stays a placeholder and the fix shows how to look it up.
  const keyId = known !== undefined && /^(mrk-)?[0-9a-f-]{32,36}$/.test(known) ? known : undefined;
  return `arn:${partition}:kms:${s3Region ?? PLACEHOLDER.region}:${account ?? PLACEHOLDER.accountId}:key/${keyId ?? PLACEHOLDER.keyId}`;
}

/** Everything the table's templates can name, learned from facts, config and the error. */
export function learnVars(ctx: RemediationContext): Vars {
  const { facts, config, error } = ctx;
  const detail = error?.detail ?? {};
  const named = error?.named ?? {};
  const message = scrubSecrets(error?.message ?? '');
  const caller = facts.callerArn === undefined ? undefined : roleFromArn(facts.callerArn);
  const partition =
    first(
      caller?.partition,
      partitionOf(facts.instanceProfileArn),
      partitionOf(facts.callerArn),
      partitionOf(config.kmsKeyId),
    ) ?? 'aws';
  const account = first(
    facts.accountId,
    caller?.accountId,
    accountOf(facts.instanceProfileArn),
    detail.account,
  );
  const roleName = first(facts.roleName, caller?.roleName);
  const roleArn =
    caller !== undefined && (roleName === undefined || roleName === caller.roleName)
      ? caller.roleArn
      : `arn:${partition}:iam::${account ?? PLACEHOLDER.accountId}:role/${roleName ?? PLACEHOLDER.roleName}`;

  const bucketRegion = first(detail.bucketRegion, named.bucketRegion, facts.bucketRegion);
  const s3Region = first(bucketRegion, signingRegion(config.aws, facts));
  const kmsKeyArn = kmsKey(ctx, partition, account, s3Region);

  const step = ctx.step ?? '';
  const s3Action = first(named.s3Action, STEP_S3_ACTION[step]) ?? PLACEHOLDER.s3Action;
  const kmsAction =
    first(detail.kmsAction, named.kmsAction, STEP_KMS_ACTION[step]) ?? 'kms:GenerateDataKey';

  const a = config.aws;
  const imdsEndpoint = a.imdsEndpoint ?? 'http://169.254.169.254';
  const s3Endpoint =
    first(a.endpointUrlS3, a.endpointUrl) ??
    `https://s3.${s3Region ?? PLACEHOLDER.region}.amazonaws.com`;
  const stsEndpoint =
    first(a.endpointUrlSts, a.endpointUrl) ??
    `https://sts.${signingRegion(a, facts) ?? PLACEHOLDER.region}.amazonaws.com`;
  const target =
    named.target ??
    defaultTarget(ctx.check, { imds: imdsEndpoint, s3: s3Endpoint, sts: stsEndpoint });

  const noProxyList = noProxyEntries(a.noProxy);
  const missing = noProxyMissing(a);
  const proxyVars = [a.httpProxy ? 'HTTP_PROXY' : '', a.httpsProxy ? 'HTTPS_PROXY' : '']
    .filter((s) => s !== '')
    .join(' and ');

  const offset = formatOffset(facts.clockOffsetSeconds);
  const s3RegionShown = s3Region ?? PLACEHOLDER.region;
  const stsRegion = signingRegion(a, facts) ?? PLACEHOLDER.region;
  const bucketShown = first(facts.bucket, config.bucket) ?? PLACEHOLDER.bucket;
  const proxyTarget = detail.proxyTarget ?? `${hostOf(s3Endpoint)}:443`;

  return {
    check: ctx.check,
    step,
    where: step === '' ? ctx.check : `${ctx.check} ${step}`,
    instanceId: facts.instanceId ?? PLACEHOLDER.instanceId,
    // The instance's own region (for EC2 and IAM commands), not the signing
    // region: the seed sets AWS_REGION to it, and IMDS, when it answered, wins.
    region: first(facts.region, a.region, a.defaultRegion) ?? PLACEHOLDER.region,
    s3Region: s3Region ?? PLACEHOLDER.region,
    bucketRegion: bucketRegion ?? PLACEHOLDER.region,
    requestRegion: first(named.requestRegion, a.region) ?? 'another region',
    configuredRegion: a.region ?? '(unset)',
    defaultRegion: a.defaultRegion ?? '(unset)',
    partition,
    accountId: account ?? PLACEHOLDER.accountId,
    roleName: roleName ?? PLACEHOLDER.roleName,
    roleArn,
    callerArn: facts.callerArn ?? detail.arn ?? 'not learned',
    instanceProfileName:
      instanceProfileName(facts.instanceProfileArn) ?? PLACEHOLDER.instanceProfileName,
    bucket: first(facts.bucket, config.bucket) ?? PLACEHOLDER.bucket,
    prefix: config.prefix,
    ownPrefix: facts.prefix ?? ownPrefixFor(config.prefix, config.hostname, facts.instanceId),
    appPrefix: appPrefixOf(config.storageUri),
    s3Action,
    actionName: s3Action.replace(/^s3:/, ''),
    kmsAction,
    kmsKeyArn,
    kmsRegion: kmsRegionOf(kmsKeyArn) ?? s3Region ?? PLACEHOLDER.region,
    kmsKeyConfigured: config.kmsKeyId ?? '(bucket default key)',
    imdsEndpoint,
    s3Endpoint,
    stsEndpoint,
    target,
    host: hostOf(target.includes('://') ? target : `tcp://${target}`).replace(/:\d+$/, ''),
    code: first(error?.code, error?.reason) ?? 'an error',
    httpStatus: error?.httpStatus === undefined ? 'no status' : `HTTP ${error.httpStatus}`,
    message: message === '' ? '(no message)' : message,
    penaltyMs:
      first(
        detail.fallbackPenaltyMs === undefined ? undefined : String(detail.fallbackPenaltyMs),
        observedString(ctx.observed, 'fallbackPenaltyMs'),
      ) ?? '',
    clockOffset: offset ?? 'an unmeasured amount',
    credentialSource: facts.credentialSource ?? 'the default credential chain',
    accessKeyId:
      first(
        facts.accessKeyId === undefined ? undefined : maskIfRaw(facts.accessKeyId),
        a.accessKeyIdMasked,
      ) ?? '(id not learned)',
    envKeyId: a.accessKeyIdMasked ?? 'masked',
    expiration: facts.credentialsExpiration ?? 'an unknown time',
    originalExpiration:
      first(detail.originalExpiration, observedString(ctx.observed, 'originalExpiration')) ??
      'an unknown time',
    expectedAccount: first(config.expectedAccount, detail.expected) ?? '(not set)',
    expectedRole: first(config.expectedRole, detail.expected) ?? '(not set)',
    warnSeconds: String(config.credentialsWarnSeconds),
    failSeconds: String(config.credentialsFailSeconds),
    timeoutMs: String(config.timeoutMs),
    profile: a.profile ?? '<PROFILE>',
    proxyVars: proxyVars === '' ? 'a proxy variable' : proxyVars,
    proxy: detail.proxy ?? redactUrl(a.httpsProxy ?? a.httpProxy) ?? 'the proxy',
    proxyTarget,
    proxyHost: proxyTarget.replace(/:\d+$/, ''),
    proxyStatus: detail.proxyStatus === undefined ? 'a refusal' : `HTTP ${detail.proxyStatus}`,
    proxyConnectMs: String(Math.max(1, Math.round(config.timeoutMs / 2))),
    proxyAllowHosts: [
      `${bucketShown}.s3.${s3RegionShown}.amazonaws.com`,
      `s3.${s3RegionShown}.amazonaws.com`,
      `sts.${stsRegion}.amazonaws.com`,
      ...(config.sse === 'aws:kms' ? [`kms.${s3RegionShown}.amazonaws.com`] : []),
    ].join(', '),
    stsRegion,
    noProxy: a.noProxy ?? '(unset)',
    noProxyMissing: missing.join(', '),
    noProxyFixed: [...noProxyList, ...missing, 'localhost', '127.0.0.1']
      .filter((v, i, all) => all.indexOf(v) === i)
      .join(','),
    imdsDisabledRaw: a.imdsDisabledRaw ?? 'true',
    containerUri: first(a.containerFullUri, a.containerRelativeUri) ?? '(unset)',
    tokenFile: a.webIdentityTokenFile ?? '(unset)',
    imdsCode: first(detail.code, observedString(ctx.observed, 'code')) ?? 'not Success',
    blockedBy: ctx.blockedBy ?? 'an earlier check',
    sse: config.sse ?? 'none',
    hostname: config.hostname,
    explicitDenyIn: named.explicitDenyIn ?? '',
  };
}

/** Facts may carry the id as the SDK gave it; reports only ever show it masked. */
export function maskIfRaw(keyId: string): string {
  return keyId.includes('…') ? keyId : maskKeyId(keyId);
}

/** Fills `{name}` from vars in one pass; filled values are never re-scanned. */
export function fill(template: string, vars: Vars): string {
  return template.replace(/\{([A-Za-z][A-Za-z0-9]*)\}/g, (whole, name: string) =>
    Object.hasOwn(vars, name) ? vars[name as VarName] : whole,
  );
}

export type Json = string | number | boolean | null | Json[] | { [k: string]: Json };

/** The same fill over every string leaf of a JSON document, so values never break its syntax. */
export function fillJson(doc: Json, vars: Vars): Json {
  if (typeof doc === 'string') return fill(doc, vars);
  if (Array.isArray(doc)) return doc.map((d) => fillJson(d, vars));
  if (doc !== null && typeof doc === 'object') {
    return Object.fromEntries(Object.entries(doc).map(([k, v]) => [k, fillJson(v, vars)]));
  }
  return doc;
}
