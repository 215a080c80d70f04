import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { HealthStore } from './engine/store.ts';
import { registerProcessMetrics } from './metrics-process.ts';
import { type CheckName, type CheckResult, STEP_NAMES } from './model/check.ts';
import type { Config } from './model/config.ts';
import { TARGET_LABEL_NAMES, type TargetLabels, targetLabels } from './target-info.ts';
import { platformName } from './version.ts';

/**
 * Steps with a duration series. The environment check's steps are a lint of
 * process.env that takes microseconds and touches no network: only the check's
 * own duration is exported for it.
 */
export const TIMED_STEPS: Record<CheckName, readonly string[]> = {
  ...STEP_NAMES,
  environment: [],
};

// Probe latencies: a local IMDS answers in ~1 ms, an S3 PUT across a region in ~100 ms,
// a hop-limit fallback costs 1 s and a deadline 5 s.
const BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * How long a rendered exposition is served before it is rendered again. A
 * cycle invalidates it at once, so no value served is older than this window
 * (the scrape-time values: staleness verdicts, process CPU and memory).
 */
export const EXPOSITION_MAX_AGE_MS = 1000;

export interface SeriesEntry {
  name: string;
  type: string;
  help: string;
  labels: string[];
}

/** The series table of docs/contract.md §5, from a Metrics built with histograms on. */
export function renderSeriesTable(entries: readonly SeriesEntry[]): string {
  const code = (s: string) => `\`${s}\``;
  return [
    '| series | type | labels | help |',
    '|---|---|---|---|',
    ...entries.map(
      (e) =>
        `| ${code(e.name)} | ${e.type} | ${e.labels.length === 0 ? '—' : e.labels.map(code).join(', ')} | ${e.help} |`,
    ),
  ].join('\n');
}

/**
 * The contract's series (docs/contract.md §5), sized for a fleet (SPEC §5: at most 80 series by
 * default). Durations are gauges of the last run, as blackbox_exporter's
 * probe_*_duration_seconds; histograms, 13 buckets per check and step, are
 * opt-in. Label values only ever come from fixed sets (checks, steps, reasons).
 */
export class Metrics {
  readonly registry = new Registry();
  private readonly up: Gauge;
  private readonly success: Gauge<'check'>;
  private readonly warning: Gauge<'check'>;
  private readonly checkDuration: Gauge<'check'>;
  private readonly stepDuration: Gauge<'check' | 'step'>;
  private readonly checkLatency?: Histogram<'check'>;
  private readonly stepLatency?: Histogram<'check' | 'step'>;
  private readonly failures: Counter<'check' | 'reason'>;
  private readonly consecutive: Gauge<'check'>;
  private readonly lastSuccess: Gauge<'check'>;
  private readonly expiration: Gauge<'source'>;
  private readonly clockOffset: Gauge;
  /**
   * `s3_health_target_info` lives in two registries of its own: one with
   * identity (role, account), one with those labels empty, for a scrape that
   * may not see identity (SPEC §5). The rest of the exposition is shared.
   */
  private readonly targetShown = new Registry();
  private readonly targetHidden = new Registry();
  private readonly targetInfo: {
    shown: Gauge<keyof TargetLabels>;
    hidden: Gauge<keyof TargetLabels>;
  };
  private readonly config: Config;
  private target = '';
  private readonly cycles: Counter;
  private readonly cached = new Map<boolean, { at: number; body: Buffer }>();
  private readonly rendering = new Map<boolean, Promise<Buffer>>();
  /** Bumped by every cycle, so a render that raced one is not cached. */
  private generation = 0;

  constructor(config: Config, version: string) {
    this.config = config;
    const registers = [this.registry];
    registerProcessMetrics(this.registry);
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
    this.checkDuration = new Gauge({
      name: 's3_health_check_duration_seconds',
      help: 'Duration of the last run of the check (a run blocked by an earlier check keeps the previous value).',
      labelNames: ['check'],
      registers,
    });
    this.stepDuration = new Gauge({
      name: 's3_health_step_duration_seconds',
      help: 'Duration of the last run of the step.',
      labelNames: ['check', 'step'],
      registers,
    });
    if (config.metricsHistograms) {
      this.checkLatency = new Histogram({
        name: 's3_health_check_latency_seconds',
        help: 'Durations of the runs of a check (S3_HEALTH_METRICS_HISTOGRAMS).',
        labelNames: ['check'],
        buckets: BUCKETS,
        registers,
      });
      this.stepLatency = new Histogram({
        name: 's3_health_step_latency_seconds',
        help: 'Durations of the runs of a step (S3_HEALTH_METRICS_HISTOGRAMS).',
        labelNames: ['check', 'step'],
        buckets: BUCKETS,
        registers,
      });
    }
    // Created on a (check, reason) pair's first failure only: a healthy host
    // exports none, and the pairs are bounded by the fixed reason set.
    this.failures = new Counter({
      name: 's3_health_check_failures_total',
      help: 'Failed runs of a check, by classified reason (a series appears at its first failure).',
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
    this.cycles = new Counter({
      name: 's3_health_cycles_total',
      help: 'Probe cycles completed (a stuck prober stops counting).',
      registers,
    });
    new Gauge({
      name: 's3_health_build_info',
      help: 'Version of s3-health and of Node.js, and the platform it runs on (linux/amd64, linux/arm64).',
      labelNames: ['version', 'node', 'platform'],
      registers,
    }).set({ version, node: process.version, platform: platformName() }, 1);
    const target = (registry: Registry) =>
      new Gauge({
        name: 's3_health_target_info',
        help: 'What this sidecar probes (bucket, region, role, account, credential source); empty until known, role and account empty where identity is hidden.',
        labelNames: TARGET_LABEL_NAMES,
        registers: [registry],
      });
    this.targetInfo = { shown: target(this.targetShown), hidden: target(this.targetHidden) };
    this.setTarget(targetLabels(config, {}));

    // Every per-check series exists from the start (as blackbox_exporter
    // pre-creates its phases), so a dashboard never shows "no data" for a
    // check that is merely healthy.
    this.up.set(0);
    this.cycles.inc(0);
    for (const check of config.checks) {
      this.success.set({ check }, 0);
      this.warning.set({ check }, 0);
      this.consecutive.set({ check }, 0);
      this.checkDuration.set({ check }, 0);
      this.checkLatency?.zero({ check });
      for (const step of TIMED_STEPS[check]) {
        this.stepDuration.set({ check, step }, 0);
        this.stepLatency?.zero({ check, step });
      }
    }
    this.clockOffset.set(0);
  }

  /** Records what one cycle measured, then the verdicts the store now serves. */
  observe(results: Iterable<CheckResult>, store: HealthStore): void {
    for (const r of results) {
      if (r.reason === 'blocked') continue;
      const seconds = r.durationMs / 1000;
      this.checkDuration.set({ check: r.check }, seconds);
      this.checkLatency?.observe({ check: r.check }, seconds);
      const timed = TIMED_STEPS[r.check];
      for (const s of r.steps) {
        if (s.status === 'skipped' || !timed.includes(s.name)) continue;
        this.stepDuration.set({ check: r.check, step: s.name }, s.durationMs / 1000);
        this.stepLatency?.observe({ check: r.check, step: s.name }, s.durationMs / 1000);
      }
      if (r.status === 'fail' && r.reason) this.failures.inc({ check: r.check, reason: r.reason });
    }
    this.cycles.inc();
    this.refresh(store);
    this.generation++;
    this.cached.clear();
  }

  /** Verdicts are time-dependent (staleness), so they are also refreshed at render time. */
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
    this.targetInfo.shown.reset();
    this.targetInfo.shown.set(labels, 1);
    this.targetInfo.hidden.reset();
    this.targetInfo.hidden.set({ ...labels, role: '', account: '' }, 1);
  }

  /** Every series this configuration can export (the docs' table is rendered from it). */
  catalog(): SeriesEntry[] {
    return [...this.registry.getMetricsAsArray(), ...this.targetShown.getMetricsAsArray()]
      .filter((m) => m.name.startsWith('s3_health_'))
      .map((m) => {
        const labels: unknown = Reflect.get(m, 'labelNames');
        return {
          name: m.name,
          type: String(m.type),
          help: m.help,
          labels: Array.isArray(labels) ? labels.map(String) : [],
        };
      });
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /**
   * The exposition as bytes, rendered at most once per EXPOSITION_MAX_AGE_MS
   * and after every cycle; concurrent scrapes share one render. Rendering
   * afresh per scrape made /metrics 0.04x a route serving the same bytes.
   * `identity`: whether this scrape may see role and account (SPEC §5).
   */
  exposition(
    store: HealthStore,
    identity: boolean,
    now: number = performance.now(),
  ): Promise<Buffer> {
    const hit = this.cached.get(identity);
    if (hit && now - hit.at < EXPOSITION_MAX_AGE_MS) return Promise.resolve(hit.body);
    let rendering = this.rendering.get(identity);
    if (rendering === undefined) {
      rendering = this.render(store, identity, now).finally(() => {
        this.rendering.delete(identity);
      });
      this.rendering.set(identity, rendering);
    }
    return rendering;
  }

  private async render(store: HealthStore, identity: boolean, at: number): Promise<Buffer> {
    const generation = this.generation;
    this.refresh(store);
    const target = identity ? this.targetShown : this.targetHidden;
    const body = Buffer.from((await this.registry.metrics()) + (await target.metrics()));
    if (generation === this.generation) this.cached.set(identity, { at, body });
    return body;
  }
}
