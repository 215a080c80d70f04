import type { CheckResult, Facts, Status } from './check.ts';
import type { Config } from './config.ts';

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
}
