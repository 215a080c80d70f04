import type {
  CheckName,
  CheckResult,
  ErrorDetail,
  Facts,
  Observed,
  Service,
  StepName,
} from '../model/check.ts';
import type { Config } from '../model/config.ts';
import type { Reason } from '../model/reasons.ts';

/** A step returns what it saw; it may also raise a warning without failing. */
export interface StepOutcome {
  observed?: Observed;
  warning?: { reason: Reason; message: string; detail?: ErrorDetail };
}

export interface Step<D> {
  name: StepName;
  service: Service;
  run: (ctx: CheckContext<D>) => Promise<StepOutcome>;
}

export interface CheckContext<D = unknown> {
  config: Config;
  signal: AbortSignal;
  facts: Facts;
  deps: D;
  /** Results of the checks that ran earlier in this cycle. */
  earlier: ReadonlyMap<CheckName, CheckResult>;
}

/** The one signature every check implements (as blackbox_exporter's ProbeFn). */
export interface Check<D = unknown> {
  name: CheckName;
  /** Checks whose failure makes this one meaningless. */
  dependsOn: readonly CheckName[];
  steps: (ctx: CheckContext<D>) => Step<D>[];
}
