import type { CheckName } from './check.ts';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** The AWS variables as the SDK reads them; parsed once so nothing else touches process.env. */
export interface AwsEnv {
  region?: string;
  defaultRegion?: string;
  /** SDK semantics: IMDS is off when the variable is set to anything but "false". */
  imdsDisabled: boolean;
  imdsDisabledRaw?: string;
  imdsEndpoint?: string;
  imdsEndpointMode?: 'IPv4' | 'IPv6';
  imdsV1Disabled: boolean;
  endpointUrl?: string;
  endpointUrlS3?: string;
  endpointUrlSts?: string;
  /** Where kms:DescribeKey goes to verify an alias (AWS_ENDPOINT_URL_KMS). */
  endpointUrlKms?: string;
  /** The `<scheme>_proxy` variables as urllib reads them (aws/proxy-env.ts): the app SDK's proxies. */
  proxyVars: ProxyVars;
  httpProxy?: string;
  httpsProxy?: string;
  noProxy?: string;
  /** Masked (ASIA…WXYZ); the raw id is never kept. */
  accessKeyIdMasked?: string;
  hasSecretAccessKey: boolean;
  profile?: string;
  containerRelativeUri?: string;
  containerFullUri?: string;
  containerAuthTokenSet: boolean;
  containerAuthTokenFile?: string;
  webIdentityTokenFile?: string;
  roleArn?: string;
}

export interface Config {
  port: number;
  host: string;
  /** Enabled checks in chain order; `environment` is always first. */
  checks: CheckName[];
  /** As configured (S3_HEALTH_INTERVAL_SECONDS), for reports; code reads intervalMs. */
  intervalSeconds: number;
  /** As configured (S3_HEALTH_TIMEOUT_SECONDS), for reports; code reads timeoutMs. */
  timeoutSeconds: number;
  /** The interval in whole milliseconds: the one conversion from seconds. */
  intervalMs: number;
  /** One check's deadline in whole milliseconds; derived bounds are in config/bounds.ts. */
  timeoutMs: number;
  failureThreshold: number;
  successThreshold: number;
  bucket?: string;
  /**
   * Ends with '/'. The sidecar writes and deletes only below
   * `prefix + <instance-id>/<hostname>/` (`prefix + <hostname>/` without an
   * instance id), decided at the first PUT: see ownPrefixFor.
   */
  prefix: string;
  hostname: string;
  storageUri?: string;
  sse?: 'AES256' | 'aws:kms';
  kmsKeyId?: string;
  forcePathStyle: boolean;
  expectedAccount?: string;
  expectedRole?: string;
  credentialsWarnSeconds: number;
  credentialsFailSeconds: number;
  diagnoseToken?: string;
  /** Cycles of verdicts kept per check in memory (status page, /diagnose recent changes). */
  historyCycles: number;
  /** Live /diagnose runs start at least this far apart (S3_HEALTH_DIAGNOSE_MIN_INTERVAL_SECONDS). */
  diagnoseMinIntervalSeconds: number;
  /** Also export duration histograms (SPEC §5: opt-in, they multiply the series). */
  metricsHistograms: boolean;
  logLevel: LogLevel;
  aws: AwsEnv;
}

export interface ConfigProblem {
  variable: string;
  value: string | undefined;
  problem: string;
  allowed: string;
}

/** `<scheme>_proxy` values by scheme (`http`, `https`, `no`, …), as urllib returns them. */
export type ProxyVars = Readonly<Record<string, string>>;
