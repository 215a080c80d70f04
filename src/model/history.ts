import type { CheckName, ClassifiedError, Observed, Status, StepName } from './check.ts';
import type { Reason } from './reasons.ts';

/** What one cycle measured for one check, before hysteresis: `blocked` when an earlier check failed. */
export type CycleStatus = Status | 'blocked';

export interface CycleMark {
  /** When the cycle finished (ms since the epoch). */
  at: number;
  status: CycleStatus;
  reason?: Reason;
  durationMs: number;
}

/** The step that made a cycle fail or warn, in full: what on-call and AWS support need. */
export interface FailureDetail {
  step?: StepName;
  durationMs: number;
  error?: ClassifiedError;
  observed?: Observed;
  blockedBy?: CheckName;
  output?: string;
}

/**
 * A change of what the cycles measured for one check (status or reason),
 * from the first cycle that measured it to the first that measured
 * something else. `confirmed`: it lasted long enough to turn the served
 * verdict (the failure or success threshold).
 */
export interface RecentChange {
  check: CheckName;
  from: CycleStatus | 'unknown';
  to: CycleStatus;
  reason?: Reason;
  /** First cycle with this status (ms since the epoch). */
  since: number;
  /** First cycle that measured something else; absent while it lasts. */
  until?: number;
  cycles: number;
  confirmed: boolean;
  detail?: FailureDetail;
}

/** What the engine remembers, as reports read it: lost on restart. */
export interface HistoryView {
  /** How many cycles per check are kept (S3_HEALTH_HISTORY_CYCLES). */
  capacity: number;
  /** Oldest first, at most `capacity` a check. */
  cycles: Partial<Record<CheckName, CycleMark[]>>;
  /** How many changes are kept (`RECENT_CHANGES`). */
  changeCapacity: number;
  /** Newest first, at most `changeCapacity`. */
  changes: RecentChange[];
}

export const RECENT_CHANGES = 50;
