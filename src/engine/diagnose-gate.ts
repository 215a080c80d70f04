/** What a /diagnose caller gets: the report, and whether it was measured for this call. */
export type GateAnswer<T> =
  | { report: T; live: true }
  | {
      report: T;
      live: false;
      /** Since the cached run finished. */
      ageMs: number;
    };

/** The live run of a window that threw instead of giving a report. */
export interface FailedRun {
  /** When it failed (the gate's clock). */
  at: number;
  error: string;
}

/** Inside the spacing window with no report to give: the one run of the window failed. */
export class DiagnoseSpaced extends Error {
  readonly retryAfterMs: number;
  readonly failed: FailedRun | undefined;
  constructor(retryAfterMs: number, failed?: FailedRun) {
    super(`a live /diagnose run started less than the minimum interval ago`);
    this.retryAfterMs = retryAfterMs;
    this.failed = failed;
  }
}

export class DiagnoseStopped extends Error {
  constructor() {
    super('shutting down: no new /diagnose run');
  }
}

function errorText(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}

/**
 * Spaces live /diagnose runs: concurrent callers share the run in flight,
 * callers within `spacingMs` of the last run's start get its report with its
 * age, and only then does a call start a new run. This is the bound SPEC §8
 * puts on what callers can make the sidecar write to S3.
 */
export class DiagnoseGate<T> {
  private readonly run: (signal: AbortSignal) => Promise<T>;
  private readonly spacingMs: number;
  private readonly now: () => number;
  private readonly abort = new AbortController();
  private inFlight: Promise<T> | undefined;
  private lastStartedAt: number | undefined;
  /** The last run's outcome: its report, or the error it failed with (never an older report). */
  private last: { report: T; finishedAt: number } | { failed: FailedRun } | undefined;
  private stopped = false;

  constructor(
    run: (signal: AbortSignal) => Promise<T>,
    spacingMs: number,
    now: () => number = Date.now,
  ) {
    this.run = run;
    this.spacingMs = spacingMs;
    this.now = now;
  }

  async ask(): Promise<GateAnswer<T>> {
    if (this.inFlight !== undefined) return { report: await this.inFlight, live: true };
    const now = this.now();
    if (this.lastStartedAt !== undefined && now - this.lastStartedAt < this.spacingMs) {
      if (this.last === undefined || 'failed' in this.last) {
        throw new DiagnoseSpaced(this.lastStartedAt + this.spacingMs - now, this.last?.failed);
      }
      return {
        report: this.last.report,
        live: false,
        ageMs: Math.max(0, now - this.last.finishedAt),
      };
    }
    if (this.stopped) throw new DiagnoseStopped();
    this.lastStartedAt = now;
    const run = this.run(this.abort.signal).then(
      (report) => {
        this.last = { report, finishedAt: this.now() };
        return report;
      },
      (err: unknown) => {
        // Callers in the window learn that this run failed, not an older report.
        this.last = { failed: { at: this.now(), error: errorText(err) } };
        throw err;
      },
    );
    this.inFlight = run.finally(() => {
      this.inFlight = undefined;
    });
    return { report: await this.inFlight, live: true };
  }

  /** No new runs; the one in flight is aborted (its probe object deleted) and awaited. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.abort.abort(new Error('shutting down'));
    await this.inFlight?.catch(() => undefined);
  }
}
