// Objects that are not the sidecar's, planted next to its own, and the proof
// that they came through untouched: bytes (SHA-256), ETag, size, type, metadata.
import { createHash, randomBytes } from 'node:crypto';
import {
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { GROUND_IDENTITY } from '../../../ground/ground.ts';

export interface Fingerprint {
  sha256: string;
  etag: string;
  size: number;
  contentType: string;
  metadata: string;
}

/**
 * Keys a careless sweep would hit: the prefix itself, other hostnames, the
 * same hostname in another case, trailing slashes and spaces, our key format
 * with a twist (upper-case hex, a suffix, a sub-folder, a timestamp in the
 * future), and the application's own data.
 */
export function foreignKeys(
  host: string,
  now: number = Date.now(),
  instanceId: string = GROUND_IDENTITY.instanceId,
): string[] {
  const old = now - 3_600_000;
  const hex = '0123456789abcdef';
  const own = `healthcheck/${instanceId}/${host}/`;
  const keys = [
    // our exact key format, but not under PREFIX<instance-id>/<hostname>/:
    // a host with this hostname that knows no instance id, another instance
    // with this hostname (host networking, an explicit `hostname:`)
    `healthcheck/${host}/probe-${old}-${hex}`,
    `healthcheck/i-0ffffffffffffffff/${host}/probe-${old}-${hex}`,
    `healthcheck/${instanceId}/probe-${old}-${hex}`,
    `healthcheck/${instanceId}/${host}-2/probe-${old}-${hex}`,
    `${own}probe-${old}-${hex.toUpperCase()}`,
    `${own}probe-${old}-${hex}/`,
    `${own}sub/probe-${old}-${hex}`,
    `${own}notes.txt`,
    own,
    'healthcheck/',
    'healthcheck',
    `healthcheck/${host}`,
    `healthcheck/${host}/`,
    `healthcheck/${host}/probe-${old}-${hex}/`,
    `healthcheck/${host}/probe-${old}-${hex} `,
    `healthcheck/${host}/probe-${old}-${hex.toUpperCase()}`,
    `healthcheck/${host}/probe-${old}-${hex}.bak`,
    `healthcheck/${host}/probe-${old}-${hex.slice(1)}`,
    `healthcheck/${host}/probe-${now + 10 * 365 * 86_400_000}-${hex}`,
    `healthcheck/${host}/sub/probe-${old}-${hex}`,
    `healthcheck/${host}/notes.txt`,
    `healthcheck/${host}/prøbe-${old}-${hex}`,
    `healthcheck/${host}-2/probe-${old}-${hex}`,
    `healthcheck/other-host/probe-${old}-${hex}`,
    `HealthCheck/${host}/probe-${old}-${hex}`,
    `healthcheck//${host}/probe-${old}-${hex}`,
    'kb/docs/report.pdf',
    'kb/index.json',
  ];
  const swapped = host.toUpperCase() !== host ? host.toUpperCase() : host.toLowerCase();
  if (swapped !== host) keys.push(`healthcheck/${swapped}/probe-${old}-${hex}`);
  return keys;
}

async function fingerprint(s3: S3Client, bucket: string, key: string): Promise<Fingerprint> {
  const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  const bytes = await (out.Body?.transformToByteArray() ?? Promise.resolve(new Uint8Array()));
  return {
    sha256: createHash('sha256').update(bytes).digest('hex'),
    etag: out.ETag ?? '',
    size: bytes.length,
    contentType: out.ContentType ?? '',
    metadata: JSON.stringify(out.Metadata ?? {}),
  };
}

export async function plant(
  s3: S3Client,
  bucket: string,
  keys: string[],
): Promise<Map<string, Fingerprint>> {
  const prints = new Map<string, Fingerprint>();
  for (const [i, key] of keys.entries()) {
    // Sizes from empty to 300 KiB: a sweep that rewrote or truncated would show.
    const size = [0, 1, 64, 4096, 300 * 1024][i % 5] ?? 64;
    await s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: key,
        Body: randomBytes(size),
        ContentType: i % 2 === 0 ? 'application/octet-stream' : 'text/plain',
        Metadata: { owner: 'not-the-sidecar', index: String(i) },
      }),
    );
    prints.set(key, await fingerprint(s3, bucket, key));
  }
  return prints;
}

/** Every planted object still there, byte for byte; returns the keys that differ. */
export async function damaged(
  s3: S3Client,
  bucket: string,
  prints: Map<string, Fingerprint>,
): Promise<string[]> {
  const bad: string[] = [];
  for (const [key, want] of prints) {
    const got = await fingerprint(s3, bucket, key).catch(() => undefined);
    if (got === undefined || JSON.stringify(got) !== JSON.stringify(want)) bad.push(key);
  }
  return bad;
}

export async function listKeys(s3: S3Client, bucket: string, prefix = ''): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const out = await s3.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
    );
    for (const o of out.Contents ?? []) if (o.Key !== undefined) keys.push(o.Key);
    token = out.IsTruncated ? out.NextContinuationToken : undefined;
  } while (token !== undefined);
  return keys;
}

/**
 * The sidecar's own objects: its key format under its own prefix
 * (`healthcheck/<instance-id>/<host>/`: the ground's IMDS names the
 * instance), minus what a test planted.
 */
export async function ownObjects(
  s3: S3Client,
  bucket: string,
  host: string,
  planted: ReadonlyMap<string, unknown> = new Map(),
  instanceId: string = GROUND_IDENTITY.instanceId,
): Promise<string[]> {
  const prefix = `healthcheck/${instanceId}/${host}/`;
  return (await listKeys(s3, bucket, prefix)).filter(
    (k) => !planted.has(k) && /^probe-\d{13}-[0-9a-f]{16}$/.test(k.slice(prefix.length)),
  );
}
