// bench/fleet-results.md: what `npm run fleet` measured, with the machine,
// the date and the commit it measured.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism, release } from 'node:os';
import { describeBound } from './bounds.ts';
import { AMP_PRICE, SYNTHETIC_PER_TARGET } from './cost.ts';
import type { PanelResult } from './dashboard.ts';
import { type FleetOptions, ROOT, SHIPPED } from './fleet.ts';
import { type FleetReport, notificationLog } from './scenarios.ts';

function git(args: string[]): string {
  return spawnSync('git', args, { cwd: ROOT, encoding: 'utf8' }).stdout.trim();
}

function version(bin: string): string {
  const r = spawnSync(bin, ['--version'], { encoding: 'utf8' });
  return (r.stdout || r.stderr).split('\n')[0]?.trim() ?? 'unknown';
}

const s1 = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const n0 = (x: number) => Math.round(x).toLocaleString('en-US');
const mib = (b: number) => `${(b / 1024 / 1024).toFixed(0)} MiB`;

export function renderResults(r: FleetReport, opts: FleetOptions): string {
  const cpu = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? '?';
  const memKb = Number(/^MemTotal:\s+(\d+)/m.exec(readFileSync('/proc/meminfo', 'utf8'))?.[1]);
  const dirty = git(['status', '--porcelain']) !== '';
  const c = r.cost;
  const lines: string[] = [
    '# Fleet results (`npm run fleet`)',
    '',
    `Measured ${new Date().toISOString()} at commit ${git(['rev-parse', 'HEAD'])}${dirty ? ' (dirty work tree)' : ''}`,
    `on ${cpu.trim()}, ${availableParallelism()} cores, ${(memKb / 1024 / 1024).toFixed(1)} GiB, Linux ${release()}, Node ${process.version};`,
    `${version('prometheus')}; ${version('prometheus-alertmanager')}.`,
    '',
    `${r.size} sidecars (processes, one IMDS emulator each), one radosgw, a real Prometheus`,
    `(file_sd) with deploy/prometheus/alerts.yml and a real Alertmanager with`,
    `deploy/alertmanager/alertmanager.yml, every pace divided by K = ${opts.k}`,
    `(ground/monitoring/scale.ts: scrape and evaluation ${SHIPPED.scrapeIntervalMs / 1000 / opts.k} s, for: 2m -> ${120 / opts.k} s, group_wait 30s -> ${30 / opts.k} s, ...).`,
    `Sidecars: interval ${opts.intervalSeconds} s, timeout ${opts.timeoutSeconds} s. Wall time ${s1(r.wallMs)} (start-up ${s1(r.startupMs)}).`,
    '',
    '## What on-call received',
    '',
    '| scenario | notification | arrived after | bound | |',
    '| --- | --- | --- | --- | --- |',
  ];
  for (const s of r.scenarios) {
    s.expected.forEach((e, i) => {
      const seen = s.seen.find(
        (x) =>
          x.receiver === e.receiver &&
          x.status === e.status &&
          (x.groupLabels.alertname ?? '') === (e.groupLabels.alertname ?? ''),
      );
      const b = s.bounds[i];
      lines.push(
        `| ${s.name}: ${s.what} | ${e.receiver} ${e.status} ${e.groupLabels.alertname ?? ''} | ${seen ? s1(seen.afterMs) : 'never'} | ${b ? `${s1(b.totalMs)} = ${describeBound(b)}` : ''} | ${s.problems.length === 0 ? 'ok' : 'FAILED'} |`,
      );
    });
  }
  lines.push(
    '',
    'The notification log, scenario by scenario (time after the fault or fix):',
    '',
    '```text',
  );
  for (const s of r.scenarios) {
    lines.push(`${s.name}: ${s.what}`);
    for (const l of notificationLog(s)) lines.push(`  ${l}`);
    for (const p of s.problems) lines.push(`  PROBLEM: ${p}`);
  }
  lines.push('```', '');
  const empty = (xs: PanelResult[]) => xs.filter((x) => x.series === 0);
  lines.push(
    '## The dashboard, live',
    '',
    `${r.dashboardHealthy.length} panel expressions of deploy/grafana/s3-health.json evaluated against the live Prometheus, variables resolved (\`$instance\` = All):`,
    `${empty(r.dashboardHealthy).length} empty in the healthy fleet, ${empty(r.dashboardBucketDown).length} empty in scenario (b).`,
    ...[...empty(r.dashboardHealthy), ...empty(r.dashboardBucketDown)].map(
      (p) => `- empty: ${p.panel} (${p.refId}): \`${p.expr}\``,
    ),
    '',
    '## What the fleet costs its monitoring',
    '',
    '| figure | value |',
    '| --- | --- |',
    `| head series per sidecar (its exposition + ${SYNTHETIC_PER_TARGET} per-target series Prometheus adds) | ${n0(c.seriesPerSidecar.avg)} (min ${n0(c.seriesPerSidecar.min)}, max ${n0(c.seriesPerSidecar.max)}) |`,
    `| samples per scrape of one sidecar (scrape_samples_scraped) | ${n0(c.samplesPerScrape.avg)} |`,
    `| Prometheus head series, whole fleet | ${n0(c.headSeries)} |`,
    `| samples appended per second, measured (scrape every ${c.scrapeMs / 1000} s, ${c.windowS.toFixed(0)} s window) | ${n0(c.appendedPerSecond)} in all, ${c.appendedPerSecondPerSidecar.toFixed(1)} per sidecar |`,
    `| samples per second per sidecar at the shipped 15 s scrape | ${c.shippedSamplesPerSecondPerSidecar.toFixed(1)} |`,
    `| samples per host-month at 15 s | ${n0(c.samplesPerHostMonth)} |`,
    `| **monitoring cost per host-month** (ingestion at USD ${AMP_PRICE.usdPer10M} per 10 M samples, ${AMP_PRICE.asOf}) | **USD ${c.usdPerHostMonth.toFixed(2)}** |`,
    `| Prometheus RSS with ${c.hosts} sidecars (/proc, after the healthy warm-up) | ${mib(c.prometheusRssBytes)} (${(c.prometheusRssBytes / c.hosts / 1024 / 1024).toFixed(1)} MiB per sidecar, fixed cost included) |`,
    '',
    "Samples per second are measured at the tier's 1 s scrape (15 x the shipped rate); the",
    'per-host-month figures scale them back to the shipped 15 s. The price is not re-checked',
    'from this offline machine.',
    '',
  );
  return lines.join('\n');
}
