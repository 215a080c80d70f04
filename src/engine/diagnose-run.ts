import type { ProbeDeps } from '../checks/deps.ts';
import { enabledChecks } from '../checks/index.ts';
import { diagnoseDeadlineMs } from '../config/bounds.ts';
import type { CheckResult, Facts } from '../model/check.ts';
import type { Config } from '../model/config.ts';
import type { DiagnoseReport } from '../model/diagnose.ts';
import type { HistoryView } from '../model/history.ts';
import { runCycle } from './cycle.ts';
import { worst } from './state.ts';

/**
 * Identifiers earlier cycles learned fill the gaps of a run that could not
 * learn them (with IMDS unusable the instance id is otherwise unknown); they
 * do not change while the process lives. Anything the live run saw wins.
 */
function withKnownIds(live: Facts, known: Facts): Facts {
  const keys = [
    'instanceId',
    'instanceIdSource',
    'region',
    'availabilityZone',
    'accountId',
    'roleName',
    'instanceProfileArn',
  ] as const;
  const filled: Facts = { ...live };
  for (const k of keys) {
    if (filled[k] === undefined && known[k] !== undefined) Object.assign(filled, { [k]: known[k] });
  }
  return filled;
}

function hitDeadline(results: Iterable<CheckResult>): boolean {
  for (const r of results) {
    for (const s of r.steps) if (s.error?.detail?.deadlineMs !== undefined) return true;
  }
  return false;
}

/**
 * One live run of every enabled check. A run aborted by `signal` (shutdown)
 * ends like an aborted cycle: its probe object is deleted before it returns.
 * Sharing and spacing between callers are the DiagnoseGate's job.
 */
export function createDiagnoser(
  config: Config,
  deps: ProbeDeps,
  version: string,
  knownFacts: () => Facts = () => ({}),
  memory: () => HistoryView | undefined = () => undefined,
): (signal?: AbortSignal) => Promise<DiagnoseReport> {
  const checks = enabledChecks(config.checks);
  return async (signal) => {
    const t0 = Date.now();
    const outcome = await runCycle(checks, deps, config, signal);
    const results = [...outcome.results.values()];
    const recent = memory();
    return {
      status: worst(results.map((r) => r.status)),
      version,
      serviceId: config.hostname,
      startedAt: new Date(t0).toISOString(),
      durationMs: Date.now() - t0,
      deadlineMs: diagnoseDeadlineMs(config),
      timedOut: hitDeadline(results),
      results,
      facts: withKnownIds(outcome.facts, knownFacts()),
      config,
      ...(recent === undefined ? {} : { recent }),
    };
  };
}
