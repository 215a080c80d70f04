import type { KMSClient } from '@aws-sdk/client-kms';

// kms:DescribeKey through the official KMS client: one read-only call that
// tells which key an alias names (HEAD reports the key, never the alias).

export interface KeyMetadata {
  keyId: string;
  arn: string;
  keyState?: string;
}

/** The region an alias or key ARN names (`arn:aws:kms:eu-west-1:…`), if any. */
export function kmsArnRegion(id: string): string | undefined {
  return /^arn:aws[a-z-]*:kms:([a-z0-9-]+):/.exec(id)?.[1];
}

export function isAlias(id: string): boolean {
  return id.startsWith('alias/') || /^arn:aws[a-z-]*:kms:[^:]*:\d*:alias\//.test(id);
}

/** What key `keyId` (id, ARN or alias) names. Throws the SDK's error on an error answer. */
export async function describeKey(
  client: KMSClient,
  keyId: string,
  signal: AbortSignal,
): Promise<KeyMetadata> {
  const { DescribeKeyCommand } = await import('@aws-sdk/client-kms');
  const out = await client.send(new DescribeKeyCommand({ KeyId: keyId }), { abortSignal: signal });
  const meta = out.KeyMetadata;
  if (meta?.KeyId === undefined || meta.Arn === undefined) {
    throw Object.assign(new Error('DescribeKey answer has no KeyMetadata.KeyId/Arn'), {
      name: 'MalformedResponse',
    });
  }
  return {
    keyId: meta.KeyId,
    arn: meta.Arn,
    ...(meta.KeyState !== undefined ? { keyState: meta.KeyState } : {}),
  };
}
