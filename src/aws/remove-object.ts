import {
  DeleteObjectCommand,
  ListObjectVersionsCommand,
  type ListObjectVersionsCommandOutput,
  type S3Client,
} from '@aws-sdk/client-s3';
import { errorShape } from './errors.ts';

/**
 * What the PUT told us about the version it made: `answered` with the
 * VersionId S3 named (none in an unversioned or suspended bucket: the
 * object is then the `null` version), or `unknown` when the answer was lost.
 */
export type WrittenVersion = { kind: 'answered'; versionId?: string } | { kind: 'unknown' };

/** Why a version of ours stays in the bucket. */
type LeftCause = 'retention' | 'denied';

/** What a removal could not take away: S3 refused to delete the exact version. */
export interface VersionLeft {
  key: string;
  versionId: string;
  cause: LeftCause;
  /** The delete marker the fallback DELETE added on top (it makes the version noncurrent). */
  markerVersionId?: string;
  /** S3's own words, or the status when it sent none. */
  message: string;
}

export type Removal = { removed: true } | { removed: false; left: VersionLeft };

export interface RemoveTarget {
  s3: S3Client;
  bucket: string | undefined;
  key: string;
  written: WrittenVersion;
  /** The bucket is known to keep versions (learned earlier in this process). */
  keepsVersions: boolean;
  signal: AbortSignal;
  /** HEAD showed an Object Lock retention date still in the future. */
  retainedUntil?: string;
  /** Called when this removal learns that the bucket keeps versions. */
  learnedVersions?: () => void;
}

/** S3 answered 403: s3:DeleteObjectVersion is missing, or Object Lock forbids it. */
function refused(e: unknown): boolean {
  return errorShape(e).httpStatus === 403;
}

function causeOf(e: unknown, retainedUntil: string | undefined): LeftCause {
  const s = errorShape(e);
  if (/object lock|retention|legal hold|WORM/i.test(s.message)) return 'retention';
  if (retainedUntil !== undefined && Date.parse(retainedUntil) > Date.now()) return 'retention';
  return 'denied';
}

function describeRefusal(e: unknown): string {
  const s = errorShape(e);
  const said = s.message === 'UnknownError' || s.message === '' ? 'no message' : s.message;
  return `${s.name} (HTTP ${s.httpStatus ?? '?'}): ${said}`;
}

/** S3 refused to delete a version of ours: what stays, and why. */
function versionLeft(
  t: RemoveTarget,
  e: unknown,
  versionId: string,
  markerVersionId?: string,
): Removal {
  return {
    removed: false,
    left: {
      key: t.key,
      versionId,
      cause: causeOf(e, t.retainedUntil),
      ...(markerVersionId === undefined ? {} : { markerVersionId }),
      message: describeRefusal(e),
    },
  };
}

async function del(t: RemoveTarget, versionId?: string) {
  return t.s3.send(
    new DeleteObjectCommand({
      Bucket: t.bucket,
      Key: t.key,
      ...(versionId === undefined ? {} : { VersionId: versionId }),
    }),
    { abortSignal: t.signal },
  );
}

/**
 * Deletes exactly `versionId`; when S3 refuses, a plain DELETE still makes
 * it noncurrent (a delete marker), so a NoncurrentVersionExpiration rule
 * can take it, and the caller warns with what stayed.
 */
async function deleteVersion(t: RemoveTarget, versionId: string): Promise<Removal> {
  try {
    await del(t, versionId);
    return { removed: true };
  } catch (e) {
    if (!refused(e)) throw e;
    const marker = await del(t);
    return versionLeft(t, e, versionId, marker.VersionId || undefined);
  }
}

/**
 * Every version and delete marker of this one key: our keys are unique, so
 * each of them is ours. Only for a PUT whose answer was lost.
 */
async function deleteAllVersionsOf(t: RemoveTarget): Promise<Removal> {
  let out: ListObjectVersionsCommandOutput;
  try {
    out = await t.s3.send(
      new ListObjectVersionsCommand({ Bucket: t.bucket, Prefix: t.key, MaxKeys: 50 }),
      { abortSignal: t.signal },
    );
  } catch (e) {
    // Without s3:ListBucketVersions the versions cannot be named: retrying
    // would only add a delete marker each time, so this key is given up.
    if (!refused(e)) throw e;
    return {
      removed: false,
      left: { key: t.key, versionId: 'unknown', cause: 'denied', message: describeRefusal(e) },
    };
  }
  const ids = [...(out.Versions ?? []), ...(out.DeleteMarkers ?? [])]
    .filter((v) => v.Key === t.key && v.VersionId !== undefined)
    .map((v) => v.VersionId as string);
  for (const id of ids) {
    try {
      await del(t, id);
    } catch (e) {
      if (!refused(e)) throw e;
      return versionLeft(t, e, id);
    }
  }
  return { removed: true };
}

/**
 * Removes the object a probe wrote, leaving no version and no delete marker:
 * - PUT named a version: delete exactly that version;
 * - PUT named none: the object is the `null` version. In a bucket known to
 *   keep versions (suspended versioning) delete `null`; otherwise a plain
 *   DELETE, and if its answer is a delete marker, the bucket keeps versions
 *   after all: delete the marker, and the `null` version if the marker did
 *   not replace it;
 * - PUT answer lost: a plain DELETE; a delete marker in its answer means
 *   versions exist that we cannot name, so every version of the key goes.
 */
export async function removeObject(t: RemoveTarget): Promise<Removal> {
  const w = t.written;
  if (w.kind === 'answered' && w.versionId !== undefined) return deleteVersion(t, w.versionId);
  if (w.kind === 'answered' && t.keepsVersions) return deleteVersion(t, 'null');
  const out = await del(t);
  if (out.DeleteMarker !== true || out.VersionId === undefined) return { removed: true };
  t.learnedVersions?.();
  if (w.kind === 'unknown') return deleteAllVersionsOf(t);
  const marker = out.VersionId;
  // A marker with a real id (versioning enabled after our PUT) leaves our
  // `null` version noncurrent beneath it; a `null` marker replaced it.
  for (const id of marker === 'null' ? [marker] : ['null', marker]) {
    try {
      await del(t, id);
    } catch (e) {
      if (!refused(e)) throw e;
      // What stays is what S3 refused: the `null` version (under the marker),
      // or, when `null` already went, the marker itself.
      return id === marker ? versionLeft(t, e, marker) : versionLeft(t, e, 'null', marker);
    }
  }
  return { removed: true };
}
