// The long run behind items 2 and 5: a sidecar at a short interval until it
// has done `targetCycles` cycles, sampled every second, next to the bare
// baseline process started at the same moment.
import { getText } from './http.ts';
import { type Lane, spawnSidecar, untilFirstVerdict } from './lane.ts';
import { baseEnv, freePort, rssBytes, sleep, spawnNode, stopProc, waitFor } from './procs.ts';
import { failuresByReason, markUsage, type Sample, sample, type Usage } from './sampling.ts';

export interface CycleRun {
  intervalSeconds: number;
  timeoutSeconds: number;
  samples: Sample[];
  /** cycles and seconds between the first and last sample */
  cycles: number;
  seconds: number;
  cpuSeconds: number;
  usage: Usage;
  failures: Record<string, number>;
  finalRss: number;
  baselineRss: number;
}

export async function runCycles(
  lane: Lane,
  opts: { intervalSeconds: number; timeoutSeconds: number; targetCycles: number; maxMs: number },
): Promise<CycleRun> {
  const port = await freePort();
  const baseline = spawnNode('baseline-idle', ['bench/baseline-idle.ts', String(port)], {
    ...baseEnv(),
    AWS_EC2_METADATA_DISABLED: 'true',
  });
  const s = await spawnSidecar(lane, {
    intervalSeconds: opts.intervalSeconds,
    timeoutSeconds: opts.timeoutSeconds,
  });
  try {
    await untilFirstVerdict(s);
    await waitFor(
      'baseline /livez',
      async () =>
        (await getText(`http://127.0.0.1:${port}/livez`, 500)).status === 200 ? true : undefined,
      15_000,
    );
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
    const first = samples[0];
    const last = samples.at(-1);
    if (!first || !last) throw new Error('no samples');
    return {
      intervalSeconds: opts.intervalSeconds,
      timeoutSeconds: opts.timeoutSeconds,
      samples,
      cycles: last.cycles - first.cycles,
      seconds: (last.t - first.t) / 1000,
      cpuSeconds: last.cpu - first.cpu,
      usage: usage.read(),
      failures: await failuresByReason(s),
      finalRss: last.rss,
      baselineRss: rssBytes(baseline.pid),
    };
  } finally {
    await s.close();
    await stopProc(baseline);
  }
}
