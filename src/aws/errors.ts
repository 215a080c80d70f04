import type { ClassifiedError, ErrorDetail, NamedInMessage, Service } from '../model/check.ts';
import type { Reason } from '../model/reasons.ts';
import { ImdsError } from './imds-client.ts';
import { ProxyError } from './proxy-agent.ts';

/** What an SDK or Node error carries, read once from an unknown value. */
export interface ErrorShape {
  name: string;
  message: string;
  code?: string;
  httpStatus?: number;
  requestId?: string;
  extendedRequestId?: string;
  headers: Record<string, string>;
}

/** String(err) throws for objects without a usable toString (null prototype, hostile). */
function describe(v: unknown): string {
  try {
    return String(v);
  } catch {
    return Object.prototype.toString.call(v);
  }
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

function record(v: unknown): Record<string, unknown> | undefined {
  return typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : undefined;
}

export function errorShape(err: unknown): ErrorShape {
  const e = record(err) ?? {};
  const meta = record(e.$metadata) ?? {};
  const response = record(e.$response);
  const rawHeaders = record(response?.headers) ?? {};
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(rawHeaders)) if (typeof v === 'string') headers[k] = v;
  const status = meta.httpStatusCode ?? response?.statusCode ?? e.statusCode;
  // Network failures inside the SDK keep Node's code on the error or on its cause.
  const cause = record(e.cause);
  return {
    name: str(e.name) ?? 'Error',
    message: str(e.message) ?? describe(err),
    code: str(e.code) ?? str(e.Code) ?? str(cause?.code),
    httpStatus: typeof status === 'number' ? status : undefined,
    requestId: str(meta.requestId) ?? headers['x-amz-request-id'] ?? headers['x-amzn-requestid'],
    extendedRequestId: str(meta.extendedRequestId) ?? headers['x-amz-id-2'],
    headers,
  };
}

const NETWORK: Record<string, Reason> = {
  ENOTFOUND: 'dns_failure',
  EAI_AGAIN: 'dns_failure',
  ECONNREFUSED: 'connection_refused',
  ECONNRESET: 'connection_reset',
  EPIPE: 'connection_reset',
  EHOSTUNREACH: 'network_unreachable',
  ENETUNREACH: 'network_unreachable',
  EADDRNOTAVAIL: 'network_unreachable',
  ETIMEDOUT: 'timeout',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'tls_untrusted',
  UNABLE_TO_GET_ISSUER_CERT: 'tls_untrusted',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'tls_untrusted',
  SELF_SIGNED_CERT_IN_CHAIN: 'tls_untrusted',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'tls_untrusted',
  CERT_HAS_EXPIRED: 'tls_cert_invalid',
  CERT_NOT_YET_VALID: 'tls_cert_invalid',
  ERR_TLS_CERT_ALTNAME_INVALID: 'tls_hostname_mismatch',
  HOSTNAME_MISMATCH: 'tls_hostname_mismatch',
};

// AWS error codes shared by S3 and STS, keyed by `err.name` (never the message:
// S3-compatible stores and HEAD responses send none).
const BY_NAME: Record<string, Reason> = {
  RequestTimeTooSkewed: 'clock_skew',
  RequestExpired: 'clock_skew',
  RequestInTheFuture: 'clock_skew',
  SignatureDoesNotMatch: 'signature_mismatch',
  InvalidAccessKeyId: 'invalid_access_key',
  InvalidClientTokenId: 'invalid_access_key',
  UnrecognizedClientException: 'invalid_access_key',
  ExpiredToken: 'expired_token',
  ExpiredTokenException: 'expired_token',
  TokenRefreshRequired: 'expired_token',
  InvalidToken: 'credentials_invalid',
  NoSuchBucket: 's3_no_such_bucket',
  PermanentRedirect: 's3_wrong_region',
  AuthorizationHeaderMalformed: 's3_wrong_region',
  IllegalLocationConstraintException: 's3_wrong_region',
  'KMS.NotFoundException': 'kms_key_not_found',
  'KMS.DisabledException': 'kms_key_disabled',
  'KMS.KMSInvalidStateException': 'kms_key_pending_deletion',
  KMSInvalidStateException: 'kms_key_pending_deletion',
  SlowDown: 's3_throttled',
  Throttling: 's3_throttled',
  ThrottlingException: 's3_throttled',
  InternalError: 's3_server_error',
  ServiceUnavailable: 's3_server_error',
  NotImplemented: 's3_checksum_unsupported',
  XAmzContentSHA256Mismatch: 's3_checksum_unsupported',
  MissingContentLength: 's3_checksum_unsupported',
  MissingContentMD5: 's3_checksum_unsupported',
  NoSuchKey: 's3_object_missing',
  NotFound: 's3_object_missing',
  CredentialsProviderError: 'credentials_not_found',
  InstanceMetadataV1FallbackError: 'imds_token_rejected',
};

// AWS names some things only in the message text: the action it denied, the
// KMS key, the region a wrong-region answer expects, the kind of policy that
// holds an explicit deny; Node names the host and port of a failed connection.
// This is the one place that reads them; everything downstream uses `named`.
const KMS_KEY_ARN = /arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[A-Za-z0-9-]+/;
const NETWORK_TARGET =
  /\b(?:ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH)\s+([^\s,;)]+)/;

/** What an error's message names that its name, status and headers do not. */
export function namedInMessage(message: string): NamedInMessage {
  const found: NamedInMessage = {
    s3Action: /not authorized to perform:?\s+(s3:[A-Za-z]+)/.exec(message)?.[1],
    kmsAction: /kms:[A-Za-z*]+/.exec(message)?.[0],
    kmsKeyArn: KMS_KEY_ARN.exec(message)?.[0],
    bucketRegion: /expecting '([a-z0-9-]+)'/.exec(message)?.[1],
    requestRegion: /region '([a-z0-9-]+)' is wrong/.exec(message)?.[1],
    target: NETWORK_TARGET.exec(message)?.[1],
    explicitDenyIn: /explicit deny in (?:an? )?([A-Za-z -]+?(?:policy|boundary))/.exec(
      message,
    )?.[1],
  };
  return Object.fromEntries(
    Object.entries(found).filter(([, v]) => v !== undefined),
  ) as NamedInMessage;
}

function byStatus(service: Service, status: number): Reason | undefined {
  if (status === 301) return 's3_wrong_region';
  if (status === 403) return service === 's3' ? 's3_access_denied' : 'sts_error';
  if (status === 404) return service === 's3' ? 's3_object_missing' : undefined;
  if (status === 429 || status === 503) return service === 's3' ? 's3_throttled' : 'sts_error';
  if (status >= 500) return service === 's3' ? 's3_server_error' : 'sts_error';
  return undefined;
}

function classifyImds(err: ImdsError): Reason {
  switch (err.kind) {
    case 'timeout':
    case 'aborted':
      return 'imds_timeout';
    case 'connect':
      return 'imds_unreachable';
    case 'reset':
      return 'imds_unreachable';
    case 'too-large':
    case 'malformed':
      return 'imds_bad_response';
    case 'http':
      if (err.status === 401) return 'imds_unauthorized';
      if (err.status === 403) return 'imds_disabled';
      if (err.status === 404) return 'imds_no_role';
      if (err.status === 429) return 'imds_throttled';
      return 'imds_bad_response';
  }
}

/** Reduces any error to a fixed reason plus the raw facts, once, for every report. */
export function classify(err: unknown, service: Service): ClassifiedError {
  if (err instanceof ImdsError) {
    return {
      reason: classifyImds(err),
      message: err.message,
      code: err.code ?? (err.status === undefined ? err.kind : undefined),
      httpStatus: err.status,
      time: new Date().toISOString(),
    };
  }
  if (err instanceof ProxyError) {
    return {
      reason: `proxy_${err.failure}`,
      message: err.message,
      code: err.code,
      ...(err.status === undefined ? {} : { httpStatus: err.status }),
      time: new Date().toISOString(),
      detail: {
        proxy: err.proxy,
        proxyTarget: err.target,
        ...(err.status === undefined ? {} : { proxyStatus: err.status }),
      },
    };
  }
  const s = errorShape(err);
  const detail: ErrorDetail = {};
  const named = namedInMessage(s.message);
  let reason: Reason | undefined;
  if (s.code !== undefined && Object.hasOwn(NETWORK, s.code)) reason = NETWORK[s.code];
  if (reason === undefined && (s.name === 'AbortError' || s.name === 'TimeoutError'))
    reason = 'timeout';
  if (reason === undefined && Object.hasOwn(BY_NAME, s.name)) reason = BY_NAME[s.name];
  const skewCorrected = record(record(err)?.$metadata)?.clockSkewCorrected === true;
  if (reason === 'signature_mismatch' && (skewCorrected || /^Signature expired/.test(s.message)))
    reason = 'clock_skew';
  if (s.name === 'AccessDenied' || s.name === 'AccessDeniedException') {
    const action = named.kmsAction;
    if (action) detail.kmsAction = action;
    reason = action || /\bKMS\b/i.test(s.message) ? 'kms_access_denied' : 's3_access_denied';
    if (service === 'sts') reason = 'sts_error';
  }
  if (reason === undefined && s.httpStatus !== undefined) reason = byStatus(service, s.httpStatus);
  if (reason === 's3_wrong_region') {
    const region = s.headers['x-amz-bucket-region'] ?? named.bucketRegion;
    if (region) detail.bucketRegion = region;
  }
  if (reason === undefined) reason = service === 'sts' ? 'sts_error' : 'unknown';
  const answered = s.headers.date === undefined ? Number.NaN : Date.parse(s.headers.date);
  return {
    reason,
    // S3-compatible stores (and every HEAD) send no message; the SDK then says
    // "UnknownError", which tells on-call nothing.
    message: (s.message === 'UnknownError'
      ? `${s.name}${s.httpStatus ? ` (HTTP ${s.httpStatus})` : ''}, no message from the server`
      : s.message
    ).slice(0, 500),
    code: s.code ?? s.name,
    httpStatus: s.httpStatus,
    requestId: s.requestId,
    extendedRequestId: s.extendedRequestId,
    time: new Date(Number.isNaN(answered) ? Date.now() : answered).toISOString(),
    ...(Object.keys(detail).length > 0 ? { detail } : {}),
    ...(Object.keys(named).length > 0 ? { named } : {}),
  };
}
