import type { CheckResult, Facts, StepResult } from '../model/check.ts';
import type { Config } from '../model/config.ts';
import type { HistoryView, RecentChange } from '../model/history.ts';
import { type Remediation, remediate } from './remediation.ts';

/** One recent change as reports show it: with its fix, unless a newer entry already shows the same one. */
export interface RecentEntry {
  change: RecentChange;
  /** The failing step rebuilt from the detail the memory kept. */
  step?: StepResult;
  remediation?: Remediation;
  /** A newer entry of the same check and reason shows this fix already. */
  fixShownAbove: boolean;
}

/** `12:03:41` in UTC: reports say the time zone once, in their heading. */
function clock(ms: number): string {
  return new Date(ms).toISOString().slice(11, 19);
}

function verbOf(c: RecentChange): string {
  if (c.to === 'fail') return 'failed';
  if (c.to === 'warn') return 'warned';
  if (c.to === 'blocked') return `blocked by ${c.detail?.blockedBy ?? 'an earlier check'}`;
  return 'passed';
}

/** `s3 failed 12:03:41–12:04:02 (s3_access_denied)`; an open-ended one says `since`. */
export function changeClause(c: RecentChange): string {
  const span =
    c.until === undefined ? `since ${clock(c.since)}` : `${clock(c.since)}–${clock(c.until)}`;
  return `${c.check} ${verbOf(c)} ${span}${c.reason && c.to !== 'blocked' ? ` (${c.reason})` : ''}`;
}

export function lastedMs(c: RecentChange, now: number): number {
  return (c.until ?? now) - c.since;
}

function stepOf(c: RecentChange): StepResult | undefined {
  const d = c.detail;
  if (d?.step === undefined || c.to === 'pass' || c.to === 'blocked') return undefined;
  return {
    name: d.step,
    status: c.to,
    durationMs: d.durationMs,
    observed: d.observed ?? {},
    ...(d.error === undefined ? {} : { error: d.error }),
  };
}

/**
 * Failures and warnings the memory holds for checks that pass in `live`
 * (what a live run just measured), newest first, within the kept cycles: the
 * ones line 1 of /diagnose must still mention.
 */
export function clearedFailures(
  history: HistoryView,
  live: readonly CheckResult[],
): RecentChange[] {
  const passing = new Set(live.filter((r) => r.status === 'pass').map((r) => r.check));
  return history.changes.filter((c) => {
    if (c.to !== 'fail' && c.to !== 'warn') return false;
    if (!passing.has(c.check)) return false;
    const kept = history.cycles[c.check]?.[0];
    return kept === undefined || (c.until ?? Number.POSITIVE_INFINITY) >= kept.at;
  });
}

/** The memory's changes, newest first, each failure with its fix filled from what the run learned. */
export function recentEntries(history: HistoryView, facts: Facts, config: Config): RecentEntry[] {
  const shown = new Set<string>();
  return history.changes.map((change) => {
    const step = stepOf(change);
    let remediation: Remediation | undefined;
    let fixShownAbove = false;
    if ((change.to === 'fail' || change.to === 'warn') && change.reason !== undefined) {
      const key = `${change.check}:${change.reason}:${step?.name ?? ''}`;
      fixShownAbove = shown.has(key);
      shown.add(key);
      remediation = remediate(change.reason, {
        check: change.check,
        facts,
        config,
        ...(step === undefined
          ? {}
          : {
              step: step.name,
              observed: step.observed,
              ...(step.error ? { error: step.error } : {}),
            }),
      });
    }
    return {
      change,
      ...(step === undefined ? {} : { step }),
      ...(remediation === undefined ? {} : { remediation }),
      fixShownAbove,
    };
  });
}
