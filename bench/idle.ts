// Items 2 (RSS idle), 5 and 6 at the default interval: a sidecar probing a
// healthy ground every 30 s, observed over a bounded window that starts
// right after a cycle and spans whole intervals, next to the bare baseline
// process observed over the same window.
import { startBareNode } from './bare-node.ts';
import { getText } from './http.ts';
import { type Lane, spawnSidecar, untilFirstVerdict } from './lane.ts';
import {
  baseEnv,
  cpuSeconds,
  freePort,
  rssBytes,
  sleep,
  spawnNode,
  stopProc,
  waitFor,
} from './procs.ts';
import { markUsage, type Sample, sample, type Usage } from './sampling.ts';

export interface IdleRun {
  intervalSeconds: number;
  timeoutSeconds: number;
  windowSeconds: number;
  cycles: number;
  cpuSeconds: number;
  baselineCpuSeconds: number;
  usage: Usage;
  start: Sample;
  end: Sample;
  /** RSS of the bare Fastify + SDK imports process (a reference) at the window's end */
  baselineRss: number;
  /** RSS of a bare node:http process at the window's end: issue 13's baseline */
  bareNodeRss: number;
}

export async function runIdle(
  lane: Lane,
  opts: { intervalSeconds: number; timeoutSeconds: number; windowSeconds: number },
): Promise<IdleRun> {
  const port = await freePort();
  const baseline = spawnNode('baseline-idle', ['bench/baseline-idle.ts', String(port)], {
    ...baseEnv(),
    AWS_EC2_METADATA_DISABLED: 'true',
  });
  const bare = await startBareNode().catch(async (e: unknown) => {
    await stopProc(baseline);
    throw e;
  });
  const s = await spawnSidecar(lane, {
    intervalSeconds: opts.intervalSeconds,
    timeoutSeconds: opts.timeoutSeconds,
  }).catch(async (e: unknown) => {
    await bare.close();
    await stopProc(baseline);
    throw e;
  });
  try {
    await untilFirstVerdict(s);
    await waitFor(
      'baseline /livez',
      async () =>
        (await getText(`http://127.0.0.1:${port}/livez`, 500)).status === 200 ? true : undefined,
      15_000,
    );
    // The window opens just after the first cycle, so it holds windowSeconds/interval cycles.
    const t0 = performance.now();
    const usage = markUsage(lane, s);
    const start = await sample(s, t0);
    const b0 = cpuSeconds(baseline.pid);
    await sleep(opts.windowSeconds * 1000);
    const end = await sample(s, t0);
    return {
      ...opts,
      cycles: end.cycles - start.cycles,
      cpuSeconds: end.cpu - start.cpu,
      baselineCpuSeconds: cpuSeconds(baseline.pid) - b0,
      usage: usage.read(),
      start,
      end,
      baselineRss: rssBytes(baseline.pid),
      bareNodeRss: rssBytes(bare.proc.pid),
    };
  } finally {
    await s.close();
    await stopProc(baseline);
    await bare.close();
  }
}
