import type { Config } from '../model/config.ts';

// Every duration derived from the configured interval and timeout, named once.
// The engine, the service and the reports read these; none recomputes them.

type Timing = Pick<Config, 'intervalMs' | 'timeoutMs'>;

/**
 * A probe object younger than this may belong to a round-trip still in
 * flight (a twin with our hostname, or our own cycle): its PUT and its DELETE
 * each get a whole deadline, plus 5 s of clock slack between hosts.
 */
export function leftoverAgeMs(c: Pick<Config, 'timeoutMs'>): number {
  return 2 * c.timeoutMs + 5000;
}

/** Each clean-up delete gets at most this, so a sweep never holds up a cycle for long. */
export function deleteDeadlineMs(c: Pick<Config, 'timeoutMs'>): number {
  return Math.min(2000, c.timeoutMs);
}

/** A verdict older than this is stale: three intervals without a result, plus one deadline. */
export function staleAfterMs(c: Timing): number {
  return 3 * c.intervalMs + c.timeoutMs;
}

/** Delay before confirming a suspected change: short, so detection costs about one timeout more. */
export function reprobeDelayMs(c: Timing): number {
  return Math.min(1000, c.intervalMs, c.timeoutMs / 4);
}

/** On SIGTERM the cycle in flight is aborted and awaited for at most this long. */
export function shutdownDeadlineMs(c: Pick<Config, 'timeoutMs'>): number {
  return Math.max(5000, 2 * c.timeoutMs);
}

/** One live /diagnose run: a deadline per enabled check. */
export function diagnoseDeadlineMs(c: Pick<Config, 'timeoutMs' | 'checks'>): number {
  return c.timeoutMs * c.checks.length;
}

/** Live /diagnose runs start at least this far apart; callers in between get the last report. */
export function diagnoseSpacingMs(c: Pick<Config, 'diagnoseMinIntervalSeconds'>): number {
  return Math.round(c.diagnoseMinIntervalSeconds * 1000);
}

/** Cycles start every interval plus or minus up to this fraction of it (SPEC §3). */
const JITTER_FRACTION = 0.1;

/**
 * The gap between two cycle starts for a draw `random` in [0, 1): the
 * interval ± 10 %, so a fleet restarted together does not probe in lock-step.
 */
export function jitteredIntervalMs(c: Pick<Config, 'intervalMs'>, random: number): number {
  return Math.round(c.intervalMs * (1 + JITTER_FRACTION * (2 * random - 1)));
}
