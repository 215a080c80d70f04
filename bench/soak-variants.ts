// `npm run soak -- --minutes N --interval S`: how s3-health's memory behaves
// over a long run, however it is started, side by side in one run against one
// local ground over HTTPS (radosgw and STS with the run's CA):
//   - the bin with no flags (`node dist/cli.js serve`, as npx and a process
//     manager start it: it sets its own V8 limits, src/heap-limits.ts);
//   - the image's runtime (NODE_OPTIONS as the Dockerfile sets them);
//   - the bin under jemalloc (LD_PRELOAD), where Debian's libjemalloc2 is;
//   - a bare node process, the baseline.
// RSS from /proc, heap and external memory from each sidecar's /metrics,
// every 10 s. Writes bench/soak-results.md (commit, clean or dirty tree) and
// bench/soak-results.svg beside it. Not part of CI: it takes what it measures.
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { withProbeRole } from '../ground/radosgw/info.ts';
import { type Radosgw, startRadosgw } from '../ground/radosgw/radosgw.ts';
import { installNetworkGuard } from '../ground/shared/network-guard.ts';
import { startBareNode } from './bare-node.ts';
import { prepareServeBundle } from './bundle.ts';
import { formatMarkdown } from './format-md.ts';
import { getText, metricValue } from './http.ts';
import {
  type Lane,
  type Sidecar,
  setDefaultScript,
  spawnSidecar,
  startLane,
  untilFirstVerdict,
} from './lane.ts';
import { machineAtStart, provenance } from './machine.ts';
import { ROOT, rssBytes, sleep } from './procs.ts';
import { renderSoakSvg, type SvgSeries } from './soak-svg.ts';
import { fmt, mib, slope } from './stats.ts';

const JEMALLOC = '/usr/lib/x86_64-linux-gnu/libjemalloc.so.2';
const SAMPLE_S = 10;

interface Variant {
  name: string;
  env: Record<string, string>;
}

interface Point {
  minutes: number;
  cycles: number;
  rss: number;
  heap: number;
  external: number;
  /** /proc/PID/smaps_rollup: anonymous memory (heaps, malloc) and file-backed pages (Node's binary) */
  anon: number;
  file: number;
}

/** Pss_Anon and Pss_File of a process, in bytes (NaN when it is gone). */
function smapsRollup(pid: number | undefined): { anon: number; file: number } {
  try {
    const text = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
    const kb = (field: string) =>
      Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text)?.[1]) * 1024;
    return { anon: kb('Pss_Anon'), file: kb('Pss_File') };
  } catch {
    return { anon: Number.NaN, file: Number.NaN };
  }
}

/** What the image runs with: the Dockerfile's RUNTIME_NODE_OPTIONS default and its MALLOC_ARENA_MAX. */
function imageEnv(): Record<string, string> {
  const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
  const options = /^ARG RUNTIME_NODE_OPTIONS="?([^"\n]*)"?$/m.exec(dockerfile)?.[1];
  const arenas = /^\s+MALLOC_ARENA_MAX=(\d+)/m.exec(dockerfile)?.[1];
  if (options === undefined || arenas === undefined)
    throw new Error('no RUNTIME_NODE_OPTIONS or MALLOC_ARENA_MAX in the Dockerfile');
  return { NODE_OPTIONS: options, MALLOC_ARENA_MAX: arenas };
}

function variants(): Variant[] {
  const out: Variant[] = [
    { name: 'bin, no flags', env: {} },
    { name: 'image runtime', env: imageEnv() },
  ];
  if (existsSync(JEMALLOC)) out.push({ name: 'bin + jemalloc', env: { LD_PRELOAD: JEMALLOC } });
  return out;
}

async function look(s: Sidecar, t0: number): Promise<Point> {
  const m = (await getText(`${s.url}/metrics`, 5000)).body;
  return {
    minutes: (performance.now() - t0) / 60_000,
    cycles: metricValue(m, 's3_health_cycles_total') ?? 0,
    rss: rssBytes(s.proc.pid),
    heap: metricValue(m, 'nodejs_heap_size_used_bytes') ?? Number.NaN,
    external: metricValue(m, 'nodejs_external_memory_bytes') ?? Number.NaN,
    ...smapsRollup(s.proc.pid),
  };
}

/** Per-window minima of RSS (one a window): the floor a GC sawtooth returns to. */
function windowMinima(points: readonly Point[], windowMinutes: number): Point[] {
  const by = new Map<number, Point>();
  for (const p of points) {
    const w = Math.floor(p.minutes / windowMinutes);
    const seen = by.get(w);
    if (seen === undefined || p.rss < seen.rss) by.set(w, p);
  }
  return [...by.values()];
}

interface Summary {
  name: string;
  peak: number;
  /** the sample at the peak */
  atPeak: Point | undefined;
  end: number;
  cycles: number;
  /** B of RSS per cycle over the window minima after the warm-up */
  slopePerCycle: number;
}

function summarise(name: string, points: readonly Point[], warmup: number): Summary {
  const kept = windowMinima(
    points.filter((p) => p.minutes >= warmup),
    5,
  );
  const peak = Math.max(...points.map((p) => p.rss));
  return {
    name,
    peak,
    atPeak: points.find((p) => p.rss === peak),
    end: points.at(-1)?.rss ?? Number.NaN,
    cycles: points.at(-1)?.cycles ?? 0,
    slopePerCycle: slope(
      kept.map((p) => p.cycles),
      kept.map((p) => p.rss),
    ),
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      minutes: { type: 'string', default: '120' },
      interval: { type: 'string', default: '0.5' },
    },
  });
  const minutes = Number(values.minutes);
  const interval = Number(values.interval);
  if (!(minutes > 0) || !(interval >= 0.1)) {
    throw new Error('usage: npm run soak -- --minutes N --interval S (S ≥ 0.1)');
  }
  const warmup = Math.min(20, minutes / 3);
  const prov = provenance();
  const machine = machineAtStart();
  // The soak itself never asks the real metadata service for anything.
  installNetworkGuard('the soak');
  process.env.AWS_EC2_METADATA_DISABLED = 'true';
  let rgw: Radosgw | undefined;
  const lanes: Lane[] = [];
  const sidecars: Sidecar[] = [];
  const bare = await startBareNode();
  try {
    rgw = await startRadosgw();
    const info = await withProbeRole(rgw);
    setDefaultScript((await prepareServeBundle()).script);
    const vs = variants();
    for (const v of vs) {
      const lane = await startLane(info, `soak-${lanes.length}`);
      lanes.push(lane);
      // S3 over HTTPS straight to radosgw (not the lane's counting proxy), as production.
      const s = await spawnSidecar(lane, {
        intervalSeconds: interval,
        timeoutSeconds: Math.min(5, interval),
        env: {
          AWS_ENDPOINT_URL_S3: lane.ground.env.AWS_ENDPOINT_URL_S3 ?? '',
          S3_HEALTH_LOG_LEVEL: 'warn',
          ...v.env,
        },
      });
      sidecars.push(s);
      await untilFirstVerdict(s);
    }
    const samplesFile = join(ROOT, 'bench', 'out', 'soak-samples.jsonl');
    mkdirSync(dirname(samplesFile), { recursive: true });
    writeFileSync(samplesFile, '');
    const t0 = performance.now();
    const series: Point[][] = vs.map(() => []);
    const bareSeries: Point[] = [];
    const end = t0 + minutes * 60_000;
    let lastLog = -5;
    while (performance.now() < end) {
      for (const [i, s] of sidecars.entries()) series[i]?.push(await look(s, t0));
      const b = rssBytes(bare.proc.pid);
      bareSeries.push({
        minutes: (performance.now() - t0) / 60_000,
        cycles: 0,
        rss: b,
        heap: Number.NaN,
        external: Number.NaN,
        ...smapsRollup(bare.proc.pid),
      });
      const now = (performance.now() - t0) / 60_000;
      // Every sample of every variant, for a look beyond the table.
      appendFileSync(
        samplesFile,
        `${JSON.stringify({ t: now, variants: series.map((ps, i) => ({ name: vs[i]?.name, ...ps.at(-1) })), bare: bareSeries.at(-1) })}\n`,
      );
      if (now - lastLog >= 5) {
        lastLog = now;
        const rs = series.map((ps, i) => `${vs[i]?.name} ${mib(ps.at(-1)?.rss ?? 0)}`).join(', ');
        process.stdout.write(`[soak ${fmt(now, 0)} min] ${rs}; bare ${mib(b)}\n`);
      }
      await sleep(SAMPLE_S * 1000);
    }
    const bareRss = Math.max(...bareSeries.map((p) => p.rss));
    const rows = vs.map((v, i) => summarise(v.name, series[i] ?? [], warmup));
    const md = [
      '# s3-health soak',
      '',
      `commit ${prov.commit}`,
      '',
      `tree: ${prov.dirty.length === 0 ? 'clean' : `dirty (${prov.dirty.length} files changed when the run started)`}`,
      '',
      `Written by \`npm run soak -- --minutes ${minutes} --interval ${interval}\` (bench/soak-variants.ts; every sample in bench/out/soak-samples.jsonl). ${vs.length} sidecars side by side, each on its own bucket of one radosgw, S3 and STS over HTTPS with the run's CA, a cycle every ${interval} s for ${minutes} minutes (the default interval is 30 s: ${fmt((minutes * 60) / interval / 2880, 1)} days of cycles), next to a bare node process; samples every ${SAMPLE_S} s. Machine: ${machine.nproc} CPUs, ${machine.cpuModel}, Node ${process.version}, ${new Date().toISOString().slice(0, 10)}.`,
      '',
      `Slope: least squares of RSS against cycles over the per-5-minute minima from minute ${fmt(warmup, 0)} on (the floor a GC sawtooth returns to).`,
      '',
      "At the peak: anonymous memory (V8 heap, malloc) and file-backed pages (mostly Node's binary), from `/proc/PID/smaps_rollup` (Pss), and the V8 heap in use from `/metrics`.",
      '',
      '| variant | peak RSS | peak ÷ bare node | end RSS | cycles | slope from minute ' +
        fmt(warmup, 0) +
        ' | at peak: anon / file / heap used |',
      '| --- | --- | --- | --- | --- | --- | --- |',
      ...rows.map(
        (r) =>
          `| ${r.name} | ${mib(r.peak)} | ${fmt(r.peak / bareRss, 2)}× | ${mib(r.end)} | ${r.cycles} | ${fmt(r.slopePerCycle, 0)} B per cycle | ${mib(r.atPeak?.anon ?? 0)} / ${mib(r.atPeak?.file ?? 0)} / ${mib(r.atPeak?.heap ?? 0)} |`,
      ),
      `| bare node | ${mib(bareRss)} | 1× | ${mib(bareSeries.at(-1)?.rss ?? 0)} | — | — | ${mib(bareSeries.at(-1)?.anon ?? 0)} / ${mib(bareSeries.at(-1)?.file ?? 0)} / — |`,
      '',
      '![RSS, heap and external memory over time](soak-results.svg)',
      '',
    ].join('\n');
    const file = join(ROOT, 'bench', 'soak-results.md');
    writeFileSync(file, md);
    formatMarkdown(ROOT, file);
    const svg: SvgSeries[] = [
      ...vs.map((v, i) => ({ name: v.name, points: series[i] ?? [] })),
      { name: 'bare node', points: bareSeries },
    ];
    writeFileSync(join(ROOT, 'bench', 'soak-results.svg'), renderSoakSvg(svg));
    process.stdout.write(`${md}\n[soak] wrote bench/soak-results.md and bench/soak-results.svg\n`);
  } finally {
    await Promise.allSettled(sidecars.map((s) => s.close()));
    await Promise.allSettled(lanes.map((l) => l.close()));
    await bare.close();
    await rgw?.stop();
  }
}

await main();
