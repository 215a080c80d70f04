// The long runs behind items 2 and 5: sidecars at a short interval until
// they have done `targetCycles` cycles, next to a bare node process
// started at the same moment. Two sidecars side by side, in separate lanes:
// one left alone (what RSS does on its own, sampled every second), one whose
// heap is fully collected every 100 cycles through the inspector (what it
// really retains: the leak test), and one with a capped V8 heap (a
// deployment option, to show what it does to RSS).
import { startBareNode } from './bare-node.ts';
import { gcAndMeasure, type HeapAfterGc } from './inspector.ts';
import { type Lane, spawnSidecar, untilFirstVerdict } from './lane.ts';
import { freePort, rssBytes, sleep } from './procs.ts';
import { failuresByReason, markUsage, type Sample, sample, type Usage } from './sampling.ts';

export interface Retained {
  cycles: number;
  heapBytes: number;
  rssBytes: number;
  /** memory of C++ objects bound to JS (Buffers included) */
  externalBytes: number;
}

export interface Breakdown {
  rss: number;
  heap: HeapAfterGc;
}

export interface CycleRun {
  intervalSeconds: number;
  timeoutSeconds: number;
  /** the sidecar left alone */
  samples: Sample[];
  /** cycles and seconds between its first and last sample */
  cycles: number;
  seconds: number;
  cpuSeconds: number;
  usage: Usage;
  failures: Record<string, number>;
  finalRss: number;
  /** a bare node:http process started alongside (issue 13's baseline) */
  baselineRss: number;
  /** the second sidecar, right after each forced full GC */
  retained: Retained[];
  /** where RSS goes, after a full GC: the --inspect sidecar at its last measurement, and a bare node */
  breakdown?: { sidecar: Breakdown; bare: Breakdown };
  /** the third sidecar, with a capped heap */
  capped: { nodeArgs: string[]; cycles: number; finalRss: number };
}

interface Opts {
  intervalSeconds: number;
  timeoutSeconds: number;
  targetCycles: number;
  maxMs: number;
}

async function leftAlone(lane: Lane, opts: Opts, nodeArgs: string[] = []) {
  const s = await spawnSidecar(lane, { ...opts, nodeArgs });
  try {
    await untilFirstVerdict(s);
    const t0 = performance.now();
    const usage = markUsage(lane, s);
    const samples: Sample[] = [await sample(s, t0)];
    const deadline = t0 + opts.maxMs;
    for (;;) {
      await sleep(1000);
      const x = await sample(s, t0);
      samples.push(x);
      if (x.cycles >= opts.targetCycles || performance.now() > deadline) break;
    }
    return { samples, usage: usage.read(), failures: await failuresByReason(s) };
  } finally {
    await s.close();
  }
}

async function collected(
  lane: Lane,
  opts: Opts,
  every: number,
): Promise<{ retained: Retained[]; last?: Breakdown }> {
  const inspectPort = await freePort();
  const s = await spawnSidecar(lane, { ...opts, nodeArgs: [`--inspect=127.0.0.1:${inspectPort}`] });
  const out: Retained[] = [];
  let last: Breakdown | undefined;
  try {
    await untilFirstVerdict(s);
    const deadline = performance.now() + opts.maxMs;
    let next = every;
    for (;;) {
      await sleep(250);
      const { cycles } = await sample(s, 0);
      if (cycles >= next) {
        const heap = await gcAndMeasure(inspectPort);
        const rss = rssBytes(s.proc.pid);
        last = { rss, heap };
        out.push({
          cycles,
          heapBytes: heap.usedBytes,
          rssBytes: rss,
          externalBytes: heap.external,
        });
        next += every;
      }
      if (cycles >= opts.targetCycles || performance.now() > deadline) break;
    }
    return { retained: out, ...(last ? { last } : {}) };
  } finally {
    await s.close();
  }
}

export const CAP_ARGS = ['--max-old-space-size=32'];

/** A bare node process measured the way the --inspect sidecar is: inspector on, after a full GC. */
async function bareBreakdown(): Promise<Breakdown> {
  const port = await freePort();
  const bare = await startBareNode([`--inspect=127.0.0.1:${port}`]);
  try {
    const heap = await gcAndMeasure(port);
    return { rss: rssBytes(bare.proc.pid), heap };
  } finally {
    await bare.close();
  }
}

export async function runCycles(
  lane: Lane,
  gcLane: Lane,
  capLane: Lane,
  opts: Opts,
): Promise<CycleRun> {
  const baseline = await startBareNode();
  try {
    const [alone, gc, capped] = await Promise.all([
      leftAlone(lane, opts),
      collected(gcLane, opts, 100),
      leftAlone(capLane, opts, CAP_ARGS),
    ]);
    const cappedLast = capped.samples.at(-1);
    const first = alone.samples[0];
    const last = alone.samples.at(-1);
    if (!first || !last) throw new Error('no samples');
    return {
      intervalSeconds: opts.intervalSeconds,
      timeoutSeconds: opts.timeoutSeconds,
      samples: alone.samples,
      cycles: last.cycles - first.cycles,
      seconds: (last.t - first.t) / 1000,
      cpuSeconds: last.cpu - first.cpu,
      usage: alone.usage,
      failures: alone.failures,
      finalRss: last.rss,
      baselineRss: rssBytes(baseline.proc.pid),
      retained: gc.retained,
      ...(gc.last ? { breakdown: { sidecar: gc.last, bare: await bareBreakdown() } } : {}),
      capped: {
        nodeArgs: CAP_ARGS,
        cycles: cappedLast?.cycles ?? Number.NaN,
        finalRss: cappedLast?.rss ?? Number.NaN,
      },
    };
  } finally {
    await baseline.close();
  }
}
