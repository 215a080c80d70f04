import type { HealthStore } from '../engine/store.ts';
import type { Metrics } from '../metrics.ts';
import type { Config } from '../model/config.ts';
import type { DiagnoseReport } from '../model/diagnose.ts';

/** What every route plugin is given: read-only views, never a way to wait on AWS (but /diagnose). */
export interface AppContext {
  config: Config;
  store: HealthStore;
  metrics: Metrics;
  version: string;
  startedAt: number;
  /** Runs every check live; concurrent callers share one run. */
  diagnose: () => Promise<DiagnoseReport>;
}
