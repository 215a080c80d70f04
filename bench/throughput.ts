// Item 1: /healthz, /livez, /metrics under autocannon, each next to a bare
// Fastify route returning the same bytes (captured from the sidecar just
// before), in the same run. Two loads: saturating (fixed connections, as fast
// as answered: throughput) and a fixed request rate (latency of the route
// itself rather than of a queue). /healthz is measured again while every
// probe hangs on a black-holed S3.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CannedAnswer } from './baseline-server.ts';
import { getText } from './http.ts';
import { type Lane, type Sidecar, spawnSidecar } from './lane.ts';
import type { LoadResult, LoadSpec } from './load.ts';
import { baseEnv, freePort, ROOT, spawnNode, stopProc, waitFor } from './procs.ts';
import { type Section, type Target, table } from './report.ts';
import { fmt, ratio } from './stats.ts';

export interface ThroughputOptions {
  connections: number;
  durationSeconds: number;
  /** requests per second for the latency runs */
  rate: number;
  rateConnections: number;
}

async function load(spec: LoadSpec): Promise<LoadResult> {
  const p = spawnNode('autocannon', ['bench/load.ts', JSON.stringify(spec)], baseEnv());
  const code = await p.exited;
  const last = p.output().trim().split('\n').at(-1) ?? '';
  if (code !== 0 || !last.startsWith('{')) {
    throw new Error(`load generator failed (${code}): ${p.output().slice(-1000)}`);
  }
  return JSON.parse(last) as LoadResult;
}

async function capture(url: string): Promise<CannedAnswer> {
  const r = await getText(url);
  return { status: r.status, contentType: r.contentType, body: r.body };
}

interface Pair {
  label: string;
  sidecar: LoadResult;
  bare: LoadResult;
}

/** Bare first, then the sidecar, each after a one-second warm-up that is thrown away. */
async function pair(
  label: string,
  sidecarUrl: string,
  bareUrl: string,
  connections: number,
  durationSeconds: number,
  overallRate: number,
): Promise<Pair> {
  const spec = (url: string, d: number): LoadSpec => ({
    url,
    connections,
    durationSeconds: d,
    overallRate,
  });
  await load(spec(bareUrl, 1));
  const bare = await load(spec(bareUrl, durationSeconds));
  await load(spec(sidecarUrl, 1));
  const sidecar = await load(spec(sidecarUrl, durationSeconds));
  return { label, sidecar, bare };
}

function codes(r: LoadResult): string {
  return Object.entries(r.statusCodes)
    .map(([c, n]) => `${c}×${n}`)
    .join(' ');
}

function rows(pairs: Pair[]): string[][] {
  const out: string[][] = [];
  for (const p of pairs) {
    for (const [who, r] of [
      ['sidecar', p.sidecar],
      ['bare', p.bare],
    ] as const) {
      out.push([
        who === 'sidecar' ? p.label : '',
        who === 'sidecar' ? 'sidecar' : '**bare baseline**',
        fmt(r.requestsPerSecond, 0),
        `${fmt(r.latencyMs.p50, 0)} / ${fmt(r.latencyMs.p99, 0)} / ${fmt(r.latencyMs.max, 0)}`,
        codes(r) + (r.errors > 0 ? `, ${r.errors} errors` : ''),
        who === 'sidecar'
          ? `${fmt(ratio(p.sidecar.requestsPerSecond, p.bare.requestsPerSecond), 2)}× req/s`
          : '',
      ]);
    }
  }
  return out;
}

const HEAD = ['route', 'server', 'req/s', 'latency p50 / p99 / max (ms)', 'status codes', 'ratio'];

export async function benchThroughput(
  healthy: Sidecar,
  blackholeLane: Lane,
  opts: ThroughputOptions,
): Promise<Section> {
  // A second sidecar whose probes always hang: S3 black-holed, 1 s interval and timeout.
  blackholeLane.proxy.setMode('blackhole');
  const hung = await spawnSidecar(blackholeLane, { intervalSeconds: 1, timeoutSeconds: 1 });
  const port = await freePort();
  let bare: ReturnType<typeof spawnNode> | undefined;
  try {
    await waitFor(
      'black-holed sidecar answers 503',
      async () => ((await getText(`${hung.url}/healthz`)).status === 503 ? true : undefined),
      30_000,
      100,
    );
    const canned: Record<string, CannedAnswer> = {
      '/healthz': await capture(`${healthy.url}/healthz`),
      '/livez': await capture(`${healthy.url}/livez`),
      '/metrics': await capture(`${healthy.url}/metrics`),
      '/healthz-hung': await capture(`${hung.url}/healthz`),
    };
    const dir = join(ROOT, 'bench', 'out');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, 'canned.json');
    writeFileSync(file, JSON.stringify(canned));
    bare = spawnNode('baseline-server', ['bench/baseline-server.ts', String(port), file], {
      ...baseEnv(),
    });
    const bareUrl = `http://127.0.0.1:${port}`;
    await waitFor(
      'baseline server',
      async () => ((await getText(`${bareUrl}/livez`)).status === 200 ? true : undefined),
      15_000,
    );

    const { connections: c, durationSeconds: d, rate, rateConnections: rc } = opts;
    const saturated: Pair[] = [];
    const fixed: Pair[] = [];
    for (const path of ['/healthz', '/livez', '/metrics']) {
      saturated.push(await pair(path, `${healthy.url}${path}`, `${bareUrl}${path}`, c, d, 0));
    }
    saturated.push(
      await pair(
        '/healthz, S3 black-holed',
        `${hung.url}/healthz`,
        `${bareUrl}/healthz-hung`,
        c,
        d,
        0,
      ),
    );
    for (const path of ['/healthz', '/metrics']) {
      fixed.push(await pair(path, `${healthy.url}${path}`, `${bareUrl}${path}`, rc, d, rate));
    }
    fixed.push(
      await pair(
        '/healthz, S3 black-holed',
        `${hung.url}/healthz`,
        `${bareUrl}/healthz-hung`,
        rc,
        d,
        rate,
      ),
    );

    const [hz, , metrics, hzHung] = saturated;
    const [fHz, fMetrics, fHung] = fixed;
    if (!hz || !metrics || !hzHung || !fHz || !fMetrics || !fHung) throw new Error('missing runs');
    const hzRatio = ratio(hz.sidecar.requestsPerSecond, hz.bare.requestsPerSecond);
    const targets: Target[] = [
      {
        item: '/healthz throughput vs bare Fastify route',
        target: '≥ 0.8×',
        measured: `${fmt(hzRatio, 2)}× (${fmt(hz.sidecar.requestsPerSecond, 0)} vs ${fmt(hz.bare.requestsPerSecond, 0)} req/s at ${c} connections)`,
        met: hzRatio >= 0.8,
        limit:
          'per request the handler takes a fresh snapshot of the store (verdicts recomputed with staleness) and serialises the health document; the bare route sends a constant string. Caching the serialised document per (cycle, second) in src/http/routes/healthz.ts would close most of the gap.',
      },
      {
        item: '/healthz p99 while probes hang on a black-holed S3',
        target: '< 5 ms',
        measured: `${fmt(fHung.sidecar.latencyMs.p99, 0)} ms at ${rate} req/s (bare: ${fmt(fHung.bare.latencyMs.p99, 0)} ms); saturated at ${c} connections: ${fmt(hzHung.sidecar.latencyMs.p99, 0)} ms (bare ${fmt(hzHung.bare.latencyMs.p99, 0)} ms)`,
        met: fHung.sidecar.latencyMs.p99 < 5,
        limit:
          'latency at this rate is dominated by the machine (2 shared cores, load generator on the same host); compare with the bare route in the same row.',
      },
      {
        item: '/metrics p99',
        target: '< 10 ms',
        measured: `${fmt(fMetrics.sidecar.latencyMs.p99, 0)} ms at ${rate} req/s (bare: ${fmt(fMetrics.bare.latencyMs.p99, 0)} ms); saturated: ${fmt(metrics.sidecar.latencyMs.p99, 0)} ms`,
        met: fMetrics.sidecar.latencyMs.p99 < 10,
        limit: `the exposition is ${fmt(canned['/metrics']?.body.length ?? 0, 0)} bytes (every check×step histogram pre-created at zero plus Node default metrics) and prom-client renders it afresh per scrape.`,
      },
    ];
    const sizes = Object.entries(canned)
      .map(([p, a]) => `${p} ${a.status} ${a.body.length} B`)
      .join('; ');
    const body = `Load: autocannon (programmatic API) in its own process. **Saturating**: ${c} connections for ${d} s, as fast as answered (throughput). **Fixed rate**: ${rc} connections at ${rate} req/s overall for ${d} s (the route's own latency, not a queue's). Each run follows a 1 s warm-up that is discarded; the bare run goes first, then the sidecar. Latencies are autocannon's, at 1 ms resolution (a p99 of 1 means under 2 ms). The bare baseline is a default Fastify in its own process whose routes return the bytes, status and content type captured from the sidecar just before (${sizes}).

The healthy sidecar runs at the default 30 s interval; the black-holed one has S3 answering nothing, interval 1 s, timeout 1 s, so a probe is hanging almost all the time.

**Saturating (throughput)**

${table(HEAD, rows(saturated))}

**Fixed rate (latency)**

${table(HEAD, rows(fixed))}`;
    return {
      title: '1. Endpoint throughput and latency',
      body,
      targets,
      headlines: [
        `/healthz ${fmt(hzRatio, 2)}× a bare Fastify route's req/s (${fmt(hz.sidecar.requestsPerSecond, 0)} vs ${fmt(hz.bare.requestsPerSecond, 0)})`,
        `/healthz p99 with S3 black-holed: ${fmt(fHung.sidecar.latencyMs.p99, 0)} ms at ${rate} req/s; /metrics p99 ${fmt(fMetrics.sidecar.latencyMs.p99, 0)} ms`,
      ],
    };
  } finally {
    await hung.close();
    if (bare) await stopProc(bare);
    blackholeLane.proxy.setMode('pass');
  }
}
