import type { Check } from '../checks/check.ts';
import type { ProbeDeps } from '../checks/deps.ts';
import { leftoverAgeMs } from '../config/bounds.ts';
import type { CheckName, CheckResult, Facts } from '../model/check.ts';
import type { Config } from '../model/config.ts';
import { blockedResult, runCheck } from './run-check.ts';
import { type LeftoverHook, sweepLeftovers, sweepPending } from './sweep.ts';

export interface CycleOutcome {
  results: Map<CheckName, CheckResult>;
  facts: Facts;
  startedAt: number;
  finishedAt: number;
}

/** The first failure up the chain: s3 blocked by credentials blocked by imds names imds. */
function rootFailure(r: CheckResult, results: ReadonlyMap<CheckName, CheckResult>): CheckResult {
  return r.reason === 'blocked' && r.blockedBy ? (results.get(r.blockedBy) ?? r) : r;
}

/**
 * Which of our probe objects to delete after the chain: all of them once S3
 * works again; only this cycle's when the store answered (an error is an
 * answer) or we are shutting down; none while it does not answer, since
 * each attempt would cost a deadline and delay the verdict.
 */
function keysToSweep(
  s3: CheckResult | undefined,
  pending: string[],
  before: ReadonlySet<string>,
  signal: AbortSignal | undefined,
): string[] {
  // A warning (a version S3 keeps, an unverified KMS alias) still means S3 works.
  if (s3 !== undefined && s3.status !== 'fail' && s3.steps.length > 0) return pending;
  const thisCycle = pending.filter((k) => !before.has(k));
  if (signal?.aborted) return thisCycle;
  const answered = s3?.steps.some((st) => st.error?.httpStatus !== undefined) ?? false;
  return answered ? thisCycle : [];
}

/**
 * One pass down the chain. A check whose dependency failed is reported as
 * blocked rather than run, so one broken link is one failure, not three.
 */
export async function runCycle(
  checks: readonly Check<ProbeDeps>[],
  deps: ProbeDeps,
  config: Config,
  signal?: AbortSignal,
  onLeftover?: LeftoverHook,
): Promise<CycleOutcome> {
  const startedAt = Date.now();
  const facts: Facts = {
    bucket: config.bucket,
    ...(deps.ownKeys.ownPrefix === undefined ? {} : { prefix: deps.ownKeys.ownPrefix }),
    kmsKeyId: config.kmsKeyId,
  };
  const results = new Map<CheckName, CheckResult>();
  deps.holder.resolved = undefined;
  const pendingBefore = new Set(deps.ownKeys.pending());
  for (const check of checks) {
    const failedDep = check.dependsOn
      .map((d) => results.get(d))
      .find((r) => r !== undefined && r.status === 'fail');
    if (failedDep) {
      results.set(check.name, blockedResult(check, rootFailure(failedDep, results)));
      continue;
    }
    const result = await runCheck(
      check,
      { config, facts, deps, earlier: results },
      config.timeoutMs,
      signal,
    );
    results.set(check.name, result);
  }
  if (facts.instanceId === undefined) {
    // For the report only: the probe keys' prefix was settled by then.
    const id = await deps.instanceIdWithoutImds();
    if (id !== undefined) {
      facts.instanceId = id;
      facts.instanceIdSource = 'dmi-board-asset-tag';
    }
  }
  const keys = keysToSweep(results.get('s3'), deps.ownKeys.pending(), pendingBefore, signal);
  await sweepPending(keys, deps, config, facts, onLeftover);
  const s3 = results.get('s3');
  const bound = leftoverAgeMs(config);
  // Once per process: at the first good round-trip at least the age bound
  // after start, when everything a predecessor wrote is old enough to be
  // told from a live twin's. A sweep whose listing failed is tried again.
  if (
    !deps.leftovers.swept &&
    s3 !== undefined &&
    s3.status !== 'fail' &&
    Date.now() - deps.leftovers.since >= bound
  ) {
    await sweepLeftovers(deps, config, facts, onLeftover).then(
      () => {
        deps.leftovers.swept = true;
      },
      (err: unknown) => onLeftover?.(deps.ownKeys.ownPrefix ?? config.prefix, err),
    );
  }
  return { results, facts, startedAt, finishedAt: Date.now() };
}
