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
  /** Extra detail for remediation, e.g. the KMS action named in a message or the bucket's region. */
  detail?: Record<string, string>;
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
  /** The single number shown as health+json `observedValue`. */
  observedValue?: number;
  observedUnit?: string;
}

/**
 * What the checks learned about the world, shared down the chain and used to
 * fill the remediation text. Only identifiers, never secrets.
 */
export interface Facts {
  instanceId?: string;
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
  readonly detail: Record<string, string> | undefined;
  /** The client error behind a reclassification: its status and request ids are kept. */
  readonly original: unknown;
  constructor(
    reason: Reason,
    message: string,
    detail?: Record<string, string>,
    original?: unknown,
  ) {
    super(message);
    this.original = original;
    this.name = 'CheckFailure';
    this.reason = reason;
    this.detail = detail;
  }
}
