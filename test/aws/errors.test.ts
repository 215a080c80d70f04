// classify() on error values shaped like the ones the SDK and Node raise
// (reference/aws-behaviour.md, "The SDK error shape" and the S3 error table).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { classify, errorShape, namedInMessage } from '../../src/aws/errors.ts';
import { ImdsError } from '../../src/aws/imds-client.ts';
import type { Service } from '../../src/model/check.ts';
import { isReason } from '../../src/model/reasons.ts';

const DATE = 'Thu, 20 Aug 2026 10:00:00 GMT';
const CALLER = 'arn:aws:sts::123456789012:assumed-role/kdcube-app-role/i-0123456789abcdef0';
const KEY_ARN = 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';

/** An S3/STS service exception as the SDK v3 builds it. */
function sdkError(
  name: string,
  message: string,
  status: number,
  headers: Record<string, string> = {},
): Error {
  return Object.assign(new Error(message), {
    name,
    $fault: status >= 500 ? 'server' : 'client',
    $metadata: {
      httpStatusCode: status,
      requestId: 'W3B5Q9QX7V2K1M8N',
      extendedRequestId: 'Zc6wZ0B2d3vY1uT8x9kM4pQ7rS2tU5vW8xY1zA4bC7dE0fG3hI6jK9lM2nO5pQ8=',
      attempts: 1,
      totalRetryDelay: 0,
    },
    $response: { statusCode: status, headers: { date: DATE, ...headers } },
    Code: /^\d+$/.test(name) ? undefined : name,
  });
}

function nodeError(code: string, message = code): Error {
  return Object.assign(new Error(message), { code });
}

describe('S3 service errors', () => {
  it('AccessDenied -> s3_access_denied, with request ids, status and the answer time', () => {
    const e = classify(sdkError('AccessDenied', 'Access Denied', 403), 's3');
    expect(e).toEqual({
      reason: 's3_access_denied',
      message: 'Access Denied',
      code: 'AccessDenied',
      httpStatus: 403,
      requestId: 'W3B5Q9QX7V2K1M8N',
      extendedRequestId: 'Zc6wZ0B2d3vY1uT8x9kM4pQ7rS2tU5vW8xY1zA4bC7dE0fG3hI6jK9lM2nO5pQ8=',
      time: '2026-08-20T10:00:00.000Z',
    });
  });

  it.each([
    ['kms:GenerateDataKey', 'PUT'],
    ['kms:Decrypt', 'GET'],
  ])('AccessDenied naming %s (%s) -> kms_access_denied with detail.kmsAction', (action) => {
    const message = `User: ${CALLER} is not authorized to perform: ${action} on resource: ${KEY_ARN} because no identity-based policy allows the ${action} action`;
    const e = classify(sdkError('AccessDenied', message, 403), 's3');
    expect(e.reason).toBe('kms_access_denied');
    expect(e.detail).toEqual({ kmsAction: action });
  });

  it('reads what only the message names once, into `named`', () => {
    const message = `User: ${CALLER} is not authorized to perform: s3:PutObject on resource: "arn:aws:s3:::b/k" with an explicit deny in an identity-based policy`;
    const e = classify(sdkError('AccessDenied', message, 403), 's3');
    expect(e.reason).toBe('s3_access_denied');
    expect(e.named).toEqual({ s3Action: 's3:PutObject', explicitDenyIn: 'identity-based policy' });
    expect(namedInMessage('connect ECONNREFUSED 127.0.0.1:1338')).toEqual({
      target: '127.0.0.1:1338',
    });
  });

  it('AccessDenied for STS is an sts_error', () => {
    expect(classify(sdkError('AccessDenied', 'not authorized', 403), 'sts').reason).toBe(
      'sts_error',
    );
  });

  it('PermanentRedirect -> s3_wrong_region with the region from x-amz-bucket-region', () => {
    const e = classify(
      sdkError(
        'PermanentRedirect',
        'The bucket you are attempting to access must be addressed using the specified endpoint.',
        301,
        { 'x-amz-bucket-region': 'eu-west-1' },
      ),
      's3',
    );
    expect(e).toMatchObject({
      reason: 's3_wrong_region',
      httpStatus: 301,
      detail: { bucketRegion: 'eu-west-1' },
    });
  });

  it('AuthorizationHeaderMalformed -> s3_wrong_region with the region it expects', () => {
    const e = classify(
      sdkError(
        'AuthorizationHeaderMalformed',
        "The authorization header is malformed; the region 'us-east-1' is wrong; expecting 'eu-west-1'",
        400,
      ),
      's3',
    );
    expect(e).toMatchObject({ reason: 's3_wrong_region', detail: { bucketRegion: 'eu-west-1' } });
  });

  // A 301 without a body (HEAD, or a store that sends no XML) arrives as
  // name "301": the region still comes from x-amz-bucket-region.
  it('a bodyless 301 keeps the region from x-amz-bucket-region', () => {
    const e = classify(
      sdkError('301', 'UnknownError', 301, { 'x-amz-bucket-region': 'eu-west-1' }),
      's3',
    );
    expect(e).toMatchObject({ reason: 's3_wrong_region', detail: { bucketRegion: 'eu-west-1' } });
  });

  it('HEAD 403 surfaces as name "403", message UnknownError -> s3_access_denied by status', () => {
    const e = classify(sdkError('403', 'UnknownError', 403), 's3');
    expect(e).toMatchObject({ reason: 's3_access_denied', httpStatus: 403, code: '403' });
  });

  it('HEAD 404 -> s3_object_missing', () => {
    expect(classify(sdkError('NotFound', 'UnknownError', 404), 's3').reason).toBe(
      's3_object_missing',
    );
    expect(classify(sdkError('404', 'UnknownError', 404), 's3').reason).toBe('s3_object_missing');
  });

  it.each([
    ['RequestTimeTooSkewed', 403, 'clock_skew'],
    ['RequestExpired', 400, 'clock_skew'],
    ['SignatureDoesNotMatch', 403, 'signature_mismatch'],
    ['InvalidAccessKeyId', 403, 'invalid_access_key'],
    ['ExpiredToken', 400, 'expired_token'],
    ['NoSuchBucket', 404, 's3_no_such_bucket'],
    ['NoSuchKey', 404, 's3_object_missing'],
    ['SlowDown', 503, 's3_throttled'],
    ['InternalError', 500, 's3_server_error'],
    ['NotImplemented', 501, 's3_checksum_unsupported'],
    ['XAmzContentSHA256Mismatch', 400, 's3_checksum_unsupported'],
    ['KMS.NotFoundException', 400, 'kms_key_not_found'],
    ['KMS.DisabledException', 400, 'kms_key_disabled'],
    ['KMS.KMSInvalidStateException', 400, 'kms_key_pending_deletion'],
  ] as const)('%s (%i) -> %s', (name, status, reason) => {
    expect(classify(sdkError(name, `${name} message`, status), 's3').reason).toBe(reason);
  });

  it('NotImplemented 501 from an S3-compatible store keeps its message', () => {
    const msg = "Header 'x-amz-checksum-crc32' with value (***) not implemented";
    const e = classify(sdkError('NotImplemented', msg, 501), 's3');
    expect(e).toMatchObject({ reason: 's3_checksum_unsupported', httpStatus: 501, message: msg });
  });

  it.each([
    [429, 's3', 's3_throttled'],
    [503, 's3', 's3_throttled'],
    [502, 's3', 's3_server_error'],
    [500, 'sts', 'sts_error'],
    [418, 's3', 'unknown'],
    [418, 'sts', 'sts_error'],
  ] as [number, Service, string][])(
    'unnamed status %i from %s -> %s',
    (status, service, reason) => {
      expect(classify(sdkError(String(status), 'UnknownError', status), service).reason).toBe(
        reason,
      );
    },
  );
});

describe('STS and credential errors', () => {
  it.each([
    ['InvalidClientTokenId', 'invalid_access_key'],
    ['ExpiredTokenException', 'expired_token'],
    ['SignatureDoesNotMatch', 'signature_mismatch'],
  ])('%s -> %s', (name, reason) => {
    expect(classify(sdkError(name, 'denied', 403), 'sts').reason).toBe(reason);
  });

  it('CredentialsProviderError -> credentials_not_found', () => {
    const err = Object.assign(new Error('Could not load credentials from any providers'), {
      name: 'CredentialsProviderError',
      tryNextLink: false,
    });
    expect(classify(err, 'credentials')).toMatchObject({
      reason: 'credentials_not_found',
      code: 'CredentialsProviderError',
      message: 'Could not load credentials from any providers',
    });
  });

  it('InstanceMetadataV1FallbackError -> imds_token_rejected', () => {
    const err = Object.assign(new Error('AWS SDK Attempted InstanceMetadata v1 fallback'), {
      name: 'InstanceMetadataV1FallbackError',
    });
    expect(classify(err, 'credentials').reason).toBe('imds_token_rejected');
  });
});

describe('Node network and TLS errors', () => {
  it.each([
    ['ECONNREFUSED', 'connection_refused'],
    ['ENOTFOUND', 'dns_failure'],
    ['EAI_AGAIN', 'dns_failure'],
    ['ECONNRESET', 'connection_reset'],
    ['EPIPE', 'connection_reset'],
    ['EHOSTUNREACH', 'network_unreachable'],
    ['ENETUNREACH', 'network_unreachable'],
    ['ETIMEDOUT', 'timeout'],
    ['UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'tls_untrusted'],
    ['SELF_SIGNED_CERT_IN_CHAIN', 'tls_untrusted'],
    ['CERT_HAS_EXPIRED', 'tls_cert_invalid'],
    ['ERR_TLS_CERT_ALTNAME_INVALID', 'tls_hostname_mismatch'],
  ])('%s -> %s', (code, reason) => {
    const e = classify(nodeError(code), 's3');
    expect(e).toMatchObject({ reason, code });
    expect(e.httpStatus).toBeUndefined();
  });

  it('reads the code from the cause when the SDK wraps the Node error', () => {
    const wrapped = Object.assign(new Error('fetch failed'), {
      cause: nodeError('UNABLE_TO_GET_ISSUER_CERT_LOCALLY'),
    });
    expect(classify(wrapped, 's3').reason).toBe('tls_untrusted');
  });

  it.each(['TimeoutError', 'AbortError'])('%s -> timeout', (name) => {
    const err = Object.assign(new Error('Request aborted'), { name });
    expect(classify(err, 's3').reason).toBe('timeout');
  });
});

describe('IMDS errors', () => {
  it.each([
    [new ImdsError('timeout', 'no answer'), 'imds_timeout', 'timeout'],
    [new ImdsError('aborted', 'aborted'), 'imds_timeout', 'aborted'],
    [
      new ImdsError('connect', 'refused', { code: 'ECONNREFUSED' }),
      'imds_unreachable',
      'ECONNREFUSED',
    ],
    [new ImdsError('reset', 'reset'), 'imds_unreachable', 'reset'],
    [new ImdsError('too-large', 'too big'), 'imds_bad_response', 'too-large'],
    [new ImdsError('http', '401', { status: 401 }), 'imds_unauthorized', undefined],
    [new ImdsError('http', '403', { status: 403 }), 'imds_disabled', undefined],
    [new ImdsError('http', '404', { status: 404 }), 'imds_no_role', undefined],
    [new ImdsError('http', '429', { status: 429 }), 'imds_throttled', undefined],
    [new ImdsError('http', '500', { status: 500 }), 'imds_bad_response', undefined],
  ] as const)('%s -> %s', (err, reason, code) => {
    const e = classify(err, 'imds');
    expect(e.reason).toBe(reason);
    expect(e.code).toBe(code);
    expect(e.httpStatus).toBe(err.status);
  });
});

describe('robustness', () => {
  it('takes request ids from headers when $metadata has none', () => {
    const err = Object.assign(new Error('x'), {
      name: 'InternalError',
      $metadata: { httpStatusCode: 500 },
      $response: { headers: { 'x-amz-request-id': 'HDRREQ', 'x-amz-id-2': 'HDREXT' } },
    });
    expect(classify(err, 's3')).toMatchObject({ requestId: 'HDRREQ', extendedRequestId: 'HDREXT' });
  });

  it('an invalid Date header does not throw; the time is now', () => {
    const before = Date.now();
    const e = classify(sdkError('SlowDown', 'slow', 503, { date: 'not a date' }), 's3');
    expect(Date.parse(e.time ?? '')).toBeGreaterThanOrEqual(before - 1000);
  });

  it('bounds the message', () => {
    expect(classify(new Error('m'.repeat(5000)), 's3').message).toHaveLength(500);
  });

  it.each([
    ['a string', 'boom'],
    ['undefined', undefined],
    ['null', null],
    ['a number', 42],
    ['an empty object', {}],
  ])('classifies %s without throwing', (_, value) => {
    const e = classify(value, 's3');
    expect(e.reason).toBe('unknown');
    expect(typeof e.message).toBe('string');
  });

  it('classifies a value String() cannot convert without throwing', () => {
    expect(classify(Object.create(null), 's3').reason).toBe('unknown');
    expect(classify({ toString: 0 }, 's3').reason).toBe('unknown');
  });

  it('never throws, and always answers a reason from the fixed set', () => {
    const anything = () => fc.anything({ withNullPrototype: true });
    const shaped = fc.record(
      {
        name: fc.oneof(
          fc.string(),
          fc.constantFrom('AccessDenied', 'PermanentRedirect', '403', 'constructor', '__proto__'),
        ),
        message: fc.oneof(fc.string(), fc.integer()),
        code: fc.oneof(
          fc.string(),
          fc.constantFrom('ECONNREFUSED', 'EPIPE', 'toString', 'hasOwnProperty'),
          fc.integer(),
        ),
        $metadata: fc.oneof(
          fc.record({ httpStatusCode: fc.oneof(fc.integer(), fc.string()) }, { requiredKeys: [] }),
          anything(),
        ),
        $response: fc.oneof(
          fc.record({ headers: fc.dictionary(fc.string(), fc.oneof(fc.string(), fc.integer())) }),
          anything(),
        ),
        cause: anything(),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(
        fc.oneof(shaped, anything()),
        fc.constantFrom<Service>('imds', 'sts', 's3', 'credentials'),
        (err, service) => {
          const e = classify(err, service);
          return isReason(e.reason) && !Number.isNaN(Date.parse(e.time ?? ''));
        },
      ),
      { numRuns: 2000 },
    );
  });

  // Names and codes come from the error: one that is an Object.prototype key
  // must not index an inherited member as the "reason".
  it('an error named like an Object.prototype key still gets a fixed reason', () => {
    for (const name of ['constructor', 'toString', '__proto__']) {
      expect(isReason(String(classify({ name, message: 'x' }, 's3').reason))).toBe(true);
      expect(typeof classify({ code: name, message: 'x' }, 's3').reason).toBe('string');
    }
  });

  it('errorShape reads status from $response when $metadata has none', () => {
    expect(errorShape({ $response: { statusCode: 503, headers: {} } }).httpStatus).toBe(503);
  });
});
