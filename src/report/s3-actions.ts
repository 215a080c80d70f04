/**
 * S3 actions that act on the bucket itself, not on objects: a statement
 * granting one must name the bucket ARN, since `bucket/prefix*` matches
 * objects only and the paste would succeed and fix nothing.
 */
const BUCKET_LEVEL = new Set([
  's3:ListBucket',
  's3:ListBucketVersions',
  's3:ListBucketMultipartUploads',
  's3:GetBucketLocation',
  's3:GetBucketVersioning',
  's3:GetBucketPolicy',
  's3:GetBucketAcl',
  's3:GetBucketTagging',
  's3:GetBucketOwnershipControls',
  's3:GetBucketPublicAccessBlock',
  's3:GetBucketObjectLockConfiguration',
  's3:GetEncryptionConfiguration',
  's3:GetLifecycleConfiguration',
]);

export function isBucketLevel(action: string): boolean {
  return BUCKET_LEVEL.has(action);
}

/** ListBucket can be narrowed to the prefix the sidecar lists; the others cannot. */
export function takesPrefixCondition(action: string): boolean {
  return action === 's3:ListBucket' || action === 's3:ListBucketVersions';
}
