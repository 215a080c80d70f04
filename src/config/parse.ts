import { isIP } from 'node:net';
import { hostname as osHostname } from 'node:os';
import { CHECK_NAMES, type CheckName } from '../model/check.ts';
import {
  type AwsEnv,
  type Config,
  type ConfigProblem,
  LOG_LEVELS,
  type LogLevel,
} from '../model/config.ts';
import { REGION_RE } from '../model/region.ts';
import { maskKeyId } from './mask.ts';
import { proxyVarsOf } from './proxy-env.ts';
import { VARIABLE_NAMES, VARIABLES } from './variables.ts';

export type Env = Readonly<Record<string, string | undefined>>;

export type ParseResult = { ok: true; config: Config } | { ok: false; problems: ConfigProblem[] };

// Hand-written rather than a schema library: every variable needs a problem
// message naming what is allowed, and cross-field rules (interval vs timeout,
// warn vs fail) must report alongside field errors in the same pass; a
// small reader per type keeps that one flat list without adapters.
class Reader {
  readonly problems: ConfigProblem[] = [];
  private readonly env: Env;
  constructor(env: Env) {
    this.env = env;
  }

  raw(name: string): string | undefined {
    const v = this.env[name];
    return v === undefined || v.trim() === '' ? undefined : v.trim();
  }

  /** Whether any of these variables already has a problem (cross-field rules then stay quiet). */
  has(...variables: string[]): boolean {
    return this.problems.some((p) => variables.includes(p.variable));
  }

  problem(variable: string, problem: string, allowed: string): void {
    this.problems.push({ variable, value: this.env[variable], problem, allowed });
  }

  number(
    name: string,
    fallback: number,
    opts: { integer?: boolean; min: number; max: number; unit?: string },
  ): number {
    const v = this.raw(name);
    if (v === undefined) return fallback;
    const allowed = `${opts.integer ? 'an integer' : 'a number'} from ${opts.min} to ${opts.max}${opts.unit ? ` (${opts.unit})` : ''}`;
    if (!/^[0-9]+(\.[0-9]+)?$/.test(v)) {
      this.problem(name, 'not a number', allowed);
      return fallback;
    }
    const n = Number(v);
    if ((opts.integer && !Number.isInteger(n)) || n < opts.min || n > opts.max) {
      this.problem(name, 'out of range', allowed);
      return fallback;
    }
    return n;
  }

  /** A cross-field rule: `name` may not exceed `limitName`; quiet when either has a problem already. */
  atMost(
    name: string,
    value: number,
    limitName: string,
    limit: number,
    what: { problem: string; allowed: string },
  ): void {
    if (this.has(name, limitName) || value <= limit) return;
    this.problem(name, `${what.problem} ${limitName} (${limit})`, what.allowed);
  }

  bool(name: string, fallback: boolean): boolean {
    const v = this.raw(name);
    if (v === undefined) return fallback;
    const l = v.toLowerCase();
    if (l === 'true' || l === '1') return true;
    if (l === 'false' || l === '0') return false;
    this.problem(name, 'not a boolean', 'true, false, 1 or 0');
    return fallback;
  }

  oneOf<T extends string>(name: string, values: readonly T[]): T | undefined {
    const v = this.raw(name);
    if (v === undefined) return undefined;
    const hit = values.find((x) => x === v);
    if (hit === undefined) this.problem(name, 'unknown value', values.join(', '));
    return hit;
  }

  url(name: string, protocols: readonly string[]): string | undefined {
    const v = this.raw(name);
    if (v === undefined) return undefined;
    try {
      const u = new URL(v);
      if (!protocols.includes(u.protocol)) throw new Error('protocol');
      return v;
    } catch {
      this.problem(name, 'not a valid URL', `a URL with scheme ${protocols.join(' or ')}`);
      return undefined;
    }
  }
}

// S3 bucket naming rules (general purpose buckets); dots allowed but not adjacent.
const BUCKET_RE = /^(?!xn--)(?!.*\.\.)(?!\d+\.\d+\.\d+\.\d+$)[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
// Characters S3 keys tolerate everywhere without URL-encoding surprises.
const PREFIX_RE = /^[A-Za-z0-9!_.*'()/-]+\/$/;
const ACCOUNT_RE = /^\d{12}$/;
const ROLE_RE =
  /^(arn:aws[a-z-]*:(iam|sts)::\d{12}:(role|assumed-role)\/[\w+=,.@/-]+|[\w+=,.@-]{1,64})$/;
/** Memory per check grows with this (about 100 bytes a cycle); 10000 is a week at 60 s. */
const MAX_HISTORY_CYCLES = 10_000;
const TOKEN_RE = /^[\x21-\x7e]{16,256}$/;

function parseStorageUri(r: Reader): { bucket?: string; prefix?: string } {
  const v = r.raw('KB_STORAGE_URI');
  if (v === undefined) return {};
  const m = /^s3:\/\/([^/]+)(\/.*)?$/.exec(v);
  if (!m) {
    // The app may keep a local path here (file://, /data): then it simply names no bucket.
    if (v.startsWith('s3:')) r.problem('KB_STORAGE_URI', 'malformed S3 URI', 's3://BUCKET/PREFIX/');
    return {};
  }
  return { bucket: m[1], prefix: m[2] };
}

function parseChecks(r: Reader): CheckName[] {
  const v = r.raw('S3_HEALTH_CHECKS') ?? VARIABLES.S3_HEALTH_CHECKS.default;
  const wanted = new Set<CheckName>(['environment']);
  for (const part of v.split(',').map((s) => s.trim().toLowerCase())) {
    if (part === '') continue;
    const hit = CHECK_NAMES.find((c) => c === part);
    if (hit === undefined) {
      r.problem('S3_HEALTH_CHECKS', `unknown check "${part}"`, CHECK_NAMES.join(', '));
      continue;
    }
    wanted.add(hit);
  }
  return CHECK_NAMES.filter((c) => wanted.has(c));
}

function parseAws(r: Reader, env: Env): AwsEnv {
  const disabledRaw = env.AWS_EC2_METADATA_DISABLED;
  const v1Raw = env.AWS_EC2_METADATA_V1_DISABLED;
  const mode = r.oneOf('AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE', ['IPv4', 'IPv6'] as const);
  const region = r.raw('AWS_REGION');
  const defaultRegion = r.raw('AWS_DEFAULT_REGION');
  if (region !== undefined && !REGION_RE.test(region))
    r.problem('AWS_REGION', 'not a region name', 'e.g. eu-west-1');
  if (defaultRegion !== undefined && !REGION_RE.test(defaultRegion))
    r.problem('AWS_DEFAULT_REGION', 'not a region name', 'e.g. eu-west-1');
  const keyId = r.raw('AWS_ACCESS_KEY_ID');
  const proxyVars = proxyVarsOf(env);
  return {
    region,
    defaultRegion,
    // The JS SDK treats any non-empty value but "false" as disabled (botocore only "true"); mirror the SDK.
    imdsDisabled: !!disabledRaw && disabledRaw !== 'false',
    imdsDisabledRaw: disabledRaw,
    imdsEndpoint: r.url('AWS_EC2_METADATA_SERVICE_ENDPOINT', ['http:', 'https:']),
    imdsEndpointMode: mode,
    imdsV1Disabled: !!v1Raw && v1Raw !== 'false',
    endpointUrl: r.url('AWS_ENDPOINT_URL', ['http:', 'https:']),
    endpointUrlS3: r.url('AWS_ENDPOINT_URL_S3', ['http:', 'https:']),
    endpointUrlSts: r.url('AWS_ENDPOINT_URL_STS', ['http:', 'https:']),
    endpointUrlKms: r.url('AWS_ENDPOINT_URL_KMS', ['http:', 'https:']),
    proxyVars,
    httpProxy: proxyVars.http,
    httpsProxy: proxyVars.https,
    noProxy: proxyVars.no,
    accessKeyIdMasked: keyId === undefined ? undefined : maskKeyId(keyId),
    hasSecretAccessKey: r.raw('AWS_SECRET_ACCESS_KEY') !== undefined,
    profile: r.raw('AWS_PROFILE'),
    containerRelativeUri: r.raw('AWS_CONTAINER_CREDENTIALS_RELATIVE_URI'),
    containerFullUri: r.raw('AWS_CONTAINER_CREDENTIALS_FULL_URI'),
    containerAuthTokenSet: r.raw('AWS_CONTAINER_AUTHORIZATION_TOKEN') !== undefined,
    containerAuthTokenFile: r.raw('AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE'),
    webIdentityTokenFile: r.raw('AWS_WEB_IDENTITY_TOKEN_FILE'),
    roleArn: r.raw('AWS_ROLE_ARN'),
  };
}

/** Parses the whole environment once; every problem is collected, none thrown. */
export function parseConfig(env: Env, hostname: string = osHostname()): ParseResult {
  const r = new Reader(env);
  const port = r.number('S3_HEALTH_PORT', VARIABLES.S3_HEALTH_PORT.default, {
    integer: true,
    min: 1,
    max: 65535,
  });
  const host = r.raw('S3_HEALTH_HOST') ?? VARIABLES.S3_HEALTH_HOST.default;
  if (isIP(host) === 0 && !/^(?=.{1,253}$)[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*$/.test(host)) {
    r.problem(
      'S3_HEALTH_HOST',
      'not an IP address or host name',
      'an address such as 0.0.0.0 or ::, or a host name',
    );
  }
  const checks = parseChecks(r);
  const intervalSeconds = r.number(
    'S3_HEALTH_INTERVAL_SECONDS',
    VARIABLES.S3_HEALTH_INTERVAL_SECONDS.default,
    {
      min: 0.1,
      max: 86400,
      unit: 'seconds',
    },
  );
  const timeoutSeconds = r.number(
    'S3_HEALTH_TIMEOUT_SECONDS',
    VARIABLES.S3_HEALTH_TIMEOUT_SECONDS.default,
    {
      min: 0.05,
      max: 300,
      unit: 'seconds',
    },
  );
  r.atMost(
    'S3_HEALTH_TIMEOUT_SECONDS',
    timeoutSeconds,
    'S3_HEALTH_INTERVAL_SECONDS',
    intervalSeconds,
    {
      problem: 'longer than',
      allowed: 'a timeout no longer than the interval, so cycles never overlap',
    },
  );
  const failureThreshold = r.number(
    'S3_HEALTH_FAILURE_THRESHOLD',
    VARIABLES.S3_HEALTH_FAILURE_THRESHOLD.default,
    {
      integer: true,
      min: 1,
      max: 100,
    },
  );
  const successThreshold = r.number(
    'S3_HEALTH_SUCCESS_THRESHOLD',
    VARIABLES.S3_HEALTH_SUCCESS_THRESHOLD.default,
    {
      integer: true,
      min: 1,
      max: 100,
    },
  );

  const storage = parseStorageUri(r);
  const bucket = r.raw('S3_HEALTH_BUCKET') ?? storage.bucket;
  const bucketVar = r.raw('S3_HEALTH_BUCKET') ? 'S3_HEALTH_BUCKET' : 'KB_STORAGE_URI';
  if (bucket !== undefined && !BUCKET_RE.test(bucket)) {
    r.problem(bucketVar, `"${bucket}" is not a valid bucket name`, '3-63 of a-z 0-9 . -');
  }
  if (bucket === undefined && checks.includes('s3')) {
    r.problem(
      'S3_HEALTH_BUCKET',
      'no bucket to probe (neither S3_HEALTH_BUCKET nor an s3:// KB_STORAGE_URI is set)',
      'a bucket name, or remove s3 from S3_HEALTH_CHECKS',
    );
  }
  const prefix = r.raw('S3_HEALTH_PREFIX') ?? VARIABLES.S3_HEALTH_PREFIX.default;
  if (!PREFIX_RE.test(prefix) || prefix.startsWith('/') || prefix.includes('//')) {
    r.problem(
      'S3_HEALTH_PREFIX',
      'not a usable key prefix',
      "a relative key prefix ending in '/', of A-Z a-z 0-9 ! _ . * ' ( ) - /",
    );
  }
  if (!/^[A-Za-z0-9.-]{1,253}$/.test(hostname)) {
    r.problem('HOSTNAME', `hostname "${hostname}" cannot be part of a key`, 'A-Z a-z 0-9 . -');
  }

  const sse = r.oneOf('S3_HEALTH_SSE', ['AES256', 'aws:kms'] as const);
  const kmsKeyId = r.raw('S3_HEALTH_KMS_KEY_ID');
  if (kmsKeyId !== undefined && sse !== 'aws:kms') {
    r.problem(
      'S3_HEALTH_KMS_KEY_ID',
      'set without S3_HEALTH_SSE=aws:kms',
      'set S3_HEALTH_SSE=aws:kms too, or unset the key',
    );
  }
  const forcePathStyle = r.bool(
    'S3_HEALTH_S3_FORCE_PATH_STYLE',
    VARIABLES.S3_HEALTH_S3_FORCE_PATH_STYLE.default,
  );
  const expectedAccount = r.raw('S3_HEALTH_EXPECTED_ACCOUNT');
  if (expectedAccount !== undefined && !ACCOUNT_RE.test(expectedAccount)) {
    r.problem('S3_HEALTH_EXPECTED_ACCOUNT', 'not an account id', '12 digits');
  }
  const expectedRole = r.raw('S3_HEALTH_EXPECTED_ROLE');
  if (expectedRole !== undefined && !ROLE_RE.test(expectedRole)) {
    r.problem('S3_HEALTH_EXPECTED_ROLE', 'not a role name or ARN', 'a role name or role ARN');
  }
  const credentialsWarnSeconds = r.number(
    'S3_HEALTH_CREDENTIALS_WARN_SECONDS',
    VARIABLES.S3_HEALTH_CREDENTIALS_WARN_SECONDS.default,
    {
      integer: true,
      min: 0,
      max: 43200,
      unit: 'seconds',
    },
  );
  const credentialsFailSeconds = r.number(
    'S3_HEALTH_CREDENTIALS_FAIL_SECONDS',
    VARIABLES.S3_HEALTH_CREDENTIALS_FAIL_SECONDS.default,
    {
      integer: true,
      min: 0,
      max: 43200,
      unit: 'seconds',
    },
  );
  r.atMost(
    'S3_HEALTH_CREDENTIALS_FAIL_SECONDS',
    credentialsFailSeconds,
    'S3_HEALTH_CREDENTIALS_WARN_SECONDS',
    credentialsWarnSeconds,
    { problem: 'greater than', allowed: 'a fail threshold no greater than the warn threshold' },
  );
  const diagnoseToken = r.raw('S3_HEALTH_DIAGNOSE_TOKEN');
  if (diagnoseToken !== undefined && !TOKEN_RE.test(diagnoseToken)) {
    r.problem(
      'S3_HEALTH_DIAGNOSE_TOKEN',
      'too short, too long or not printable',
      '16-256 printable ASCII characters without spaces',
    );
  }
  const historyCycles = r.number(
    'S3_HEALTH_HISTORY_CYCLES',
    VARIABLES.S3_HEALTH_HISTORY_CYCLES.default,
    { integer: true, min: 1, max: MAX_HISTORY_CYCLES, unit: 'cycles' },
  );
  const diagnoseMinIntervalSeconds = r.number(
    'S3_HEALTH_DIAGNOSE_MIN_INTERVAL_SECONDS',
    VARIABLES.S3_HEALTH_DIAGNOSE_MIN_INTERVAL_SECONDS.default,
    // At least a second: below that the spacing would not bound what callers cost S3.
    { min: 1, max: 3600, unit: 'seconds' },
  );
  const metricsHistograms = r.bool(
    'S3_HEALTH_METRICS_HISTOGRAMS',
    VARIABLES.S3_HEALTH_METRICS_HISTOGRAMS.default,
  );
  const logLevel: LogLevel =
    r.oneOf('S3_HEALTH_LOG_LEVEL', LOG_LEVELS) ?? VARIABLES.S3_HEALTH_LOG_LEVEL.default;

  const known = new Set<string>(VARIABLE_NAMES);
  // A typo in an S3_HEALTH_ name would otherwise silently fall back to a default.
  for (const name of Object.keys(env)) {
    if (name.startsWith('S3_HEALTH_') && !known.has(name)) {
      r.problem(name, 'unknown variable', [...known].join(', '));
    }
  }

  const aws = parseAws(r, env);
  if (r.problems.length > 0) return { ok: false, problems: r.problems };
  return {
    ok: true,
    config: {
      port,
      host,
      checks,
      intervalSeconds,
      timeoutSeconds,
      intervalMs: Math.round(intervalSeconds * 1000),
      timeoutMs: Math.round(timeoutSeconds * 1000),
      failureThreshold,
      successThreshold,
      bucket,
      prefix,
      hostname,
      storageUri: r.raw('KB_STORAGE_URI'),
      sse,
      kmsKeyId,
      forcePathStyle,
      expectedAccount,
      expectedRole,
      credentialsWarnSeconds,
      credentialsFailSeconds,
      diagnoseToken,
      historyCycles,
      diagnoseMinIntervalSeconds,
      metricsHistograms,
      logLevel,
      aws,
    },
  };
}

/** One message listing every problem: name, value, what is wrong, what is allowed. */
export function formatProblems(problems: readonly ConfigProblem[]): string {
  const lines = problems.map((p) => {
    // A mistyped secret's name is still a secret's value.
    const hidden = p.problem === 'unknown variable' || /TOKEN|SECRET|PASSWORD|KEY/.test(p.variable);
    const shown =
      p.value === undefined
        ? '(unset)'
        : hidden
          ? '(hidden)'
          : JSON.stringify(p.value.length > 80 ? `${p.value.slice(0, 77)}...` : p.value);
    return `  - ${p.variable}=${shown}: ${p.problem}; allowed: ${p.allowed}`;
  });
  return `s3-health: invalid configuration (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n${lines.join('\n')}`;
}

/** Exit code for bad configuration (sysexits EX_CONFIG). */
export const EXIT_CONFIG = 78;
