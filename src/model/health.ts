import type { CheckName, CheckResult, Facts, Status } from './check.ts';
import type { Reason } from './reasons.ts';

/** A check's history reduced to what verdicts need. Pure data; the engine derives the next. */
export interface CheckState {
  check: CheckName;
  last?: CheckResult;
  /** The verdict after hysteresis; 'unknown' until the first result. */
  reported: Status | 'unknown';
  /** Reason and text that go with `reported` (kept while a failure is unconfirmed). */
  reportedReason?: Reason;
  reportedOutput?: string;
  consecutiveFailures: number;
  consecutiveSuccesses: number;
  lastFinishedAt?: number;
  lastSuccessAt?: number;
}

export interface Verdict {
  status: Status;
  reason?: Reason;
  output?: string;
  stale: boolean;
}

/** The cached verdicts every endpoint reads, as the engine's store hands them out. */
export interface Snapshot {
  status: Status;
  checks: { name: CheckName; verdict: Verdict; state: CheckState }[];
  facts: Facts;
  cycles: number;
}
