// The exposition's size and shape, from results fed in directly (pure logic,
// no sockets); the live /metrics through promtool is in test/http/server.test.ts.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { HealthStore } from '../src/engine/store.ts';
import { EXPOSITION_MAX_AGE_MS, Metrics, TIMED_STEPS } from '../src/metrics.ts';
import { PROCESS_SERIES } from '../src/metrics-process.ts';
import {
  type CheckName,
  type CheckResult,
  STEP_NAMES,
  type StepResult,
} from '../src/model/check.ts';
import { REASONS, type Reason } from '../src/model/reasons.ts';
import { config } from './report/fixtures.ts';

function result(check: CheckName, over: Partial<CheckResult> = {}, ms = 12.5): CheckResult {
  const steps: StepResult[] = STEP_NAMES[check].map((name) => ({
    name,
    status: 'pass',
    durationMs: ms,
    observed: {},
  }));
  return {
    check,
    status: 'pass',
    steps,
    startedAt: new Date().toISOString(),
    durationMs: ms * steps.length,
    ...over,
  };
}

function healthy(ms = 12.5): CheckResult[] {
  return (['environment', 'imds', 'credentials', 's3'] as const).map((c) => result(c, {}, ms));
}

function failing(check: CheckName, reason: Reason): CheckResult[] {
  return healthy().map((r) => (r.check === check ? { ...r, status: 'fail', reason } : r));
}

/** Sample lines: one per series. */
function series(text: string): string[] {
  return text.split('\n').filter((l) => l !== '' && !l.startsWith('#'));
}

function setup(env: Record<string, string> = {}) {
  const cfg = config(env);
  const store = new HealthStore(cfg);
  const metrics = new Metrics(cfg, '1.2.3');
  const cycle = (results: CheckResult[]) => {
    store.apply({
      results: new Map(results.map((r) => [r.check, r])),
      facts: { credentialSource: 'imds', credentialsExpiration: '2030-01-01T00:00:00.000Z' },
      startedAt: Date.now(),
      finishedAt: Date.now(),
    });
    metrics.observe(results, store);
  };
  let t = 0;
  const scrape = async () => {
    t += EXPOSITION_MAX_AGE_MS;
    return (await metrics.exposition(store, true, t)).toString('utf8');
  };
  return { metrics, store, cycle, scrape };
}

describe('a healthy steady state', () => {
  it('exports at most 60 series in at most 10 KB (SPEC §5: at most 80)', async () => {
    const { cycle, scrape } = setup();
    for (let i = 0; i < 5; i++) cycle(healthy());
    const text = await scrape();
    const lines = series(text);
    expect(lines.length).toBeLessThanOrEqual(60);
    expect(Buffer.byteLength(text)).toBeLessThanOrEqual(10 * 1024);
    expect(text).not.toMatch(/_bucket\{/);
    expect(text).not.toMatch(/^s3_health_check_failures_total\{/m);
    expect(text).toMatch(/^s3_health_cycles_total 5$/m);
  });

  it('durations are gauges of the last run, in seconds', async () => {
    const { cycle, scrape } = setup();
    cycle(healthy(100));
    cycle(healthy(20));
    const text = await scrape();
    expect(text).toMatch(/^# TYPE s3_health_step_duration_seconds gauge$/m);
    expect(text).toMatch(/^s3_health_step_duration_seconds\{check="s3",step="put"\} 0\.02$/m);
    expect(text).toMatch(/^s3_health_check_duration_seconds\{check="s3"\} 0\.08$/m);
  });

  it('has a step series for every timed step, none for the environment lint', async () => {
    const { scrape } = setup();
    const text = await scrape();
    const steps = series(text).filter((l) => l.startsWith('s3_health_step_duration_seconds{'));
    expect(steps).toHaveLength(Object.values(TIMED_STEPS).flat().length);
    expect(text).not.toContain('check="environment",step=');
  });

  it('of process series, exports the named handful only', async () => {
    const { scrape } = setup();
    const names = new Set(
      series(await scrape())
        .map((l) => /^(\w+)/.exec(l)?.[1] ?? '')
        .filter((n) => !n.startsWith('s3_health_')),
    );
    expect([...names].sort()).toEqual([...PROCESS_SERIES].sort());
  });
});

describe('S3_HEALTH_METRICS_HISTOGRAMS=true', () => {
  it('adds latency histograms next to the gauges', async () => {
    const { cycle, scrape } = setup({ S3_HEALTH_METRICS_HISTOGRAMS: 'true' });
    cycle(healthy(30));
    const text = await scrape();
    expect(text).toMatch(/^# TYPE s3_health_step_latency_seconds histogram$/m);
    expect(text).toMatch(
      /^s3_health_step_latency_seconds_bucket\{le="0\.05",check="s3",step="put"\} 1$/m,
    );
    expect(text).toMatch(/^s3_health_check_latency_seconds_count\{check="imds"\} 1$/m);
    expect(text).toMatch(/^s3_health_step_duration_seconds\{check="s3",step="put"\} 0\.03$/m);
    expect(series(text).length).toBeGreaterThan(200);
  });

  it('still passes promtool check metrics, lint included', () => {
    const { metrics, store, cycle } = setup({ S3_HEALTH_METRICS_HISTOGRAMS: 'true' });
    cycle(failing('s3', 's3_access_denied'));
    return metrics.exposition(store, true, 0).then((body) => {
      const r = spawnSync('promtool', ['check', 'metrics'], { input: body, encoding: 'utf8' });
      expect(r.error, 'promtool must be installed (scripts/install-peers.sh)').toBeUndefined();
      expect(`${r.stdout}${r.stderr}`.trim()).toBe('');
      expect(r.status).toBe(0);
    });
  });
});

describe('s3_health_check_failures_total', () => {
  it('creates a (check, reason) series at its first failure and counts from there', async () => {
    const { cycle, scrape } = setup();
    cycle(healthy());
    expect(await scrape()).not.toMatch(/^s3_health_check_failures_total\{/m);
    cycle(failing('s3', 's3_access_denied'));
    cycle(failing('s3', 's3_access_denied'));
    cycle(failing('imds', 'imds_timeout'));
    const lines = series(await scrape()).filter((l) =>
      l.startsWith('s3_health_check_failures_total'),
    );
    expect(lines.sort()).toEqual([
      's3_health_check_failures_total{check="imds",reason="imds_timeout"} 1',
      's3_health_check_failures_total{check="s3",reason="s3_access_denied"} 2',
    ]);
  });

  it('never counts a blocked run: the root failure is counted once, on its own check', async () => {
    const { cycle, scrape } = setup();
    cycle(
      healthy().map((r) =>
        r.check === 'imds'
          ? { ...r, status: 'fail', reason: 'imds_unreachable' }
          : r.check === 'environment'
            ? r
            : { ...r, status: 'fail', reason: 'blocked', blockedBy: 'imds' },
      ),
    );
    const lines = series(await scrape()).filter((l) =>
      l.startsWith('s3_health_check_failures_total'),
    );
    expect(lines).toEqual([
      's3_health_check_failures_total{check="imds",reason="imds_unreachable"} 1',
    ]);
  });

  it('label values come only from the fixed reason set', () => {
    expect(new Set(REASONS).size).toBe(REASONS.length);
    for (const r of REASONS) expect(r).toMatch(/^[a-z0-9_]+$/);
  });
});

describe('the rendered exposition', () => {
  it('is served from cache within the window, rendered again after it', async () => {
    const { metrics, store } = setup();
    const a = await metrics.exposition(store, true, 10_000);
    expect(await metrics.exposition(store, true, 10_000 + EXPOSITION_MAX_AGE_MS - 1)).toBe(a);
    const later = metrics.exposition(store, true, 10_000 + EXPOSITION_MAX_AGE_MS + 1e6);
    expect(await later).not.toBe(a);
  });

  it('is rendered again at once after a cycle, so a new verdict is never held back', async () => {
    const { metrics, store, cycle } = setup();
    const before = (await metrics.exposition(store, true, 0)).toString();
    expect(before).toMatch(/^s3_health_up 0$/m);
    cycle(healthy());
    const after = (await metrics.exposition(store, true, 1)).toString();
    expect(after).toMatch(/^s3_health_up 1$/m);
  });

  it('concurrent scrapes share one render', async () => {
    const { metrics, store } = setup();
    const [a, b] = await Promise.all([
      metrics.exposition(store, true, 5e6),
      metrics.exposition(store, true, 5e6),
    ]);
    expect(a).toBe(b);
  });
});
