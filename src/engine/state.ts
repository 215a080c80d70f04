import { staleAfterMs } from '../config/bounds.ts';
import type { CheckName, CheckResult, Status } from '../model/check.ts';
import type { Config } from '../model/config.ts';
import type { CheckState, Verdict } from '../model/health.ts';

export interface Thresholds {
  failureThreshold: number;
  successThreshold: number;
}

export function initialState(check: CheckName): CheckState {
  return { check, reported: 'unknown', consecutiveFailures: 0, consecutiveSuccesses: 0 };
}

/**
 * Applies one result with hysteresis. With no established verdict yet the
 * first result counts at once (a sidecar that just started has nothing good
 * to keep showing); afterwards a failure must repeat `failureThreshold`
 * times and a recovery `successThreshold` times before the verdict turns.
 */
export function advance(
  prev: CheckState,
  result: CheckResult,
  t: Thresholds,
  now: number,
): CheckState {
  const failed = result.status === 'fail';
  const consecutiveFailures = failed ? prev.consecutiveFailures + 1 : 0;
  const consecutiveSuccesses = failed ? 0 : prev.consecutiveSuccesses + 1;
  let reported: Status;
  if (prev.reported === 'unknown') reported = result.status;
  else if (failed) reported = consecutiveFailures >= t.failureThreshold ? 'fail' : prev.reported;
  else if (prev.reported === 'fail')
    reported = consecutiveSuccesses >= t.successThreshold ? result.status : 'fail';
  else reported = result.status;
  const follows = reported === result.status;
  return {
    check: prev.check,
    last: result,
    reported,
    reportedReason: follows ? result.reason : prev.reportedReason,
    reportedOutput: follows
      ? result.output
      : failed
        ? `unconfirmed failure ${consecutiveFailures}/${t.failureThreshold}: ${result.output ?? result.reason ?? ''}`
        : `recovering ${consecutiveSuccesses}/${t.successThreshold}; last failure: ${(prev.reportedOutput ?? '').replace(/^recovering \d+\/\d+; last failure: /, '')}`,
    consecutiveFailures,
    consecutiveSuccesses,
    lastFinishedAt: now,
    lastSuccessAt: failed ? prev.lastSuccessAt : now,
  };
}

/** Whether the next cycle should come early to confirm a change of verdict. */
export function wantsReprobe(s: CheckState): boolean {
  if (s.last === undefined) return false;
  const rawFailed = s.last.status === 'fail';
  return rawFailed !== (s.reported === 'fail');
}

/** The verdict served now: the reported status, or fail when results went stale or never came. */
export function verdictOf(
  s: CheckState,
  now: number,
  timing: Pick<Config, 'intervalMs' | 'timeoutMs'>,
): Verdict {
  if (s.reported === 'unknown' || s.lastFinishedAt === undefined) {
    return {
      status: 'fail',
      reason: 'stale',
      output: 'no result yet: first cycle not finished',
      stale: true,
    };
  }
  const maxAgeMs = staleAfterMs(timing);
  if (now - s.lastFinishedAt > maxAgeMs) {
    const age = Math.round((now - s.lastFinishedAt) / 1000);
    return {
      status: 'fail',
      reason: 'stale',
      output: `last result is ${age} s old (limit ${maxAgeMs / 1000} s): the prober is stuck`,
      stale: true,
    };
  }
  return {
    status: s.reported,
    ...(s.reportedReason ? { reason: s.reportedReason } : {}),
    ...(s.reportedOutput ? { output: s.reportedOutput } : {}),
    stale: false,
  };
}

const RANK: Record<Status, number> = { pass: 0, warn: 1, fail: 2 };

export function worst(statuses: Iterable<Status>): Status {
  let w: Status = 'pass';
  for (const s of statuses) if (RANK[s] > RANK[w]) w = s;
  return w;
}
