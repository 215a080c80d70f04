import type { CheckResult, Facts, Status } from './check.ts';
import type { Config } from './config.ts';
import type { HistoryView } from './history.ts';

/** One live run of every enabled check, as /diagnose and `s3-health diagnose` report it. */
export interface DiagnoseReport {
  status: Status;
  version: string;
  serviceId: string;
  startedAt: string;
  durationMs: number;
  deadlineMs: number;
  timedOut: boolean;
  results: CheckResult[];
  facts: Facts;
  config: Config;
  /** The serving process's memory of recent cycles; absent for a one-off run (`s3-health diagnose`). */
  recent?: HistoryView;
}
