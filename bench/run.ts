// `npm run bench`: how light and how quick s3-health is, each figure next to
// a baseline measured in the same run, written to bench/results.md (raw
// figures in bench/out/results.ndjson). Starts its own radosgw and grounds on
// loopback; every process it starts is stopped by PID at the end, also on
// failure or Ctrl-C.

import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { withProbeRole } from '../ground/radosgw/info.ts';
import { type Radosgw, radosgwInstalled, startRadosgw } from '../ground/radosgw/radosgw.ts';
import { installNetworkGuard } from '../ground/shared/network-guard.ts';
import { prepareServeBundle } from './bundle.ts';
import { costSection, measureSdkBaseline } from './cost.ts';
import { cpuSection } from './cpu.ts';
import { runCycles } from './cycles.ts';
import { type DetectionRun, runDetection } from './detection.ts';
import { detectionSection } from './detection-report.ts';
import { formatMarkdown } from './format-md.ts';
import { runIdle } from './idle.ts';
import { type Lane, setDefaultScript, startLane } from './lane.ts';
import { machineAtEnd, machineAtStart, provenance } from './machine.ts';
import { memorySection } from './memory.ts';
import { liveCount, ROOT, stopAll } from './procs.ts';
import { profileCycles, profileNote, profileRoute } from './profile.ts';
import { renderResults, type Section } from './report.ts';
import { benchStartup } from './startup.ts';
import { benchThroughput } from './throughput.ts';

/** Sizes of the run; the defaults keep `npm run bench` well under ten minutes on 2 cores. */
const PLAN = {
  startupRuns: 5,
  throughput: {
    connections: 50,
    durationSeconds: 3,
    rounds: 5,
    rate: 50,
    rateConnections: 5,
    rateSeconds: 8,
  },
  cycles: { intervalSeconds: 0.1, timeoutSeconds: 0.1, targetCycles: 1000, maxMs: 260_000 },
  idle: { intervalSeconds: 30, timeoutSeconds: 5, windowSeconds: 90 },
  detectDefault: { intervalSeconds: 30, timeoutSeconds: 5, pollMs: 100 },
  detectShort: { intervalSeconds: 2, timeoutSeconds: 1, pollMs: 20 },
  profileCycleSeconds: 5,
  profileRouteSeconds: 4,
};

// The bench process itself never asks the real metadata service for anything.
installNetworkGuard('the bench');
process.env.AWS_EC2_METADATA_DISABLED = 'true';

const log = (msg: string) => {
  const s = ((performance.now() - started) / 1000).toFixed(0).padStart(4);
  process.stderr.write(`[bench ${s} s] ${msg}\n`);
};

type Settled<T> = { ok: true; value: T } | { ok: false; error: unknown };
function settle<T>(p: Promise<T>): Promise<Settled<T>> {
  return p.then(
    (value) => ({ ok: true, value }),
    (error: unknown) => ({ ok: false, error }),
  );
}
function unwrap<T>(s: Settled<T>): T {
  if (!s.ok) throw s.error;
  return s.value;
}

const started = performance.now();
let rgw: Radosgw | undefined;
const lanes: Lane[] = [];
let cleaning: Promise<void> | undefined;

function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    await stopAll();
    await Promise.allSettled(lanes.map((l) => l.close()));
    await rgw?.stop();
  })();
  return cleaning;
}

for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    log(`${sig}: stopping everything`);
    void cleanup().finally(() => process.exit(130));
  });
}

async function main(): Promise<void> {
  const prov = provenance();
  const out = join(ROOT, 'bench', 'out');
  mkdirSync(out, { recursive: true });
  for (const d of readdirSync(out)) {
    if (d.startsWith('prof-')) rmSync(join(out, d), { recursive: true, force: true });
  }
  if (!radosgwInstalled()) {
    throw new Error('radosgw is not installed: run scripts/install-peers.sh (npm run demo does)');
  }
  const machine = machineAtStart();
  log(`machine: ${machine.nproc} CPUs, load ${machine.loadAtStart}; starting radosgw`);
  rgw = await startRadosgw();
  const info = await withProbeRole(rgw);
  // Every sidecar below runs as `s3-health serve` does: the bundle of `npm run build`.
  const built = await prepareServeBundle();
  setDefaultScript(built.script);
  log(
    `bundle built (${(built.bytes / 1e6).toFixed(1)} MB); commit ${prov.commit.slice(0, 12)}${prov.dirty.length ? ' (dirty tree)' : ''}`,
  );
  const lane = async (name: string) => {
    const l = await startLane(info, name);
    lanes.push(l);
    return l;
  };
  const names = [
    'start',
    'hung',
    'detect',
    'short',
    'idle',
    'cycles',
    'cycles-gc',
    'cycles-cap',
    'prof',
  ] as const;
  const L: Record<string, Lane> = {};
  for (const n of names) L[n] = await lane(n);
  const get = (n: (typeof names)[number]) => {
    const l = L[n];
    if (!l) throw new Error(`no lane ${n}`);
    return l;
  };

  // Detection at the default interval mostly waits on timers: it runs alongside everything.
  log('detection at the default interval: started in the background (~4 min)');
  const detectDefault = settle(runDetection(get('detect'), info, PLAN.detectDefault));

  log('start-up');
  const startup = await benchStartup(get('start'), PLAN.startupRuns);
  log('throughput and latency');
  const throughput = await benchThroughput(startup.kept, get('hung'), PLAN.throughput).finally(() =>
    startup.kept.close(),
  );
  log('CPU profiles: start-up and cycles; /healthz under load');
  const profCycles = await settle(profileCycles(get('prof'), PLAN.profileCycleSeconds));
  const profHealthz = await settle(
    profileRoute(get('prof'), '/healthz', PLAN.profileRouteSeconds, PLAN.throughput.connections),
  );
  const profMetrics = await settle(
    profileRoute(get('prof'), '/metrics', PLAN.profileRouteSeconds, PLAN.throughput.connections),
  );
  const sdk = await measureSdkBaseline(get('idle'));

  log(`${PLAN.cycles.targetCycles} cycles, then short-interval detection; idle window alongside`);
  const [longRun, idleRun] = await Promise.all([
    (async () => {
      const c = await runCycles(get('cycles'), get('cycles-gc'), get('cycles-cap'), PLAN.cycles);
      log(`cycles done (${c.cycles} in ${c.seconds.toFixed(0)} s); short-interval detection`);
      const d = await runDetection(get('short'), info, PLAN.detectShort);
      return { c, d };
    })(),
    runIdle(get('idle'), PLAN.idle),
  ]);
  log('waiting for default-interval detection');
  const detectRun: DetectionRun = unwrap(await detectDefault);

  const sections: Section[] = [
    throughput,
    memorySection(longRun.c, idleRun),
    startup.section,
    detectionSection([detectRun, longRun.d]),
    costSection(longRun.c, idleRun, sdk, throughput.exposition),
    cpuSection(idleRun, longRun.c),
  ];
  const notes = [
    `Interval used for the ${PLAN.cycles.targetCycles}-cycle runs: ${PLAN.cycles.intervalSeconds} s (timeout ${PLAN.cycles.timeoutSeconds} s), the shortest the configuration accepts, so a thousand cycles fit in a few minutes. CPU per hour at the default interval is extrapolated from a ${PLAN.idle.windowSeconds} s window. Detection at the default interval ran in the background during the other items, and the idle window overlapped the ${PLAN.cycles.targetCycles}-cycle runs: each figure is of its own process only, but they shared the machine.`,
    ...(
      [
        ['/healthz', profHealthz],
        ['/metrics', profMetrics],
      ] as const
    ).map(([path, p]) =>
      p.ok
        ? profileNote(
            `${path} under ${PLAN.throughput.connections} connections for ${PLAN.profileRouteSeconds} s`,
            p.value,
          )
        : `CPU profile of ${path} failed: ${String(p.error)}`,
    ),
    profCycles.ok
      ? profileNote(
          `process start through the first verdict, then ${PLAN.profileCycleSeconds} s of 0.1 s cycles`,
          profCycles.value,
        )
      : `CPU profile of cycles failed: ${String(profCycles.error)}`,
    `**Headlines** (for the README):\n\n${sections
      .flatMap((s) => s.headlines)
      .map((h) => `- ${h}`)
      .join('\n')}`,
  ];
  const totalSeconds = (performance.now() - started) / 1000;
  const md = renderResults(machineAtEnd(machine), sections, {
    totalSeconds,
    notes,
    provenance: prov,
  });
  writeFileSync(join(ROOT, 'bench', 'results.md'), md);
  formatMarkdown(ROOT, join('bench', 'results.md'));
  // One line of JSON (.ndjson), for tools; Biome does not format it.
  writeFileSync(
    join(out, 'results.ndjson'),
    `${JSON.stringify({
      provenance: prov,
      machine,
      plan: PLAN,
      longRun,
      idleRun,
      detectRun,
      sdk,
      profiles: {
        healthz: profHealthz.ok ? profHealthz.value : null,
        metrics: profMetrics.ok ? profMetrics.value : null,
        cycles: profCycles.ok ? profCycles.value : null,
      },
    })}\n`,
  );
  log(`wrote bench/results.md in ${totalSeconds.toFixed(0)} s`);
}

let code = 0;
try {
  await main();
} catch (err) {
  code = 1;
  log(`failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
} finally {
  await cleanup();
  if (liveCount() > 0) log(`warning: ${liveCount()} child processes still registered`);
}
process.exit(code);
