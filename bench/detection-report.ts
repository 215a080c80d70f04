import { jitteredIntervalMs } from '../src/config/bounds.ts';
import type { DetectionRun } from './detection.ts';
import { type Section, type Target, table } from './report.ts';
import { fmt, ratio } from './stats.ts';

/**
 * Fault to verdict: the next cycle may be a whole jittered interval away (at
 * most 1.1 × interval, SPEC §3), then the failing cycle and its confirming
 * re-probe each take up to a timeout.
 */
function boundOf(run: Pick<DetectionRun, 'intervalSeconds' | 'timeoutSeconds'>): number {
  return (
    jitteredIntervalMs({ intervalMs: run.intervalSeconds * 1000 }, 1) +
    2 * run.timeoutSeconds * 1000
  );
}

const s = (ms: number | undefined) => (ms === undefined ? 'not seen' : `${fmt(ms / 1000, 2)} s`);

export function detectionSection(runs: DetectionRun[]): Section {
  const targets: Target[] = [];
  const tables: string[] = [];
  for (const run of runs) {
    const boundMs = boundOf(run);
    const label = `interval ${run.intervalSeconds} s, timeout ${run.timeoutSeconds} s`;
    tables.push(`**${label}** (bound: the longest jittered interval, 1.1 × interval, + 2 × timeout = ${fmt(boundMs / 1000, 1)} s; /healthz polled every ${run.pollMs} ms)

${table(
  [
    'fault',
    'fault → first failed cycle',
    'fault → 503',
    '× bound',
    'fix → 200',
    '× bound',
    '/healthz said',
  ],
  run.timings.map((t) => [
    t.fault,
    s(t.firstFailMs),
    s(t.detectMs),
    fmt(ratio(t.detectMs, boundMs), 2),
    s(t.recoverMs),
    fmt(ratio(t.recoverMs, boundMs), 2),
    `\`${t.reason.replace(/\|/g, '/')}\``,
  ]),
)}`);
    for (const t of run.timings) {
      const worst = Math.max(t.detectMs, t.recoverMs);
      const met = worst <= boundMs;
      targets.push({
        item: `Detection and recovery: ${t.fault}, ${label}`,
        target: `≤ ${fmt(boundMs / 1000, 1)} s each`,
        measured: `503 after ${s(t.detectMs)}, 200 after ${s(t.recoverMs)}`,
        met,
        limit: met
          ? undefined
          : t.fault.includes('black-hole')
            ? "each cycle with S3 hanging also retries deleting the probe objects the hung PUTs may have left (src/engine/sweep.ts sweepPending), one key at a time with up to min(2 s, timeout) each, and the verdict is stored only after that sweep; the pending list grows by one key per hung cycle, so the confirming cycle is slower than the first. Skipping the sweep when this cycle's S3 check failed on a timeout or connection error (or running it after store.apply, in parallel under one deadline) would bring detection to interval + 2 × timeout + the 1 s re-probe delay."
            : 'the confirming re-probe waits min(1 s, interval, timeout/4) after the first failure (src/engine/scheduler.ts reprobeDelayMs); with the chain in front of S3 this can cross the bound by up to that delay. Starting the re-probe at once after a failure that itself took a full timeout would keep it inside.',
      });
    }
  }
  const body = `Each fault is switched on right after a cycle has ended (the unlucky moment: the next cycle is a whole interval away), and switched off the moment /healthz shows 503, which is again right after a cycle. The S3 black-hole is the counting proxy in front of radosgw accepting and never answering; the IMDS outage is the emulator's \`hang\` fault; AccessDenied is a real radosgw bucket policy denying s3:PutObject, deleted to fix. Default failure threshold 2 (a failure is confirmed by one quick re-probe), success threshold 1.

${tables.join('\n\n')}`;
  const worstRatio = Math.max(
    ...runs.flatMap((r) =>
      r.timings.map((t) => ratio(Math.max(t.detectMs, t.recoverMs), boundOf(r))),
    ),
  );
  const def = runs[0];
  return {
    title: '4. Detection and recovery',
    body,
    targets,
    headlines: [
      `fault → 503 at the default interval: ${def?.timings.map((t) => `${t.fault.split(' (')[0]} ${s(t.detectMs)}`).join(', ')}; worst case ${fmt(worstRatio, 2)}× the 1.1 × interval + 2 × timeout bound`,
    ],
  };
}
