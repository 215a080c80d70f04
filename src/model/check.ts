import type { Reason } from './reasons.ts';

export const CHECK_NAMES = ['environment', 'imds', 'credentials', 's3'] as const;
export type CheckName = (typeof CHECK_NAMES)[number];

/**
 * Every step of every check, in the order a check runs them. Metric labels,
 * reports and remediation rows key on these strings; a check's steps come
 * from this list so a new step cannot miss its series.
 */
export const STEP_NAMES = {
  environment: [
    'credentials-env',
    'region',
    'proxy',
    'imds-switch',
    'container-credentials',
    'web-identity',
  ],
  imds: ['applicability', 'token', 'identity', 'role'],
  credentials: ['resolve', 'identity', 'expiry'],
  s3: ['put', 'head', 'get', 'delete'],
} as const satisfies Record<CheckName, readonly string[]>;

export type StepName<C extends CheckName = CheckName> = (typeof STEP_NAMES)[C][number];

export type Status = 'pass' | 'warn' | 'fail';

/** Scalar observations only: they end up in JSON, text reports and logs. */
export type Observed = Record<string, string | number | boolean | null>;

/** Which client's error vocabulary a step speaks, for classification. */
export type Service = 'imds' | 'sts' | 's3' | 'credentials';

/** An error reduced to what on-call and AWS support need; never a secret. */
export interface ClassifiedError {
  reason: Reason;
  message: string;
  /** AWS error name or Node `err.code` as raised. */
  code?: string;
  httpStatus?: number;
  requestId?: string;
  extendedRequestId?: string;
  /** When the failing call was answered (AWS support asks for it). */
  time?: string;
  /** What the failure learned beyond its message, for the report and the remediation. */
  detail?: ErrorDetail;
  /**
   * What AWS named only in the message text (the denied action, the key, the
   * region it expected). Read from the message once, by `aws/errors.ts`;
   * nothing else parses messages.
   */
  named?: NamedInMessage;
}

/** The check's own deadline fired, as opposed to a client's timeout. */
interface DeadlineDetail {
  deadlineMs?: number;
}

/** S3 and KMS: the action AWS refused, the region the bucket lives in, the key the store did not know. */
interface S3Detail {
  kmsAction?: string;
  bucketRegion?: string;
  kmsKeyId?: string;
  /** s3_version_left: why S3 kept the version (Object Lock retention, or the delete was denied). */
  versionCause?: 'retention' | 'denied';
  versionId?: string;
  key?: string;
}

/** credentials_wrong_account / credentials_wrong_role / credentials_extended. */
interface IdentityDetail {
  account?: string;
  arn?: string;
  expected?: string;
  /** When credentials the SDK extended had expired (ISO 8601). */
  originalExpiration?: string;
}

/** IMDS: the Code of a document that was not Success, and the cost of the IMDSv1 fallback. */
interface ImdsDetail {
  code?: string;
  fallbackPenaltyMs?: number;
}

/** A token file the SDK would refuse (env_token_file_invalid). */
interface TokenFileDetail {
  variable?: string;
  tokenFile?: string;
  problem?: string;
}

/** The claims of a service-account token (JWT), unverified: for naming the caller, never for trust. */
export interface TokenClaims {
  issuer?: string;
  /** `system:serviceaccount:NAMESPACE:NAME` */
  subject?: string;
  namespace?: string;
  serviceAccount?: string;
  audience?: string;
  /** ISO 8601 */
  expiresAt?: string;
}

/** Platform credential sources (ECS, EKS Pod Identity, IRSA): the endpoint's answer and the token's claims. */
export interface PlatformDetail extends TokenClaims {
  url?: string;
  platform?: string;
  roleArn?: string;
  httpStatus?: number;
  agentCode?: string;
}

/** proxy_*: which proxy (credentials masked), what the CONNECT asked for, what it answered. */
interface ProxyDetail {
  proxy?: string;
  proxyTarget?: string;
  proxyStatus?: number;
}

/** Every field a failure may carry, grouped above by the reasons that set them. */
export type ErrorDetail = DeadlineDetail &
  S3Detail &
  IdentityDetail &
  ImdsDetail &
  TokenFileDetail &
  PlatformDetail &
  ProxyDetail;

/** Values AWS puts only in an error's message text; see `ClassifiedError.named`. */
export interface NamedInMessage {
  s3Action?: string;
  kmsAction?: string;
  kmsKeyArn?: string;
  /** The region a wrong-region answer expects (the bucket's). */
  bucketRegion?: string;
  /** The region a wrong-region answer says was wrong (the request's). */
  requestRegion?: string;
  /** Host and port a Node network error names. */
  target?: string;
  /** Which kind of policy holds an explicit deny. */
  explicitDenyIn?: string;
}

export interface StepResult {
  name: StepName;
  status: Status | 'skipped';
  durationMs: number;
  observed: Observed;
  error?: ClassifiedError;
}

export interface CheckResult {
  check: CheckName;
  status: Status;
  /** Reason of the first warning or failure; absent on pass. */
  reason?: Reason;
  output?: string;
  blockedBy?: CheckName;
  steps: StepResult[];
  startedAt: string;
  durationMs: number;
}

/**
 * What the checks learned about the world, shared down the chain and used to
 * fill the remediation text. Only identifiers, never secrets.
 */
export interface Facts {
  instanceId?: string;
  /** Where the instance id came from: IMDS, or the DMI asset tag when IMDS could not answer. */
  instanceIdSource?: 'imds' | 'dmi-board-asset-tag';
  region?: string;
  availabilityZone?: string;
  roleName?: string;
  instanceProfileArn?: string;
  accountId?: string;
  callerArn?: string;
  credentialSource?: string;
  accessKeyId?: string;
  credentialsExpiration?: string;
  bucket?: string;
  prefix?: string;
  kmsKeyId?: string;
  bucketRegion?: string;
  imdsMode?: 'v2' | 'v1-fallback' | 'unreachable';
  clockOffsetSeconds?: number;
}

/** Thrown by a step for a failure that is not an exception of a client (mismatch, policy). */
export class CheckFailure extends Error {
  readonly reason: Reason;
  readonly detail: ErrorDetail | undefined;
  /** The client error behind a reclassification: its status and request ids are kept. */
  readonly original: unknown;
  constructor(reason: Reason, message: string, detail?: ErrorDetail, original?: unknown) {
    super(message);
    this.original = original;
    this.name = 'CheckFailure';
    this.reason = reason;
    this.detail = detail;
  }
}
