import type { Check, CheckName, CheckResult, Facts } from '../checks/check.ts';
import type { ProbeDeps } from '../checks/deps.ts';
import type { Config } from '../config/schema.ts';
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
      results.set(check.name, blockedResult(check, rootFailure(failedDep, results)));
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
  if (!deps.leftovers.swept && results.get('s3')?.status === 'pass') {
    deps.leftovers.swept = true;
    await sweepLeftovers(deps, config, facts, results, onLeftover).catch((err: unknown) =>
      onLeftover?.(config.ownPrefix, err),
    );
  }
  return { results, facts, startedAt, finishedAt: Date.now() };
}
