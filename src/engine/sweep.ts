import {
  DeleteObjectCommand,
  ListObjectsV2Command,
  ListObjectVersionsCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { errorShape } from '../aws/errors.ts';
import { deleteOwn, isOwnKeyFormat } from '../aws/own-keys.ts';
import type { ProbeDeps } from '../checks/deps.ts';
import { deleteDeadlineMs, leftoverAgeMs } from '../config/bounds.ts';
import type { Facts } from '../model/check.ts';
import type { Config } from '../model/config.ts';
import { regionFor } from '../model/region.ts';

/** Keys we could not delete are retried each cycle; past this many the oldest are given up. */
const MAX_PENDING_KEYS = 100;

export type LeftoverHook = (key: string, err: unknown) => void;

/** Deletes probe objects a failed or abandoned round-trip of this process left behind. */
export async function sweepPending(
  pending: readonly string[],
  deps: ProbeDeps,
  config: Config,
  facts: Facts,
  onLeftover?: LeftoverHook,
): Promise<void> {
  if (pending.length === 0 || deps.holder.resolved === undefined) return;
  const s3 = deps.clients.s3(regionFor(config.aws, facts));
  for (const key of pending) {
    try {
      const removal = await deleteOwn(deps.ownKeys, {
        s3,
        bucket: config.bucket,
        key,
        signal: AbortSignal.timeout(deleteDeadlineMs(config)),
      });
      if (!removal.removed) {
        onLeftover?.(
          key,
          new Error(`version ${removal.left.versionId} stays: ${removal.left.message}`),
        );
      }
    } catch (err) {
      onLeftover?.(key, err);
    }
  }
  const left = deps.ownKeys.pending();
  for (const key of left.slice(0, Math.max(0, left.length - MAX_PENDING_KEYS))) {
    deps.ownKeys.deleted(key);
  }
}

interface Leftover {
  key: string;
  /** Absent in a bucket that keeps no versions: a plain DELETE removes the object. */
  versionId?: string;
}

/** Our exact key format under our own prefix, and older than any round-trip of a live twin. */
function isLeftover(key: string | undefined, ownPrefix: string, minAgeMs: number, now: number) {
  if (key === undefined) return false;
  const own = isOwnKeyFormat(key, ownPrefix);
  return own.ok && own.writtenAt !== undefined && now - own.writtenAt >= minAgeMs;
}

/**
 * The sweep reads its own prefix page by page, up to this many pages of
 * PAGE_KEYS (and within the one deadline it is given): a prefix that holds
 * more than that after a long crash loop is finished by the next process.
 */
const MAX_PAGES = 10;
const PAGE_KEYS = 1000;

async function listLeftovers(
  s3: S3Client,
  config: Config,
  ownPrefix: string,
  versions: boolean,
  signal: AbortSignal,
  now: number,
): Promise<Leftover[]> {
  const minAgeMs = leftoverAgeMs(config);
  const found: Leftover[] = [];
  const base = { Bucket: config.bucket, Prefix: ownPrefix, MaxKeys: PAGE_KEYS };
  if (!versions) {
    let token: string | undefined;
    for (let page = 0; page < MAX_PAGES; page++) {
      const out = await s3.send(
        new ListObjectsV2Command({
          ...base,
          ...(token === undefined ? {} : { ContinuationToken: token }),
        }),
        { abortSignal: signal },
      );
      for (const o of out.Contents ?? []) {
        if (isLeftover(o.Key, ownPrefix, minAgeMs, now)) found.push({ key: o.Key as string });
      }
      token = out.IsTruncated === true ? out.NextContinuationToken : undefined;
      if (token === undefined) break;
    }
    return found;
  }
  // Noncurrent versions and delete markers too: a predecessor that died
  // between its DELETE and the version's removal leaves either.
  let marker: { KeyMarker?: string; VersionIdMarker?: string } = {};
  for (let page = 0; page < MAX_PAGES; page++) {
    const out = await s3.send(new ListObjectVersionsCommand({ ...base, ...marker }), {
      abortSignal: signal,
    });
    for (const v of [...(out.Versions ?? []), ...(out.DeleteMarkers ?? [])]) {
      if (v.VersionId !== undefined && isLeftover(v.Key, ownPrefix, minAgeMs, now)) {
        found.push({ key: v.Key as string, versionId: v.VersionId });
      }
    }
    if (out.IsTruncated !== true || out.NextKeyMarker === undefined) break;
    marker = {
      KeyMarker: out.NextKeyMarker,
      ...(out.NextVersionIdMarker === undefined
        ? {}
        : { VersionIdMarker: out.NextVersionIdMarker }),
    };
  }
  return found;
}

/**
 * Once per process, after a good round-trip at least the age bound after
 * start (everything a predecessor wrote is that old by then): objects a
 * killed predecessor on this host left under our own prefix. A key is taken
 * as ours only under that exact prefix, in our exact key format, and past
 * the age bound, so a live twin's object is never hit. In a bucket that
 * keeps versions each version and delete marker goes by its id.
 */
export async function sweepLeftovers(
  deps: ProbeDeps,
  config: Config,
  facts: Facts,
  onLeftover?: LeftoverHook,
  now: number = Date.now(),
): Promise<string[]> {
  const ownPrefix = deps.ownKeys.ownPrefix;
  if (ownPrefix === undefined) return [];
  const s3 = deps.clients.s3(regionFor(config.aws, facts));
  const versions = deps.ownKeys.keepsVersions;
  const found = await listLeftovers(
    s3,
    config,
    ownPrefix,
    versions,
    AbortSignal.timeout(config.timeoutMs),
    now,
  );
  const swept: string[] = [];
  for (const { key, versionId } of found) {
    // Same authority as every delete: only a key in our format under our prefix.
    if (!deps.ownKeys.adopt(key)) continue;
    try {
      await s3.send(
        new DeleteObjectCommand({
          Bucket: config.bucket,
          Key: key,
          ...(versionId === undefined ? {} : { VersionId: versionId }),
        }),
        { abortSignal: AbortSignal.timeout(deleteDeadlineMs(config)) },
      );
      deps.ownKeys.deleted(key);
      swept.push(versionId === undefined ? key : `${key}?versionId=${versionId}`);
    } catch (err) {
      onLeftover?.(key, err);
      if (versionId === undefined) continue; // stays pending: retried each cycle
      // Versions are not retried as pending keys, and a refused one
      // (permission, retention) means the rest will be refused too.
      deps.ownKeys.deleted(key);
      if (errorShape(err).httpStatus === 403) break;
    }
  }
  return swept;
}
