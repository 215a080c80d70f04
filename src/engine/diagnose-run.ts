import type { CheckResult } from '../checks/check.ts';
import type { ProbeDeps } from '../checks/deps.ts';
import { enabledChecks } from '../checks/index.ts';
import type { Config } from '../config/schema.ts';
import type { DiagnoseReport } from '../report/diagnose.ts';
import { runCycle } from './cycle.ts';
import { worst } from './state.ts';

function hitDeadline(results: Iterable<CheckResult>): boolean {
  for (const r of results) {
    for (const s of r.steps) if (s.error?.message.includes('deadline')) return true;
  }
  return false;
}

/**
 * A live run of every enabled check, shared by concurrent callers: ten
 * engineers curling /diagnose during an incident cost one run, not ten.
 */
export function createDiagnoser(
  config: Config,
  deps: ProbeDeps,
  version: string,
): () => Promise<DiagnoseReport> {
  const checks = enabledChecks(config.checks);
  let inFlight: Promise<DiagnoseReport> | undefined;
  const run = async (): Promise<DiagnoseReport> => {
    const t0 = Date.now();
    const outcome = await runCycle(checks, deps, config);
    const results = [...outcome.results.values()];
    return {
      status: worst(results.map((r) => r.status)),
      version,
      serviceId: config.hostname,
      startedAt: new Date(t0).toISOString(),
      durationMs: Date.now() - t0,
      deadlineMs: Math.round(config.timeoutSeconds * 1000 * checks.length),
      timedOut: hitDeadline(results),
      results,
      facts: outcome.facts,
      config,
    };
  };
  return () => {
    inFlight ??= run().finally(() => {
      inFlight = undefined;
    });
    return inFlight;
  };
}
