import { errorShape } from '../aws/errors.ts';
import { isAlias, type KeyMetadata, kmsArnRegion } from '../aws/kms-describe.ts';
import { regionFor } from '../model/region.ts';
import type { CheckContext } from './check.ts';
import type { ProbeDeps } from './deps.ts';

/**
 * What an alias in S3_HEALTH_KMS_KEY_ID turned out to name: the key S3
 * used (verified), another key (mismatch), or nothing we could check, with
 * why. HEAD reports the key S3 used, never the alias, so only kms:DescribeKey
 * can tell whether the alias points to it.
 */
export type AliasVerdict =
  | { kind: 'verified'; target: KeyMetadata }
  | { kind: 'mismatch'; target: KeyMetadata }
  | { kind: 'unverified'; why: string };

/**
 * How long a verified alias target is trusted without asking KMS again, while
 * HEAD keeps showing that key. A retargeted alias shows up at once anyway:
 * S3 then encrypts with the new key, HEAD shows it, and that is asked afresh.
 */
export const ALIAS_TARGET_TTL_MS = 60 * 60 * 1000;

/** The key KMS named against what HEAD reports (an ARN on AWS, the bare id on some stores). */
function keyMatches(target: KeyMetadata, reported: string): boolean {
  return (
    reported === target.arn ||
    reported === target.keyId ||
    reported.endsWith(`:key/${target.keyId}`)
  );
}

function whyUnanswered(e: unknown, timeoutMs: number): string {
  const s = errorShape(e);
  if (s.name === 'AccessDeniedException') return `kms:DescribeKey was denied (${s.message})`;
  if (s.name === 'NotFoundException') return `KMS does not know it (${s.message})`;
  if (s.name === 'TimeoutError' || s.name === 'AbortError')
    return `KMS did not answer DescribeKey within ${timeoutMs} ms`;
  const status = s.httpStatus === undefined ? '' : ` (HTTP ${s.httpStatus})`;
  return `DescribeKey failed: ${s.code ?? s.name}${status} ${s.message}`.trim();
}

export async function verifyAlias(
  ctx: CheckContext<ProbeDeps>,
  alias: string,
  reported: string | undefined,
): Promise<AliasVerdict> {
  if (reported === undefined) return { kind: 'unverified', why: 'HEAD names no KMS key' };
  if (isAlias(reported)) {
    return {
      kind: 'unverified',
      why: `the store reports the alias ${reported} itself, not the key it resolved it to (AWS reports the key's ARN; S3-compatible stores may echo what was sent)`,
    };
  }
  const cached = ctx.deps.kmsAliases.get(alias);
  if (
    cached !== undefined &&
    ctx.deps.now() - cached.at < ALIAS_TARGET_TTL_MS &&
    keyMatches(cached.target, reported)
  ) {
    return { kind: 'verified', target: cached.target };
  }
  const region = kmsArnRegion(alias) ?? regionFor(ctx.config.aws, ctx.facts);
  // Half the check's deadline at most: a slow KMS must not cost the round-trip its verdict.
  const timeoutMs = Math.max(1, Math.round(ctx.config.timeoutMs / 2));
  try {
    const target = await ctx.deps.clients.describeKey(
      region,
      alias,
      AbortSignal.any([ctx.signal, AbortSignal.timeout(timeoutMs)]),
    );
    if (!keyMatches(target, reported)) return { kind: 'mismatch', target };
    ctx.deps.kmsAliases.set(alias, { target, at: ctx.deps.now() });
    return { kind: 'verified', target };
  } catch (e) {
    if (ctx.signal.aborted) throw e;
    return { kind: 'unverified', why: whyUnanswered(e, timeoutMs) };
  }
}
