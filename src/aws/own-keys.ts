import { randomBytes } from 'node:crypto';
import type { S3Client } from '@aws-sdk/client-s3';
import { CheckFailure } from '../model/check.ts';
import { type Removal, removeObject, type WrittenVersion } from './remove-object.ts';

// probe-<epoch ms>-<16 hex>: sortable, unique, and recognisable as ours.
const KEY_RE = /^probe-(\d{13})-([0-9a-f]{16})$/;
const INSTANCE_ID_RE = /^i-[0-9a-f]{8,17}$/;

/**
 * `PREFIX<instance-id>/<hostname>/`, or `PREFIX<hostname>/` where no instance
 * id is known: hostnames repeat across hosts (host networking, an explicit
 * `hostname:`), instance ids do not.
 */
export function ownPrefixFor(prefix: string, hostname: string, instanceId?: string): string {
  return instanceId !== undefined && INSTANCE_ID_RE.test(instanceId)
    ? `${prefix}${instanceId}/${hostname}/`
    : `${prefix}${hostname}/`;
}

/**
 * The only authority on which keys the sidecar may delete: keys it wrote in
 * this process, under its own prefix, in its own format. Nothing else is
 * ever passed to DeleteObject.
 */
export class OwnKeys {
  private readonly written = new Map<string, WrittenVersion>();
  private prefix: string | undefined;
  /**
   * Learned, never configured: a PUT answered with a VersionId, or a DELETE
   * answered with a delete marker. Then a DELETE without a version id leaves
   * data behind, so every delete names its version.
   */
  keepsVersions = false;

  constructor(ownPrefix?: string) {
    this.prefix = ownPrefix;
  }

  /** The prefix is decided once, at the first PUT, and kept for the life of the process. */
  pin(ownPrefix: string): string {
    this.prefix ??= ownPrefix;
    return this.prefix;
  }

  get ownPrefix(): string | undefined {
    return this.prefix;
  }

  /** Reserves a fresh key before the PUT is sent, so a PUT that times out is still cleaned up. */
  next(now: number = Date.now()): string {
    if (this.prefix === undefined) throw new Error('own prefix not decided before the first PUT');
    const key = `${this.prefix}probe-${now}-${randomBytes(8).toString('hex')}`;
    this.written.set(key, { kind: 'unknown' });
    return key;
  }

  /** Records the PUT's answer: which version of the key is ours. */
  answered(key: string, versionId: string | undefined): void {
    if (!this.written.has(key)) return;
    this.written.set(key, { kind: 'answered', ...(versionId ? { versionId } : {}) });
    if (versionId !== undefined && versionId !== 'null') this.keepsVersions = true;
  }

  versionOf(key: string): WrittenVersion {
    return this.written.get(key) ?? { kind: 'unknown' };
  }

  /** True only for a key this process created with `next` and has not yet deleted. */
  mayDelete(key: string): boolean {
    if (this.prefix === undefined || !this.written.has(key) || !key.startsWith(this.prefix))
      return false;
    return KEY_RE.test(key.slice(this.prefix.length));
  }

  /**
   * Takes over a key a killed predecessor wrote: only one in our exact
   * format under our own prefix (so never a foreign object).
   */
  adopt(key: string): boolean {
    if (this.prefix === undefined || !isOwnKeyFormat(key, this.prefix).ok) return false;
    if (!this.written.has(key)) this.written.set(key, { kind: 'unknown' });
    return true;
  }

  deleted(key: string): void {
    this.written.delete(key);
  }

  pending(): string[] {
    return [...this.written.keys()];
  }
}

/** Whether a key found in the bucket has our format under our prefix (for sweeping leftovers). */
export function isOwnKeyFormat(
  key: string,
  ownPrefix: string,
): { ok: boolean; writtenAt?: number } {
  if (!key.startsWith(ownPrefix)) return { ok: false };
  const m = KEY_RE.exec(key.slice(ownPrefix.length));
  return m?.[1] ? { ok: true, writtenAt: Number(m[1]) } : { ok: false };
}

export interface DeleteTarget {
  s3: S3Client;
  bucket: string | undefined;
  key: string;
  signal: AbortSignal;
  /** HEAD showed an Object Lock retention date (tells retention from a denied permission). */
  retainedUntil?: string;
}

/**
 * Deletes one of our probe objects (in a versioned bucket, the exact version:
 * see removeObject). A key `mayDelete` does not vouch for is refused before
 * any request is made. The key is forgotten afterwards either way: a version
 * S3 will not let go is not retried every cycle; the warning and a lifecycle
 * rule deal with it.
 */
export async function deleteOwn(own: OwnKeys, t: DeleteTarget): Promise<Removal> {
  if (!own.mayDelete(t.key)) {
    throw new CheckFailure('unknown', `refusing to delete ${t.key}: not written by this process`);
  }
  const removal = await removeObject({
    s3: t.s3,
    bucket: t.bucket,
    key: t.key,
    written: own.versionOf(t.key),
    keepsVersions: own.keepsVersions,
    signal: t.signal,
    ...(t.retainedUntil === undefined ? {} : { retainedUntil: t.retainedUntil }),
    learnedVersions: () => {
      own.keepsVersions = true;
    },
  });
  own.deleted(t.key);
  return removal;
}
