/** How a /diagnose call (or a refused request) was answered. */
export type Delivery = 'live' | 'cached' | 'unauthorised' | 'spaced' | 'stopping' | 'error';

/** One line per call: who asked, what they got, how long it took. Never a header, so never the token. */
interface AuditEntry {
  path: string;
  remote: string;
  status: number;
  delivery: Delivery;
  durationMs: number;
}

interface LineLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/**
 * The lines callers cause (SPEC §4, §8): no caller can make the sidecar log
 * more than LINES_PER_SECOND lines in any second. Of those, CALLER_LINES go
 * to audit lines and errors in any sliding second; one is kept for an
 * authorised live /diagnose run (at most one a second: the spacing is at
 * least 1 s), always logged; one for the summary, at most one per
 * SUMMARY_MS, of what was refused beyond the budget, counted by remote
 * address and status.
 */
export const LINES_PER_SECOND = 10;
const CALLER_LINES = LINES_PER_SECOND - 2;
const WINDOW_MS = 1000;
export const SUMMARY_MS = 5000;
/** Distinct (remote, status) pairs a summary counts one by one; the rest are added up. */
const SUMMARY_KEYS = 20;

export interface CallerLog {
  /** One audit line, or a count for the next summary when over the budget. */
  audit(e: AuditEntry): void;
  /** A request that failed unexpectedly (answered 500), within the same budget. */
  error(err: unknown, remote: string): void;
  /** Writes the pending summary, if any, and stops its timer. */
  close(): void;
}

/** At most `max` events in any `windowMs`: a ring of the last `max` event times. */
class SlidingBudget {
  private readonly times: number[] = [];
  private next = 0;
  private readonly max: number;
  private readonly windowMs: number;
  constructor(max: number, windowMs: number) {
    this.max = max;
    this.windowMs = windowMs;
  }
  take(now: number): boolean {
    const oldest = this.times[this.next];
    if (this.times.length === this.max && oldest !== undefined && now - oldest < this.windowMs) {
      return false;
    }
    this.times[this.next] = now;
    this.next = (this.next + 1) % this.max;
    return true;
  }
}

export function callerLog(logger: LineLogger, now = () => performance.now()): CallerLog {
  const budget = new SlidingBudget(CALLER_LINES, WINDOW_MS);
  // One always-logged live run a second; a caller sharing it beyond that uses the budget.
  const liveBudget = new SlidingBudget(1, WINDOW_MS);
  const dropped = new Map<string, number>();
  let droppedTotal = 0;
  let timer: NodeJS.Timeout | undefined;

  const flush = () => {
    timer = undefined;
    if (droppedTotal === 0) return;
    const byCaller = Object.fromEntries(dropped);
    const total = droppedTotal;
    dropped.clear();
    droppedTotal = 0;
    logger.warn(
      { audit: 'suppressed', suppressed: total, byCaller },
      `${total} more request lines not logged in the last ${SUMMARY_MS / 1000} s (over ${LINES_PER_SECOND} lines/s)`,
    );
  };
  const count = (remote: string, status: number) => {
    droppedTotal++;
    const key = `${remote} ${status}`;
    const known = dropped.get(key);
    if (known !== undefined || dropped.size < SUMMARY_KEYS) dropped.set(key, (known ?? 0) + 1);
    else dropped.set('others', (dropped.get('others') ?? 0) + 1);
    // Unref'd: a pending summary never keeps the process alive.
    timer ??= setTimeout(flush, SUMMARY_MS).unref();
  };

  return {
    audit(e) {
      const t = now();
      const always = e.delivery === 'live' && liveBudget.take(t);
      if (!always && !budget.take(t)) return count(e.remote, e.status);
      const durationMs = Math.round(e.durationMs);
      const line = `${e.path} ${e.status} ${e.delivery} ${durationMs} ms from ${e.remote}`;
      // Refusals at warn: a scan for the token stands out from on-call's own calls.
      const level = e.status === 401 ? 'warn' : 'info';
      logger[level]({ audit: e.path, ...e, durationMs }, line);
    },
    error(err, remote) {
      if (!budget.take(now())) return count(remote, 500);
      logger.error({ err, remote }, 'request failed');
    },
    close() {
      if (timer !== undefined) clearTimeout(timer);
      flush();
    },
  };
}

/** The status a request's error is answered with: its own 4xx, else 500. */
export function errorStatus(err: { statusCode?: number }): number {
  const code = err.statusCode;
  return code !== undefined && code >= 400 && code < 500 ? code : 500;
}
