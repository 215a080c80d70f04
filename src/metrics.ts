import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { HealthStore } from './engine/store.ts';
import { type CheckResult, STEP_NAMES } from './model/check.ts';
import type { Config } from './model/config.ts';
import { TARGET_LABEL_NAMES, type TargetLabels, targetLabels } from './target-info.ts';

// Probe latencies: a local IMDS answers in ~1 ms, an S3 PUT across a region in ~100 ms,
// a hop-limit fallback costs 1 s and a deadline 5 s.
const BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** The SPEC's series; label values only ever come from fixed sets (checks, steps, reasons). */
export class Metrics {
  readonly registry = new Registry();
  private readonly up: Gauge;
  private readonly success: Gauge<'check'>;
  private readonly warning: Gauge<'check'>;
  private readonly checkDuration: Histogram<'check'>;
  private readonly stepDuration: Histogram<'check' | 'step'>;
  private readonly failures: Counter<'check' | 'reason'>;
  private readonly consecutive: Gauge<'check'>;
  private readonly lastSuccess: Gauge<'check'>;
  private readonly expiration: Gauge<'source'>;
  private readonly clockOffset: Gauge;
  private readonly targetInfo: Gauge<keyof TargetLabels>;
  private readonly config: Config;
  private target = '';

  constructor(config: Config, version: string) {
    this.config = config;
    const registers = [this.registry];
    // The event-loop monitor samples every 10 ms by default: most of an idle
    // sidecar's CPU. A second is plenty for a process that works twice a minute.
    collectDefaultMetrics({ register: this.registry, eventLoopMonitoringPrecision: 1000 });
    this.up = new Gauge({
      name: 's3_health_up',
      help: '1 when the overall verdict is not fail.',
      registers,
    });
    this.success = new Gauge({
      name: 's3_health_check_success',
      help: '1 when the check passes or warns (after thresholds).',
      labelNames: ['check'],
      registers,
    });
    this.warning = new Gauge({
      name: 's3_health_check_warning',
      help: '1 when the check reports warn.',
      labelNames: ['check'],
      registers,
    });
    this.checkDuration = new Histogram({
      name: 's3_health_check_duration_seconds',
      help: 'Duration of one run of a check.',
      labelNames: ['check'],
      buckets: BUCKETS,
      registers,
    });
    this.stepDuration = new Histogram({
      name: 's3_health_step_duration_seconds',
      help: 'Duration of one step of a check.',
      labelNames: ['check', 'step'],
      buckets: BUCKETS,
      registers,
    });
    this.failures = new Counter({
      name: 's3_health_check_failures_total',
      help: 'Failed runs of a check, by classified reason.',
      labelNames: ['check', 'reason'],
      registers,
    });
    this.consecutive = new Gauge({
      name: 's3_health_check_consecutive_failures',
      help: 'Failed runs in a row.',
      labelNames: ['check'],
      registers,
    });
    this.lastSuccess = new Gauge({
      name: 's3_health_check_last_success_timestamp_seconds',
      help: 'When the check last passed or warned.',
      labelNames: ['check'],
      registers,
    });
    this.expiration = new Gauge({
      name: 's3_health_credentials_expiration_timestamp_seconds',
      help: 'Expiry of the credentials the default chain resolved, by source.',
      labelNames: ['source'],
      registers,
    });
    this.clockOffset = new Gauge({
      name: 's3_health_clock_offset_seconds',
      help: "The SDK's correction of the local clock from AWS answers (0 = in sync).",
      registers,
    });
    new Gauge({
      name: 's3_health_build_info',
      help: 'Version of s3-health and of Node.js.',
      labelNames: ['version', 'node'],
      registers,
    }).set({ version, node: process.version }, 1);
    this.targetInfo = new Gauge({
      name: 's3_health_target_info',
      help: 'What this sidecar probes (bucket, region, role, account, credential source); empty until known.',
      labelNames: TARGET_LABEL_NAMES,
      registers,
    });
    this.setTarget(targetLabels(config, {}));

    // Every series exists from the start (as blackbox_exporter pre-creates its
    // phases), so a dashboard never shows "no data" for a check that is merely healthy.
    this.up.set(0);
    for (const check of config.checks) {
      this.success.set({ check }, 0);
      this.warning.set({ check }, 0);
      this.consecutive.set({ check }, 0);
      this.checkDuration.zero({ check });
      for (const step of STEP_NAMES[check]) this.stepDuration.zero({ check, step });
    }
    this.clockOffset.set(0);
  }

  /** Records what one cycle measured, then the verdicts the store now serves. */
  observe(results: Iterable<CheckResult>, store: HealthStore): void {
    for (const r of results) {
      if (r.reason === 'blocked') continue;
      this.checkDuration.observe({ check: r.check }, r.durationMs / 1000);
      for (const s of r.steps) {
        if (s.status === 'skipped') continue;
        this.stepDuration.observe({ check: r.check, step: s.name }, s.durationMs / 1000);
      }
      if (r.status === 'fail' && r.reason) this.failures.inc({ check: r.check, reason: r.reason });
    }
    this.refresh(store);
  }

  /** Verdicts are time-dependent (staleness), so they are also refreshed at scrape time. */
  refresh(store: HealthStore): void {
    const snap = store.snapshot();
    this.up.set(snap.status === 'fail' ? 0 : 1);
    for (const c of snap.checks) {
      this.success.set({ check: c.name }, c.verdict.status === 'fail' ? 0 : 1);
      this.warning.set({ check: c.name }, c.verdict.status === 'warn' ? 1 : 0);
      this.consecutive.set({ check: c.name }, c.state.consecutiveFailures);
      if (c.state.lastSuccessAt !== undefined) {
        this.lastSuccess.set({ check: c.name }, c.state.lastSuccessAt / 1000);
      }
    }
    const { credentialsExpiration, credentialSource, clockOffsetSeconds } = snap.facts;
    if (credentialsExpiration && credentialSource) {
      this.expiration.reset();
      this.expiration.set(
        { source: credentialSource },
        new Date(credentialsExpiration).getTime() / 1000,
      );
    }
    if (clockOffsetSeconds !== undefined) this.clockOffset.set(clockOffsetSeconds);
    this.setTarget(targetLabels(this.config, snap.facts));
  }

  /** Exactly one series at any time, so `* on (instance) group_left (bucket)` joins never go many-to-many. */
  private setTarget(labels: TargetLabels): void {
    const key = JSON.stringify(labels);
    if (key === this.target) return;
    this.target = key;
    this.targetInfo.reset();
    this.targetInfo.set(labels, 1);
  }
}
