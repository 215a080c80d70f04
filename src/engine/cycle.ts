import type { Check, CheckName, CheckResult, Facts } from '../checks/check.ts';
import type { ProbeDeps } from '../checks/deps.ts';
import { deleteOwn } from '../checks/s3.ts';
import type { Config } from '../config/schema.ts';
import { blockedResult, runCheck } from './run-check.ts';

export interface CycleOutcome {
  results: Map<CheckName, CheckResult>;
  facts: Facts;
  startedAt: number;
  finishedAt: number;
}

/** Keys we could not delete are retried each cycle; past this many the oldest are given up. */
const MAX_PENDING_KEYS = 100;

/**
 * One pass down the chain. A check whose dependency failed is reported as
 * blocked rather than run, so one broken link is one failure, not three.
 */
export async function runCycle(
  checks: readonly Check<ProbeDeps>[],
  deps: ProbeDeps,
  config: Config,
  signal?: AbortSignal,
  onLeftover?: (key: string, err: unknown) => void,
): Promise<CycleOutcome> {
  const startedAt = Date.now();
  const facts: Facts = {
    bucket: config.bucket,
    prefix: config.ownPrefix,
    kmsKeyId: config.kmsKeyId,
  };
  const results = new Map<CheckName, CheckResult>();
  const timeoutMs = Math.round(config.timeoutSeconds * 1000);
  deps.holder.resolved = undefined;
  for (const check of checks) {
    const failedDep = check.dependsOn
      .map((d) => results.get(d))
      .find((r) => r !== undefined && r.status === 'fail');
    if (failedDep) {
      results.set(
        check.name,
        blockedResult(
          check,
          failedDep.reason === 'blocked' && failedDep.blockedBy
            ? (results.get(failedDep.blockedBy) ?? failedDep)
            : failedDep,
        ),
      );
      continue;
    }
    const result = await runCheck(
      check,
      { config, facts, deps, earlier: results },
      timeoutMs,
      signal,
    );
    results.set(check.name, result);
  }
  await sweepPending(deps, config, facts, results, onLeftover);
  return { results, facts, startedAt, finishedAt: Date.now() };
}

/** Deletes probe objects a failed or abandoned round-trip left behind (ours only). */
export async function sweepPending(
  deps: ProbeDeps,
  config: Config,
  facts: Facts,
  results: ReadonlyMap<CheckName, CheckResult>,
  onLeftover?: (key: string, err: unknown) => void,
): Promise<void> {
  const pending = deps.ownKeys.pending();
  if (pending.length === 0 || deps.holder.resolved === undefined) return;
  const ctx = { config, facts, deps, earlier: results, signal: AbortSignal.timeout(1) };
  const perKeyMs = Math.min(2000, Math.round(config.timeoutSeconds * 1000));
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
