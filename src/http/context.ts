import type { GateAnswer } from '../engine/diagnose-gate.ts';
import type { HealthStore } from '../engine/store.ts';
import type { Metrics } from '../metrics.ts';
import type { Config } from '../model/config.ts';
import type { DiagnoseReport } from '../model/diagnose.ts';
import type { CallerLog } from './audit.ts';

/** What every route plugin is given: read-only views, never a way to wait on AWS (but /diagnose). */
export interface AppContext {
  config: Config;
  store: HealthStore;
  metrics: Metrics;
  version: string;
  startedAt: number;
  /** A live run of every check, or the last one's report within the spacing window. */
  diagnose: () => Promise<GateAnswer<DiagnoseReport>>;
  /** The lines callers cause: one per /diagnose call and refused request, within a budget. */
  log: CallerLog;
}
