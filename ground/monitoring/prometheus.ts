// A real Prometheus server (Debian's `prometheus`) on loopback with a temp
// TSDB: file_sd targets, the given rule files, alerts sent to Alertmanager.
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type MonitoringPeer, startPeer } from './peer.ts';

export interface PromSample {
  metric: Record<string, string>;
  value: number;
}

export interface Prometheus extends MonitoringPeer {
  /** Replaces the file_sd target list (atomically, as file_sd expects). */
  setTargets(groups: { targets: string[]; labels?: Record<string, string> }[]): void;
  /** Instant query; throws on a PromQL error. */
  query(expr: string): Promise<PromSample[]>;
  /** Range query over the last `seconds`; the series that have any point. */
  queryRange(expr: string, seconds: number, stepSeconds: number): Promise<number>;
  /** Prometheus's own /metrics, parsed to name{labels} -> value (no self-scrape: it would add series). */
  ownMetrics(): Promise<Map<string, number>>;
  labelValues(label: string, match: string): Promise<string[]>;
}

export interface PrometheusOptions {
  scrapeInterval: string;
  evaluationInterval: string;
  /** Rule files by name, written next to the config. */
  rules: Record<string, string>;
  /** host:port of Alertmanager */
  alertmanager: string;
  job: string;
  /**
   * Scrape with `authorization` (Bearer) from a credentials file, as
   * deploy/prometheus/scrape.yml shows: the sidecar's /metrics then carries
   * identity (role, account).
   */
  bearerToken?: string;
}

interface ApiAnswer<T> {
  status: string;
  error?: string;
  data: T;
}

async function api<T>(url: string): Promise<T> {
  const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  const body = (await res.json()) as ApiAnswer<T>;
  if (body.status !== 'success') throw new Error(`${url}: ${body.error ?? res.status}`);
  return body.data;
}

export async function startPrometheus(opts: PrometheusOptions): Promise<Prometheus> {
  const ruleFiles = Object.keys(opts.rules);
  const config = [
    'global:',
    `  scrape_interval: ${opts.scrapeInterval}`,
    `  scrape_timeout: ${opts.scrapeInterval}`,
    `  evaluation_interval: ${opts.evaluationInterval}`,
    'rule_files:',
    ...ruleFiles.map((f) => `  - ${f}`),
    'alerting:',
    '  alertmanagers:',
    '    - api_version: v2',
    '      static_configs:',
    `        - targets: ["${opts.alertmanager}"]`,
    'scrape_configs:',
    `  - job_name: ${opts.job}`,
    '    file_sd_configs:',
    '      - files: [targets.json]',
    '        refresh_interval: 1s',
    ...(opts.bearerToken === undefined
      ? []
      : ['    authorization:', '      type: Bearer', '      credentials_file: scrape-token']),
    '',
  ].join('\n');
  const peer = await startPeer({
    name: 'prometheus',
    bin: 'prometheus',
    pkg: 'prometheus',
    files: {
      'prometheus.yml': config,
      'targets.json': '[]',
      ...(opts.bearerToken === undefined ? {} : { 'scrape-token': opts.bearerToken }),
      ...opts.rules,
    },
    args: (dir, port) => [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      '--storage.tsdb.retention.time=2h',
      `--web.listen-address=127.0.0.1:${port}`,
      '--web.enable-lifecycle',
      '--log.level=warn',
    ],
    readyPath: '/-/ready',
  });
  const base = peer.url;
  return {
    ...peer,
    setTargets(groups) {
      const file = join(peer.dir, 'targets.json');
      writeFileSync(`${file}.tmp`, JSON.stringify(groups));
      renameSync(`${file}.tmp`, file);
    },
    async query(expr) {
      const data = await api<{
        result: { metric: Record<string, string>; value: [number, string] }[];
      }>(`${base}/api/v1/query?query=${encodeURIComponent(expr)}`);
      return data.result.map((r) => ({ metric: r.metric, value: Number(r.value[1]) }));
    },
    async queryRange(expr, seconds, stepSeconds) {
      const end = Date.now() / 1000;
      const data = await api<{ result: unknown[] }>(
        `${base}/api/v1/query_range?query=${encodeURIComponent(expr)}&start=${end - seconds}&end=${end}&step=${stepSeconds}`,
      );
      return data.result.length;
    },
    async ownMetrics() {
      const text = await (
        await fetch(`${base}/metrics`, { signal: AbortSignal.timeout(10_000) })
      ).text();
      const out = new Map<string, number>();
      for (const line of text.split('\n')) {
        if (line === '' || line.startsWith('#')) continue;
        const i = line.lastIndexOf(' ');
        out.set(line.slice(0, i), Number(line.slice(i + 1)));
      }
      return out;
    },
    async labelValues(label, match) {
      return api<string[]>(
        `${base}/api/v1/label/${encodeURIComponent(label)}/values?match[]=${encodeURIComponent(match)}`,
      );
    },
  };
}

/** Resident memory of a PID from /proc, in bytes. */
export function rssBytes(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m?.[1] ? Number(m[1]) * 1024 : Number.NaN;
}
