// The fixed set of classified reasons. Metric labels, remediation rows and
// tests key on these strings, so a reason is only ever added, never renamed.
export const REASONS = [
  // environment
  'env_static_keys',
  'env_profile_set',
  'env_region_missing',
  'env_region_mismatch',
  'env_proxy_without_no_proxy',
  'env_imds_disabled',
  'env_container_credentials_conflict',
  'env_token_file_invalid',
  // imds
  'imds_hop_limit_v1_fallback',
  'imds_hop_limit_tokens_required',
  'imds_token_timeout',
  'imds_token_rejected',
  'imds_unreachable',
  'imds_timeout',
  'imds_disabled',
  'imds_unauthorized',
  'imds_no_role',
  'imds_role_error',
  'imds_throttled',
  'imds_bad_response',
  // credentials
  'credentials_not_found',
  'credentials_expired',
  'credentials_expiring',
  'credentials_extended',
  'credentials_invalid',
  'credentials_wrong_account',
  'credentials_wrong_role',
  'sts_error',
  // s3
  's3_access_denied',
  'kms_access_denied',
  'kms_key_not_found',
  'kms_key_disabled',
  'kms_key_pending_deletion',
  's3_no_such_bucket',
  's3_wrong_region',
  's3_sse_mismatch',
  's3_content_mismatch',
  's3_object_missing',
  's3_throttled',
  's3_server_error',
  's3_checksum_unsupported',
  // shared by every service
  'invalid_access_key',
  'signature_mismatch',
  'expired_token',
  'clock_skew',
  'timeout',
  'dns_failure',
  'connection_refused',
  'connection_reset',
  'network_unreachable',
  'tls_untrusted',
  'tls_cert_invalid',
  'tls_hostname_mismatch',
  // engine
  'blocked',
  'stale',
  'unknown',
  // platform credential sources (ECS task role, EKS Pod Identity, IRSA)
  'env_container_url_refused',
  'env_web_identity_incomplete',
  'container_credentials_unreachable',
  'container_credentials_refused',
  'container_credentials_error',
  'pod_identity_no_association',
  'pod_identity_access_denied',
  'web_identity_access_denied',
  'web_identity_no_oidc_provider',
  'web_identity_token_invalid',
  'web_identity_token_expired',
  // versioned and Object Lock buckets; KMS aliases
  's3_version_left',
  'kms_key_unverified',
  // the proxy the app's SDK takes (HTTPS_PROXY / HTTP_PROXY, NO_PROXY as botocore reads them)
  'proxy_unreachable',
  'proxy_auth_required',
  'proxy_denied',
  'proxy_timeout',
] as const;

export type Reason = (typeof REASONS)[number];

export function isReason(value: string): value is Reason {
  return (REASONS as readonly string[]).includes(value);
}
