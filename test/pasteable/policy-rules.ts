// The project's own least-privilege rule for S3 statements (no policy linter is
// served offline): bucket-level actions name the bucket ARN, object-level
// actions name a key prefix ending in `*`. An S3 action in neither list fails,
// so a new action gets classified before it is printed.

const BUCKET_LEVEL = new Set([
  'ListBucket',
  'ListBucketVersions',
  'ListBucketMultipartUploads',
  'GetBucketLocation',
  'GetBucketVersioning',
  'GetBucketPolicy',
  'GetBucketPolicyStatus',
  'GetBucketAcl',
  'GetBucketTagging',
  'GetBucketOwnershipControls',
  'GetBucketPublicAccessBlock',
  'GetBucketObjectLockConfiguration',
  'GetBucketNotification',
  'GetBucketLogging',
  'GetEncryptionConfiguration',
  'GetLifecycleConfiguration',
  'GetReplicationConfiguration',
  'PutBucketVersioning',
  'PutEncryptionConfiguration',
  'PutLifecycleConfiguration',
  'PutBucketPolicy',
]);

const OBJECT_LEVEL = new Set([
  'GetObject',
  'GetObjectVersion',
  'GetObjectAttributes',
  'GetObjectVersionAttributes',
  'GetObjectTagging',
  'GetObjectVersionTagging',
  'GetObjectAcl',
  'GetObjectRetention',
  'GetObjectLegalHold',
  'PutObject',
  'PutObjectTagging',
  'PutObjectAcl',
  'DeleteObject',
  'DeleteObjectVersion',
  'DeleteObjectTagging',
  'AbortMultipartUpload',
  'ListMultipartUploadParts',
  'RestoreObject',
]);

type Json = string | number | boolean | null | Json[] | { [k: string]: Json };

function list(v: Json | undefined): string[] {
  if (v === undefined) return [];
  return (Array.isArray(v) ? v : [v]).filter((x): x is string => typeof x === 'string');
}

function statements(doc: Json): { [k: string]: Json }[] {
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) return [];
  const s = 'Statement' in doc ? doc.Statement : 'Effect' in doc ? doc : undefined;
  if (s === undefined || s === null) return [];
  return (Array.isArray(s) ? s : [s]).filter(
    (x): x is { [k: string]: Json } => x !== null && typeof x === 'object' && !Array.isArray(x),
  );
}

/** Violations of the bucket/object rule in one policy document (or one bare statement). */
export function s3ResourceViolations(doc: Json, bucket: string): string[] {
  const out: string[] = [];
  const bucketArn = new RegExp(`^arn:aws[a-z-]*:s3:::${bucket.replace(/[.]/g, '\\.')}$`);
  const prefixArn = new RegExp(`^arn:aws[a-z-]*:s3:::${bucket.replace(/[.]/g, '\\.')}/[^*]+/\\*$`);
  for (const st of statements(doc)) {
    const actions = list(st.Action).filter((a) => a.startsWith('s3:'));
    const resources = list(st.Resource);
    for (const action of actions) {
      const name = action.slice(3);
      const want = BUCKET_LEVEL.has(name)
        ? 'bucket'
        : OBJECT_LEVEL.has(name)
          ? 'object'
          : undefined;
      if (want === undefined) {
        out.push(`${action}: not classified as bucket- or object-level (policy-rules.ts)`);
        continue;
      }
      const rule = want === 'bucket' ? bucketArn : prefixArn;
      for (const r of resources) {
        if (!rule.test(r))
          out.push(
            `${action} is ${want}-level but names ${r} (want ${want === 'bucket' ? `arn:aws:s3:::${bucket}` : `arn:aws:s3:::${bucket}/PREFIX/*`})`,
          );
      }
    }
  }
  return out;
}

/**
 * How moto checks a document: identity policy, trust policy or a key-policy
 * statement. Other JSON (a lifecycle configuration) is checked by the command
 * the fix feeds it to.
 */
export function policyKind(doc: Json): 'identity' | 'trust' | 'key-statement' | 'other' {
  const sts = statements(doc);
  const isBare = doc !== null && typeof doc === 'object' && !Array.isArray(doc) && 'Effect' in doc;
  if (isBare) return 'key-statement';
  if (sts.length === 0) return 'other';
  const trusts = sts.some((s) => s.Principal !== undefined);
  return trusts ? 'trust' : 'identity';
}
