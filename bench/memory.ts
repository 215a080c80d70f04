// Item 2: RSS idle and after 1,000 cycles against the bare baseline process,
// and whether heap or RSS grow with cycles.
import type { CycleRun } from './cycles.ts';
import type { IdleRun } from './idle.ts';
import { type Section, table } from './report.ts';
import type { Sample } from './sampling.ts';
import { fmt, mib, ratio, slope } from './stats.ts';

const RSS_TARGET = 1.2;
/** "no growth": under 1 KiB per cycle, i.e. < 1 MiB over the 1,000 cycles. */
const FLAT_BYTES_PER_CYCLE = 1024;

/** The heap's floor per group of samples: the level it returns to after each GC. */
function floors(samples: Sample[], groups: number): { cycles: number; heap: number }[] {
  const size = Math.max(2, Math.floor(samples.length / groups));
  const out: { cycles: number; heap: number }[] = [];
  for (let i = 0; i + size <= samples.length; i += size) {
    const g = samples.slice(i, i + size);
    const min = g.reduce((a, b) => (b.heapUsed < a.heapUsed ? b : a));
    out.push({ cycles: min.cycles, heap: min.heapUsed });
  }
  return out;
}

export function memorySection(run: CycleRun, idle: IdleRun): Section {
  // The first fifth is warm-up (JIT, lazily loaded SDK modules, pools filling).
  const steady = run.samples.filter(
    (s) => s.cycles >= (run.samples[0]?.cycles ?? 0) + run.cycles / 5,
  );
  const rssSlope = slope(
    steady.map((s) => s.cycles),
    steady.map((s) => s.rss),
  );
  const f = floors(steady, 8);
  const heapSlope = slope(
    f.map((x) => x.cycles),
    f.map((x) => x.heap),
  );
  const idleRss = idle.end.rss;
  const idleRatio = ratio(idleRss, idle.baselineRss);
  const afterRatio = ratio(run.finalRss, run.baselineRss);
  const totalCycles = run.samples.at(-1)?.cycles ?? run.cycles;
  const flat =
    Math.abs(rssSlope) < FLAT_BYTES_PER_CYCLE && Math.abs(heapSlope) < FLAT_BYTES_PER_CYCLE;
  const first = run.samples[0];
  const last = run.samples.at(-1);
  const body = `${table(
    ['figure', 'sidecar', '**baseline** (bare Fastify + AWS SDK imports, listening)', 'ratio'],
    [
      [
        `RSS idle (default interval ${idle.intervalSeconds} s, ${idle.windowSeconds} s after the first verdict)`,
        mib(idleRss),
        mib(idle.baselineRss),
        `${fmt(idleRatio, 2)}×`,
      ],
      [
        `RSS after ${fmt(totalCycles, 0)} cycles (interval ${run.intervalSeconds} s)`,
        mib(run.finalRss),
        mib(run.baselineRss),
        `${fmt(afterRatio, 2)}×`,
      ],
    ],
  )}

Growth, over the last four fifths of the ${fmt(run.cycles, 0)}-cycle run (${fmt(steady.length, 0)} samples, one a second, from the sidecar's own /metrics and /proc/PID/status):

${table(
  ['series', 'first sample', 'last sample', 'slope (bytes/cycle)', 'over 1,000 cycles'],
  [
    [
      'RSS (least squares over all samples)',
      first ? mib(first.rss) : 'n/a',
      last ? mib(last.rss) : 'n/a',
      fmt(rssSlope, 0),
      mib(rssSlope * 1000),
    ],
    [
      'V8 heap used (least squares over the floor of 8 groups, i.e. after GC)',
      first ? mib(first.heapUsed) : 'n/a',
      last ? mib(last.heapUsed) : 'n/a',
      fmt(heapSlope, 0),
      mib(heapSlope * 1000),
    ],
  ],
)}

"No growth" is taken as under ${FLAT_BYTES_PER_CYCLE} bytes a cycle (under 1 MiB over 1,000 cycles) for both series: ${flat ? 'met' : '**not met**'}. Failed checks in the run (the short timeout of ${run.timeoutSeconds} s on a loaded machine): ${
    Object.entries(run.failures)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ') || 'none'
  }.`;
  const limit =
    'the sidecar loads pino, prom-client (and its default collectors) and, once a cycle has run, the SDK modules the bare imports never touch (credential providers, signers, XML parsers); the process runs TypeScript through Node type stripping like the baseline. A heap snapshot diff (node --heapsnapshot-signal) against the baseline would tell which module costs most.';
  return {
    title: '2. Memory',
    body,
    targets: [
      {
        item: 'RSS idle vs bare process',
        target: `≤ ${RSS_TARGET}×`,
        measured: `${fmt(idleRatio, 2)}× (${mib(idleRss)} vs ${mib(idle.baselineRss)})`,
        met: idleRatio <= RSS_TARGET,
        limit,
      },
      {
        item: `RSS after ${fmt(totalCycles, 0)} cycles vs bare process`,
        target: `≤ ${RSS_TARGET}×`,
        measured: `${fmt(afterRatio, 2)}× (${mib(run.finalRss)} vs ${mib(run.baselineRss)})`,
        met: afterRatio <= RSS_TARGET,
        limit,
      },
      {
        item: 'No growth across cycles (heap and RSS slope)',
        target: `< ${FLAT_BYTES_PER_CYCLE} B/cycle each`,
        measured: `RSS ${fmt(rssSlope, 0)} B/cycle, heap ${fmt(heapSlope, 0)} B/cycle`,
        met: flat,
        limit:
          'a slope this size over ~100 s can be the tail of warm-up; a longer run at the default interval would tell a leak from a plateau.',
      },
    ],
    headlines: [
      `RSS idle ${mib(idleRss)} = ${fmt(idleRatio, 2)}× a bare Fastify+SDK process; after ${fmt(totalCycles, 0)} cycles ${fmt(afterRatio, 2)}×; slope RSS ${fmt(rssSlope, 0)} B/cycle, heap ${fmt(heapSlope, 0)} B/cycle`,
    ],
  };
}
