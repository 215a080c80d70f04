import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { isOwnKeyFormat } from '../aws/own-keys.ts';
import type { ProbeDeps } from '../checks/deps.ts';
import { deleteOwn } from '../checks/s3.ts';
import { deleteDeadlineMs, leftoverAgeMs } from '../config/bounds.ts';
import type { CheckName, CheckResult, Facts } from '../model/check.ts';
import type { Config } from '../model/config.ts';
import { regionFor } from '../model/region.ts';

/** Keys we could not delete are retried each cycle; past this many the oldest are given up. */
const MAX_PENDING_KEYS = 100;

export type LeftoverHook = (key: string, err: unknown) => void;

function context(
  deps: ProbeDeps,
  config: Config,
  facts: Facts,
  results: ReadonlyMap<CheckName, CheckResult>,
) {
  return { config, facts, deps, earlier: results, signal: AbortSignal.timeout(1) };
}

/** Deletes probe objects a failed or abandoned round-trip of this process left behind. */
export async function sweepPending(
  pending: readonly string[],
  deps: ProbeDeps,
  config: Config,
  facts: Facts,
  results: ReadonlyMap<CheckName, CheckResult>,
  onLeftover?: LeftoverHook,
): Promise<void> {
  if (pending.length === 0 || deps.holder.resolved === undefined) return;
  const ctx = context(deps, config, facts, results);
  const perKeyMs = deleteDeadlineMs(config);
  for (const key of pending) {
    try {
      await deleteOwn(ctx, key, perKeyMs);
    } catch (err) {
      onLeftover?.(key, err);
    }
  }
  const left = deps.ownKeys.pending();
  for (const key of left.slice(0, Math.max(0, left.length - MAX_PENDING_KEYS))) {
    deps.ownKeys.deleted(key);
  }
}

/**
 * Once per process, after the first good round-trip: objects a killed
 * predecessor with this hostname left under our own prefix. A key is taken
 * as ours only with our prefix and hostname, our exact key format, and an
 * age past any round-trip deadline (so a live twin's object is never hit).
 * Everything else under the prefix is left alone, whatever it is.
 */
export async function sweepLeftovers(
  deps: ProbeDeps,
  config: Config,
  facts: Facts,
  results: ReadonlyMap<CheckName, CheckResult>,
  onLeftover?: LeftoverHook,
  now: number = Date.now(),
): Promise<string[]> {
  const region = regionFor(config.aws, facts);
  const out = await deps.clients
    .s3(region)
    .send(
      new ListObjectsV2Command({ Bucket: config.bucket, Prefix: config.ownPrefix, MaxKeys: 200 }),
      { abortSignal: AbortSignal.timeout(config.timeoutMs) },
    );
  const minAgeMs = leftoverAgeMs(config);
  const swept: string[] = [];
  const ctx = context(deps, config, facts, results);
  for (const obj of out.Contents ?? []) {
    const key = obj.Key ?? '';
    const own = isOwnKeyFormat(key, config.ownPrefix);
    if (!own.ok || own.writtenAt === undefined || now - own.writtenAt < minAgeMs) continue;
    deps.ownKeys.adopt(key);
    try {
      await deleteOwn(ctx, key, deleteDeadlineMs(config));
      swept.push(key);
    } catch (err) {
      onLeftover?.(key, err);
    }
  }
  return swept;
}
