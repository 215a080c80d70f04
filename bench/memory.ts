// Item 2: RSS idle and after 1,000 cycles against the bare baseline process,
// and whether heap or RSS grow with cycles.
import { totalmem } from 'node:os';
import type { Breakdown, CycleRun } from './cycles.ts';
import type { IdleRun } from './idle.ts';
import { type Section, table } from './report.ts';
import { fmt, mib, ratio, slope } from './stats.ts';

/** Issue 13: idle RSS of `s3-health serve` at most twice a bare node process of the same binary. */
const RSS_TARGET = 2.0;
/** "no growth": under 1 KiB per cycle, i.e. < 1 MiB over the 1,000 cycles. */
const FLAT_BYTES_PER_CYCLE = 1024;

const SPACES: [string, string][] = [
  ['old_space', 'old space: long-lived objects (loaded modules, their closures and data)'],
  ['new_space', "new space: the young generation's semi-spaces"],
  ['code_space', 'code space: compiled machine code'],
  ['trusted_space', 'trusted space: bytecode and other trusted objects'],
  ['large_object_space', 'large objects'],
];

/** Where RSS goes after a full GC, sidecar next to a bare node, both with an inspector attached. */
function breakdownTable(b: { sidecar: Breakdown; bare: Breakdown }): string {
  const heapTotal = (x: Breakdown) => Object.values(x.heap.spaces).reduce((a, v) => a + v, 0);
  const named = new Set(SPACES.map(([k]) => k));
  const otherSpaces = (x: Breakdown) =>
    Object.entries(x.heap.spaces)
      .filter(([k]) => !named.has(k))
      .reduce((a, [, v]) => a + v, 0);
  const rest = (x: Breakdown) => x.rss - heapTotal(x) - x.heap.external;
  const row = (label: string, f: (x: Breakdown) => number) => [
    label,
    mib(f(b.sidecar)),
    mib(f(b.bare)),
    mib(f(b.sidecar) - f(b.bare)),
  ];
  return table(
    ['after a full GC', 'sidecar', 'bare node', 'difference'],
    [
      row('**RSS**', (x) => x.rss),
      row('V8 heap pages, all spaces', heapTotal),
      ...SPACES.map(([k, label]) => row(`  ${label}`, (x) => x.heap.spaces[k] ?? 0)),
      row('  other spaces', otherSpaces),
      row('external: Buffers, strings and C++ objects outside the heap', (x) => x.heap.external),
      row('the rest: native code and data of node and V8, malloc, stacks', rest),
    ],
  );
}

export function memorySection(run: CycleRun, idle: IdleRun): Section {
  // The first fifth is warm-up (JIT, lazily loaded SDK modules, pools filling).
  const from = (run.samples[0]?.cycles ?? 0) + run.cycles / 5;
  const steady = run.samples.filter((s) => s.cycles >= from);
  const aloneRss = slope(
    steady.map((s) => s.cycles),
    steady.map((s) => s.rss),
  );
  const aloneHeap = slope(
    steady.map((s) => s.cycles),
    steady.map((s) => s.heapUsed),
  );
  const kept = run.retained.filter((r) => r.cycles >= 200);
  const heapSlope = slope(
    kept.map((r) => r.cycles),
    kept.map((r) => r.heapBytes),
  );
  const rssSlope = slope(
    kept.map((r) => r.cycles),
    kept.map((r) => r.rssBytes),
  );
  const extSlope = slope(
    kept.map((r) => r.cycles),
    kept.map((r) => r.externalBytes),
  );
  const lastKept = run.retained.at(-1);
  const idleRss = idle.end.rss;
  const idleRatio = ratio(idleRss, idle.bareNodeRss);
  const idleStackRatio = ratio(idleRss, idle.baselineRss);
  const afterRatio = ratio(run.finalRss, run.baselineRss);
  const gcRatio = ratio(lastKept?.rssBytes ?? Number.NaN, run.baselineRss);
  const cappedRatio = ratio(run.capped.finalRss, run.baselineRss);
  const totalCycles = run.samples.at(-1)?.cycles ?? run.cycles;
  // Only growth counts against it; a negative slope is the last of the warm-up coming off.
  const heapFlat = heapSlope < FLAT_BYTES_PER_CYCLE;
  const rssFlat = rssSlope < FLAT_BYTES_PER_CYCLE;
  const first = run.samples[0];
  const last = run.samples.at(-1);
  const body = `${table(
    ['figure', 'sidecar', '**baseline**: a bare node:http process', 'ratio'],
    [
      [
        `RSS idle (default interval ${idle.intervalSeconds} s, ${idle.windowSeconds} s after the first verdict)`,
        mib(idleRss),
        mib(idle.bareNodeRss),
        `${fmt(idleRatio, 2)}×`,
      ],
      [
        'reference: the same idle RSS vs a process that only imports Fastify and the SDK clients and listens',
        mib(idleRss),
        mib(idle.baselineRss),
        `${fmt(idleStackRatio, 2)}×`,
      ],
      [
        `RSS after ${fmt(totalCycles, 0)} cycles (interval ${run.intervalSeconds} s), left alone`,
        mib(run.finalRss),
        mib(run.baselineRss),
        `${fmt(afterRatio, 2)}×`,
      ],
      [
        `RSS after ${fmt(run.capped.cycles, 0)} cycles, left alone with \`node ${run.capped.nodeArgs.join(' ')}\` (deployment option)`,
        mib(run.capped.finalRss),
        mib(run.baselineRss),
        `${fmt(cappedRatio, 2)}×`,
      ],
      [
        `RSS after ${fmt(lastKept?.cycles ?? Number.NaN, 0)} cycles, right after a full GC (second sidecar, with --inspect)`,
        mib(lastKept?.rssBytes ?? Number.NaN),
        mib(run.baselineRss),
        `${fmt(gcRatio, 2)}×`,
      ],
    ],
  )}

The sidecar is the bundle a user's \`s3-health serve\` runs (\`node dist/cli.js serve\`, built by \`npm run build\`; bench/bundle.ts); every process here, baselines included, is started alike, with the bench's network guard preloaded as plain JavaScript.

Three sidecars ran the ${fmt(totalCycles, 0)} cycles side by side (separate lanes; the third one, with a capped heap, is otherwise like the first). The first was left alone and sampled once a second (its own /metrics for the V8 heap, /proc/PID/status for RSS). The second was started with \`--inspect\` and, every 100 cycles, had its heap fully collected through the DevTools protocol (\`HeapProfiler.collectGarbage\`) and measured right after (\`Runtime.getHeapUsage\`, RSS from /proc): that is what the process retains, the leak test.

${table(
  ['series', 'first', 'last', 'slope (bytes/cycle)', 'over 1,000 cycles'],
  [
    [
      'retained heap, after a full GC every 100 cycles (from cycle 200)',
      kept[0] ? mib(kept[0].heapBytes) : 'n/a',
      lastKept ? mib(lastKept.heapBytes) : 'n/a',
      fmt(heapSlope, 0),
      mib(heapSlope * 1000),
    ],
    [
      'RSS right after those full GCs',
      kept[0] ? mib(kept[0].rssBytes) : 'n/a',
      lastKept ? mib(lastKept.rssBytes) : 'n/a',
      fmt(rssSlope, 0),
      mib(rssSlope * 1000),
    ],
    [
      'external memory (Buffers, C++ objects bound to JS) after those GCs',
      kept[0] ? mib(kept[0].externalBytes) : 'n/a',
      lastKept ? mib(lastKept.externalBytes) : 'n/a',
      fmt(extSlope, 0),
      mib(extSlope * 1000),
    ],
    [
      'left alone: V8 heap used (garbage included)',
      first ? mib(first.heapUsed) : 'n/a',
      last ? mib(last.heapUsed) : 'n/a',
      fmt(aloneHeap, 0),
      mib(aloneHeap * 1000),
    ],
    [
      'left alone: RSS',
      first ? mib(first.rss) : 'n/a',
      last ? mib(last.rss) : 'n/a',
      fmt(aloneRss, 0),
      mib(aloneRss * 1000),
    ],
  ],
)}

${
  run.breakdown
    ? `Where the memory goes, after the last full GC of the --inspect sidecar, next to a bare node process started with --inspect and measured the same way (\`v8.getHeapSpaceStatistics()\` and \`process.memoryUsage()\` through the inspector, RSS from /proc):

${breakdownTable(run.breakdown)}

`
    : ''
}"No growth" is taken as under ${FLAT_BYTES_PER_CYCLE} bytes a cycle (under 1 MiB over 1,000 cycles): retained heap ${heapFlat ? 'met' : '**not met**'}, RSS after full GCs ${rssFlat ? 'met' : '**not met**'}. The left-alone figures grow because V8 collects the old generation lazily while memory is plentiful (${mib(totalmem())} here): each cycle leaves garbage behind and a full collection reclaims it. Failed checks in the left-alone run (the short timeout of ${run.timeoutSeconds} s on a loaded machine): ${
    Object.entries(run.failures)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ') || 'none'
  }.`;
  const limit = `the left-alone sidecar holds garbage, not live data: right after a full GC the same workload sits at ${fmt(gcRatio, 2)}× the baseline (with an inspector attached). It is what each cycle allocates — a fresh SDK credential chain, five signed requests, their XML — (${fmt(aloneHeap, 0)} bytes a cycle reach the old generation). Capping the heap (\`node --max-old-space-size\`, or a container memory limit, from which Node sizes its heap) makes V8 collect before RSS climbs: with \`${run.capped.nodeArgs.join(' ')}\` the same run ends at ${fmt(cappedRatio, 2)}×; the remaining gap to the baseline is Fastify, pino, prom-client and the SDK modules loaded once a cycle has run.`;
  return {
    title: '2. Memory',
    body,
    targets: [
      {
        item: 'Idle RSS of `s3-health serve` vs a bare node process (issue 13)',
        issue: 13,
        target: `≤ ${RSS_TARGET}×`,
        measured: `${fmt(idleRatio, 2)}× (${mib(idleRss)} vs ${mib(idle.bareNodeRss)})`,
        met: idleRatio <= RSS_TARGET,
        limit: `what the sidecar loads and a bare node never touches: Fastify, pino, prom-client, the SDK modules a first cycle pulls in (clients, signers, XML parsing) and their objects in V8's old space, plus the young generation's semi-spaces (\`--max-semi-space-size=1\` trims a few MiB). A heap snapshot (\`--heapsnapshot-signal\`) ranks the modules.`,
      },
      {
        item: `RSS after ${fmt(totalCycles, 0)} cycles, left alone, vs a bare node process`,
        target: `≤ ${RSS_TARGET}×`,
        measured: `${fmt(afterRatio, 2)}× (${mib(run.finalRss)} vs ${mib(run.baselineRss)}); ${fmt(cappedRatio, 2)}× with ${run.capped.nodeArgs.join(' ')}; ${fmt(gcRatio, 2)}× right after a full GC`,
        met: afterRatio <= RSS_TARGET,
        limit,
      },
      {
        item: `Retained heap over ${fmt(totalCycles, 0)} cycles (after a full GC every 100; issue 13)`,
        issue: 13,
        target: `flat: < ${FLAT_BYTES_PER_CYCLE} B/cycle`,
        measured: `${fmt(heapSlope, 0)} B/cycle (${mib(kept[0]?.heapBytes ?? Number.NaN)} → ${mib(lastKept?.heapBytes ?? Number.NaN)})`,
        met: heapFlat,
        limit: `a leak in JavaScript objects: a heap snapshot diff between cycle 200 and the last (the --inspect sidecar) names what accumulates.`,
      },
      {
        item: 'RSS after full GCs across the cycles',
        target: `< ${FLAT_BYTES_PER_CYCLE} B/cycle`,
        measured: `${fmt(rssSlope, 0)} B/cycle`,
        met: rssFlat,
        limit: `the JS heap is flat after full GCs (${fmt(heapSlope, 0)} B/cycle) and so are Buffers and other external memory (${fmt(extSlope, 0)} B/cycle); what creeps is RSS outside both (${fmt(rssSlope, 0)} B/cycle): native allocations — malloc arena fragmentation, V8 code and metadata, socket buffers — which a thousand cycles cannot tell from a plateau. The soak (\`npm run bench -- --soak\`, an hour) reports the RSS slope after its first 10 minutes; if it keeps climbing, a native heap profile (e.g. heaptrack on the node process) would say whose it is.`,
      },
    ],
    headlines: [
      `RSS idle ${mib(idleRss)} = ${fmt(idleRatio, 2)}× a bare node process (${fmt(idleStackRatio, 2)}× one that only imports Fastify and the SDK); after ${fmt(totalCycles, 0)} cycles ${fmt(afterRatio, 2)}× left alone, ${fmt(gcRatio, 2)}× right after a full GC; retained heap ${fmt(heapSlope, 0)} B/cycle over the cycles (${heapFlat ? 'flat' : '**growing**'})`,
    ],
  };
}
