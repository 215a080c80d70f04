import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const PROM = join(ROOT, 'deploy/prometheus');
const ALERTS = join(PROM, 'alerts.yml');
const ALERT_TESTS = join(PROM, 'alerts.test.yml');
const SCRAPE = join(PROM, 'scrape.yml');
const DASHBOARD = join(ROOT, 'deploy/grafana/s3-health.json');
/** Grafana's data source variable reference, literally (not a JS placeholder). */
const DS_UID = `\${DS_PROMETHEUS}`;

// promtool can be slow to start on a busy 2-core machine; this is a limit, not an assertion.
const SLOW = 60_000;

/**
 * SPEC §5 as a default sidecar exports it: durations are gauges of the last
 * run; the histograms of S3_HEALTH_METRICS_HISTOGRAMS are opt-in, so the
 * shipped rules and dashboard must not need them.
 */
const SPEC_SERIES = new Set([
  's3_health_up',
  's3_health_check_success',
  's3_health_check_warning',
  's3_health_check_duration_seconds',
  's3_health_step_duration_seconds',
  's3_health_check_failures_total',
  's3_health_check_consecutive_failures',
  's3_health_check_last_success_timestamp_seconds',
  's3_health_credentials_expiration_timestamp_seconds',
  's3_health_clock_offset_seconds',
  's3_health_cycles_total',
  's3_health_build_info',
  's3_health_target_info',
]);

interface Run {
  code: number | null;
  output: string;
}

/** Runs promtool; a missing binary fails loudly instead of skipping. */
function promtool(args: string[], cwd = ROOT): Run {
  const run = spawnSync('promtool', args, { cwd, encoding: 'utf8', timeout: SLOW });
  if (run.error) {
    const code = (run.error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      throw new Error(
        'promtool is not on PATH. Install it (Debian: `apt-get install prometheus`); ' +
          'these tests validate the shipped alert rules and dashboard and must not be skipped.',
      );
    }
    throw run.error;
  }
  return { code: run.status, output: `${run.stdout}${run.stderr}` };
}

function expectSuccess(run: Run): void {
  expect(run.output).toContain('SUCCESS');
  expect(run.output).not.toContain('FAILED');
  expect(run.code, run.output).toBe(0);
}

function alertNames(): string[] {
  const names = [...readFileSync(ALERTS, 'utf8').matchAll(/^\s*- alert:\s*(\S+)\s*$/gm)].map(
    (m) => m[1] ?? '',
  );
  return [...new Set(names)];
}

// ---- dashboard helpers

interface Target {
  expr?: string;
  datasource?: { type?: string; uid?: string };
}
interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos: { h: number; w: number; x: number; y: number };
  datasource?: { type?: string; uid?: string };
  targets?: Target[];
  panels?: Panel[];
}
interface Variable {
  name: string;
  type: string;
  query?: string | { query?: string };
  datasource?: { uid?: string };
}
interface Dashboard {
  uid: string;
  title: string;
  schemaVersion: number;
  panels: Panel[];
  templating: { list: Variable[] };
  annotations: { list: Array<{ expr?: string; builtIn?: number; datasource?: { uid?: string } }> };
}

function loadDashboard(): Dashboard {
  return JSON.parse(readFileSync(DASHBOARD, 'utf8')) as Dashboard;
}

function allPanels(dashboard: Dashboard): Panel[] {
  return dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
}

/** Every PromQL expression the dashboard sends, as written (Grafana variables included). */
function dashboardExprs(dashboard: Dashboard): string[] {
  const exprs: string[] = [];
  for (const panel of allPanels(dashboard)) {
    for (const t of panel.targets ?? []) if (t.expr) exprs.push(t.expr);
  }
  for (const a of dashboard.annotations.list) if (a.expr) exprs.push(a.expr);
  for (const v of dashboard.templating.list) {
    if (v.type !== 'query') continue;
    const q = typeof v.query === 'string' ? v.query : (v.query?.query ?? '');
    // label_values(<selector>, label) is Grafana's, not PromQL: check the selector.
    const inner = /^label_values\((.+),\s*\w+\)$/.exec(q.trim());
    exprs.push(inner?.[1] ?? q);
  }
  return exprs;
}

const GRAFANA_DURATIONS = new Set(['__rate_interval', '__interval', '__range']);

/** Replaces Grafana variables with values that keep the expression's PromQL shape. */
function substituteVariables(expr: string): string {
  return expr.replace(/\$\{(\w+)(?::\w+)?\}|\$(\w+)/g, (_m, braced?: string, bare?: string) => {
    const name = braced ?? bare ?? '';
    return GRAFANA_DURATIONS.has(name) ? '5m' : '.+';
  });
}

describe('deploy/prometheus', () => {
  let tmp = '';
  beforeAll(() => {
    tmp = mkdtempSync(join(tmpdir(), 's3-health-prom-'));
  });
  afterAll(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('alerts.yml passes promtool check rules', { timeout: SLOW }, () => {
    const run = promtool(['check', 'rules', ALERTS]);
    expectSuccess(run);
    expect(run.output).toMatch(/SUCCESS: \d+ rules found/);
  });

  it('alerts.test.yml passes promtool test rules', { timeout: SLOW }, () => {
    expectSuccess(promtool(['test', 'rules', ALERT_TESTS]));
  });

  it('scrape.yml with the rules forms a valid prometheus.yml', { timeout: SLOW }, () => {
    const scrape = readFileSync(SCRAPE, 'utf8');
    expect(scrape).toMatch(/job_name:\s*s3-health\b/);
    expect(scrape).toMatch(/scrape_interval:\s*15s\b/);
    expect(scrape).toMatch(/targets:\s*\[\s*["']s3-health:8080["']\s*\]/);
    const config = join(tmp, 'prometheus.yml');
    writeFileSync(
      config,
      [
        'global:',
        '  evaluation_interval: 15s',
        'rule_files:',
        `  - ${JSON.stringify(ALERTS)}`,
        scrape,
      ].join('\n'),
    );
    const run = promtool(['check', 'config', config]);
    expectSuccess(run);
    expect(run.output).toContain('valid prometheus config file syntax');
    // The token-carrying variant, uncommented as its comment says, is valid too.
    const token = join(tmp, 's3-health-token');
    writeFileSync(token, 'the-token\n');
    const uncommented = scrape
      .replace(/^ {4}# (authorization:| {2}type: Bearer)$/gm, '    $1')
      .replace(/^ {4}# {3}credentials_file: .*$/m, `      credentials_file: ${token}`);
    expect(uncommented).toMatch(/^ {4}authorization:\n {6}type: Bearer\n {6}credentials_file: /m);
    writeFileSync(config, ['rule_files:', `  - ${JSON.stringify(ALERTS)}`, uncommented].join('\n'));
    const withToken = promtool(['check', 'config', config]);
    expectSuccess(withToken);
  });

  it('every alert has a firing and a quiet unit test', () => {
    const names = alertNames();
    expect(names).toEqual([
      'S3HealthSidecarDown',
      'S3HealthRoundTripFailing',
      'S3HealthCheckFailing',
      'S3HealthCredentialsExpiringSoon',
      'S3HealthImdsHopLimit',
      'S3HealthProbesStale',
      'S3HealthS3Slow',
      'S3HealthClockSkew',
      'S3HealthSidecarMemoryHigh',
      'S3HealthFleetRoundTripFailing',
    ]);
    // Each alert_rule_test entry names one alert and says what it expects.
    const cases = readFileSync(ALERT_TESTS, 'utf8')
      .split(/^\s*- (?:\{\s*)?eval_time:/m)
      .slice(1);
    for (const name of names) {
      const mine = cases.filter((c) => new RegExp(`alertname:\\s*${name}\\b`).test(c));
      const quiet = mine.filter((c) => /exp_alerts:\s*\[\]/.test(c));
      const firing = mine.filter((c) => /exp_alerts:\s*\n\s*- exp_labels:/.test(c));
      expect(quiet.length, `${name} quiet cases`).toBeGreaterThan(0);
      expect(firing.length, `${name} firing cases`).toBeGreaterThan(0);
    }
  });

  it('every alert rule carries severity, summary, description, action and a /diagnose link', () => {
    const rules = readFileSync(ALERTS, 'utf8')
      .split(/^\s*- alert:/m)
      .slice(1);
    expect(rules.length).toBeGreaterThanOrEqual(9);
    for (const rule of rules) {
      const name = rule.trim().split(/\s/)[0] ?? '';
      expect(rule, `${name} severity`).toMatch(/severity:\s*(critical|warning)\b/);
      expect(rule, `${name} for`).toMatch(/\bfor:\s*\d+m\b/);
      for (const key of ['summary', 'description', 'action']) {
        expect(rule, `${name} ${key}`).toMatch(new RegExp(`^\\s+${key}:`, 'm'));
      }
      if (name.startsWith('S3HealthFleet')) {
        // A fleet page has no instance of its own: it links to the /diagnose of
        // one failing host of its bucket, looked up when the alert fires.
        expect(rule, `${name} runbook_url`).toMatch(
          /runbook_url: >-\s+http:\/\/\{\{ with printf[\s\S]*label "instance" \}\}[\s\S]*\/diagnose\n/,
        );
        expect(rule, `${name} groups by bucket`).toMatch(/count by \(bucket\)/);
      } else {
        expect(rule, `${name} runbook_url`).toMatch(
          /runbook_url: (["'])http:\/\/\{\{[^"']*\$labels\.instance[^"']*\}\}\/diagnose\1/,
        );
      }
    }
  });

  it('uses only series a default sidecar exports (SPEC §5), no opt-in histogram', () => {
    // All of alerts.yml (its annotations run queries too), but only the dashboard's
    // expressions, not its prose.
    const text = [readFileSync(ALERTS, 'utf8'), ...dashboardExprs(loadDashboard())].join('\n');
    const used = new Set(text.match(/\bs3_health_[a-z_]+/g) ?? []);
    const unknown = [...used].filter((name) => !SPEC_SERIES.has(name));
    expect(unknown).toEqual([]);
    expect(used.size).toBeGreaterThan(5);
  });
});

describe('deploy/grafana/s3-health.json', () => {
  let tmp = '';
  beforeAll(() => {
    tmp = mkdtempSync(join(tmpdir(), 's3-health-grafana-'));
  });
  afterAll(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('is a dashboard on the DS_PROMETHEUS data source variable, templated on instance', () => {
    const dashboard = loadDashboard();
    expect(dashboard.uid).toBe('s3-health');
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(39);
    const vars = new Map(dashboard.templating.list.map((v) => [v.name, v]));
    expect(vars.get('DS_PROMETHEUS')?.type).toBe('datasource');
    expect(vars.get('instance')?.datasource?.uid).toBe(DS_UID);

    const panels = allPanels(dashboard);
    const ids = panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const panel of panels) {
      expect(panel.gridPos.x + panel.gridPos.w, panel.title).toBeLessThanOrEqual(24);
      if (panel.type === 'row') continue;
      expect(panel.datasource?.uid, panel.title).toBe(DS_UID);
      expect(panel.targets?.length, panel.title).toBeGreaterThan(0);
      for (const t of panel.targets ?? []) {
        expect(t.datasource?.uid, panel.title).toBe(DS_UID);
        expect(t.expr, panel.title).toMatch(/\$instance/);
      }
    }
    for (const a of dashboard.annotations.list) {
      if (!a.builtIn) expect(a.datasource?.uid).toBe(DS_UID);
    }

    const titles = panels.map((p) => p.title).join('\n');
    for (const needed of [
      'Checks',
      'S3 step latency',
      'Credentials time left',
      'Failures by reason',
      'Clock offset',
      'Build',
      'Hosts failing S3, by bucket',
      'Hosts failing, by check and reason',
    ]) {
      expect(titles).toContain(needed);
    }
  });

  it('every PromQL expression parses (promtool check rules)', { timeout: SLOW }, () => {
    const exprs = dashboardExprs(loadDashboard()).map(substituteVariables);
    expect(exprs.length).toBeGreaterThan(10);
    for (const expr of exprs) expect(expr).not.toContain('$');
    const rules = [
      'groups:',
      '  - name: dashboard-exprs',
      '    rules:',
      ...exprs.flatMap((expr, i) => [
        `      - record: dashboard_expr_${i}`,
        `        expr: ${JSON.stringify(expr)}`,
      ]),
    ].join('\n');
    const file = join(tmp, 'dashboard-exprs.yml');
    writeFileSync(file, `${rules}\n`);
    const run = promtool(['check', 'rules', file]);
    expectSuccess(run);
    expect(run.output).toContain(`SUCCESS: ${exprs.length} rules found`);
  });
});
