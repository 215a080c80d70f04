import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import {
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  type PutObjectCommandInput,
} from '@aws-sdk/client-s3';
import { isAlias } from '../aws/kms-describe.ts';
import { deleteOwn, ownPrefixFor } from '../aws/own-keys.ts';
import type { VersionLeft } from '../aws/remove-object.ts';
import { CheckFailure, type Observed } from '../model/check.ts';
import type { Config } from '../model/config.ts';
import { regionFor } from '../model/region.ts';
import type { Check, CheckContext, StepOutcome } from './check.ts';
import type { ProbeDeps } from './deps.ts';
import { type AliasVerdict, verifyAlias } from './kms-alias.ts';

type Ctx = CheckContext<ProbeDeps>;

const BODY_BYTES = 64;

/** One round-trip's object: its key and the bytes we expect back. */
interface Probe {
  key?: string;
  body: Buffer;
  putDone: boolean;
  /** Object Lock retention HEAD showed, if any: a refused delete is then explained by it. */
  retainedUntil?: string;
}

/**
 * Content-MD5 lets Object Lock buckets take the PUT whatever checksum setting
 * the client has (S3-compatible stores get WHEN_REQUIRED, so no CRC32). A
 * FIPS-mode Node has no MD5: the SDK's flexible checksum is all there is then.
 */
function contentMd5(body: Buffer): string | undefined {
  try {
    return createHash('md5').update(body).digest('base64');
  } catch {
    return undefined;
  }
}

function answeredWithError(e: unknown): boolean {
  const status = (e as { $metadata?: { httpStatusCode?: number } } | null)?.$metadata
    ?.httpStatusCode;
  return typeof status === 'number' && status >= 400 && status < 500;
}

/**
 * radosgw answers an unknown SSE-KMS key id with 403 InvalidAccessKeyId. When
 * STS accepted these very credentials in this cycle, the key id that failed
 * is the KMS key's, not the access key's.
 */
function kmsKeyInDisguise(ctx: Ctx, e: unknown): CheckFailure | undefined {
  const name = (e as { name?: unknown } | null)?.name;
  const stsPassed =
    ctx.earlier.get('credentials')?.status !== 'fail' && ctx.earlier.has('credentials');
  if (name !== 'InvalidAccessKeyId' || ctx.config.kmsKeyId === undefined || !stsPassed)
    return undefined;
  return new CheckFailure(
    'kms_key_not_found',
    `PUT with SSE-KMS key ${ctx.config.kmsKeyId} was refused (InvalidAccessKeyId) although STS accepted these credentials: the KMS key id is unknown to the store`,
    { kmsKeyId: ctx.config.kmsKeyId },
    e,
  );
}

function client(ctx: Ctx) {
  return ctx.deps.clients.s3(regionFor(ctx.config.aws, ctx.facts));
}

/** A configured key id or ARN against the ARN S3 reports on HEAD (aliases: see verifyAlias). */
function kmsKeyMatches(configured: string, reported: string | undefined): boolean {
  if (reported === undefined) return false;
  return configured === reported || reported.endsWith(`/${configured}`);
}

/** An alias passes only when KMS confirms it names the key S3 used; never silently. */
function aliasOutcome(
  verdict: AliasVerdict,
  o: { alias: string; reported: string | undefined; observed: Observed },
): StepOutcome {
  if (verdict.kind === 'mismatch') {
    throw new CheckFailure(
      's3_sse_mismatch',
      `alias ${o.alias} points to KMS key ${verdict.target.arn}, but HEAD shows ${o.reported ?? 'none'}`,
    );
  }
  if (verdict.kind === 'verified') {
    return { observed: { ...o.observed, kmsAliasTarget: verdict.target.arn } };
  }
  return {
    observed: { ...o.observed, kmsAliasTarget: null },
    warning: {
      reason: 'kms_key_unverified',
      message: `S3 used KMS key ${o.reported ?? '(none named)'}; whether alias ${o.alias} points to it is unverified: ${verdict.why}`,
    },
  };
}

function sseParams(config: Config): Partial<PutObjectCommandInput> {
  if (config.sse === 'aws:kms') {
    return {
      ServerSideEncryption: 'aws:kms',
      ...(config.kmsKeyId ? { SSEKMSKeyId: config.kmsKeyId } : {}),
    };
  }
  if (config.sse === 'AES256') return { ServerSideEncryption: 'AES256' };
  return {};
}

function versionLeftWarning(ctx: Ctx, left: VersionLeft): StepOutcome['warning'] {
  const why =
    left.cause === 'retention'
      ? 'Object Lock retention forbids deleting it'
      : 's3:DeleteObjectVersion is denied (or a retention S3 did not name)';
  const marker = left.markerVersionId ? ' and a delete marker' : '';
  return {
    reason: 's3_version_left',
    message: `S3 refused to delete version ${left.versionId} of ${left.key}: ${why} (${left.message}); each cycle leaves a noncurrent version${marker} under ${ctx.config.prefix}`,
    detail: { versionCause: left.cause, versionId: left.versionId, key: left.key },
  };
}

export const s3Check: Check<ProbeDeps> = {
  name: 's3',
  dependsOn: ['credentials'],
  steps: () => {
    const probe: Probe = { body: randomBytes(BODY_BYTES), putDone: false };
    return [
      {
        name: 'put',
        service: 's3',
        run: async (ctx): Promise<StepOutcome> => {
          if (ctx.deps.holder.resolved === undefined) {
            // The credentials check is off: resolve as the app would.
            ctx.deps.holder.resolved = await ctx.deps.resolveCredentials(ctx.signal);
          }
          // Decided at the first PUT: the imds check ran earlier in this cycle
          // and named the instance; without IMDS the board asset tag may.
          if (ctx.deps.ownKeys.ownPrefix === undefined) {
            const instanceId = ctx.facts.instanceId ?? (await ctx.deps.instanceIdWithoutImds());
            ctx.deps.ownKeys.pin(ownPrefixFor(ctx.config.prefix, ctx.config.hostname, instanceId));
          }
          ctx.facts.prefix = ctx.deps.ownKeys.ownPrefix;
          const key = ctx.deps.ownKeys.next();
          probe.key = key;
          const md5 = contentMd5(probe.body);
          const out = await client(ctx)
            .send(
              new PutObjectCommand({
                Bucket: ctx.config.bucket,
                Key: key,
                Body: probe.body,
                ContentType: 'application/octet-stream',
                ...(md5 === undefined ? {} : { ContentMD5: md5 }),
                ...sseParams(ctx.config),
              }),
              { abortSignal: ctx.signal },
            )
            .catch((e: unknown) => {
              // S3 answered with an error: nothing was written, nothing to clean up.
              if (answeredWithError(e)) ctx.deps.ownKeys.deleted(key);
              throw kmsKeyInDisguise(ctx, e) ?? e;
            });
          probe.putDone = true;
          ctx.deps.ownKeys.answered(key, out.VersionId);
          return {
            observed: {
              bucket: ctx.config.bucket ?? null,
              key,
              versionId: out.VersionId ?? null,
              bytes: BODY_BYTES,
              sse: out.ServerSideEncryption ?? null,
              requestId: out.$metadata.requestId ?? null,
            },
          };
        },
      },
      {
        name: 'head',
        service: 's3',
        run: async (ctx): Promise<StepOutcome> => {
          const out = await client(ctx).send(
            new HeadObjectCommand({ Bucket: ctx.config.bucket, Key: probe.key }),
            { abortSignal: ctx.signal },
          );
          const observed = {
            contentLength: out.ContentLength ?? null,
            sse: out.ServerSideEncryption ?? null,
            kmsKeyId: out.SSEKMSKeyId ?? null,
            objectLockMode: out.ObjectLockMode ?? null,
            retainUntil: out.ObjectLockRetainUntilDate?.toISOString() ?? null,
          };
          if (out.ObjectLockRetainUntilDate)
            probe.retainedUntil = out.ObjectLockRetainUntilDate.toISOString();
          if (out.ContentLength !== BODY_BYTES) {
            throw new CheckFailure(
              's3_content_mismatch',
              `HEAD reports ${out.ContentLength} bytes, ${BODY_BYTES} were written`,
            );
          }
          const { sse, kmsKeyId } = ctx.config;
          if (sse !== undefined && out.ServerSideEncryption !== sse) {
            throw new CheckFailure(
              's3_sse_mismatch',
              `HEAD shows encryption ${out.ServerSideEncryption ?? 'none'}, expected ${sse}`,
            );
          }
          if (out.SSEKMSKeyId) ctx.facts.kmsKeyId = out.SSEKMSKeyId;
          if (kmsKeyId !== undefined && isAlias(kmsKeyId)) {
            return aliasOutcome(await verifyAlias(ctx, kmsKeyId, out.SSEKMSKeyId), {
              alias: kmsKeyId,
              reported: out.SSEKMSKeyId,
              observed,
            });
          }
          if (kmsKeyId !== undefined && !kmsKeyMatches(kmsKeyId, out.SSEKMSKeyId)) {
            throw new CheckFailure(
              's3_sse_mismatch',
              `HEAD shows KMS key ${out.SSEKMSKeyId ?? 'none'}, expected ${kmsKeyId}`,
            );
          }
          return { observed };
        },
      },
      {
        name: 'get',
        service: 's3',
        run: async (ctx): Promise<StepOutcome> => {
          const out = await client(ctx).send(
            new GetObjectCommand({ Bucket: ctx.config.bucket, Key: probe.key }),
            { abortSignal: ctx.signal },
          );
          const bytes = Buffer.from((await out.Body?.transformToByteArray()) ?? []);
          if (bytes.length !== probe.body.length || !timingSafeEqual(bytes, probe.body)) {
            throw new CheckFailure(
              's3_content_mismatch',
              `GET returned ${bytes.length} bytes that differ from the ${probe.body.length} written`,
            );
          }
          return { observed: { bytes: bytes.length } };
        },
      },
      {
        name: 'delete',
        service: 's3',
        run: async (ctx): Promise<StepOutcome> => {
          const key = probe.key;
          if (key === undefined || !ctx.deps.ownKeys.mayDelete(key)) {
            throw new CheckFailure('unknown', 'no probe object of ours to delete');
          }
          const removal = await deleteOwn(ctx.deps.ownKeys, {
            s3: client(ctx),
            bucket: ctx.config.bucket,
            key,
            signal: ctx.signal,
            ...(probe.retainedUntil === undefined ? {} : { retainedUntil: probe.retainedUntil }),
          });
          const offset = ctx.deps.clients.clockOffsetMs();
          ctx.facts.clockOffsetSeconds = offset / 1000;
          const observed = {
            clockOffsetSeconds: offset / 1000,
            versionRemoved: removal.removed,
          };
          if (!removal.removed) return { observed, warning: versionLeftWarning(ctx, removal.left) };
          // The SDK corrects only skews of 5 min or more, and then requests pass:
          // the correction itself is the sign that this host's clock is wrong.
          if (Math.abs(offset) >= 300_000) {
            return {
              observed,
              warning: {
                reason: 'clock_skew',
                message: `this host's clock is ${Math.round(offset / 1000)} s off AWS's; the SDK corrects it, other clients may not`,
              },
            };
          }
          return { observed };
        },
      },
    ];
  },
};
