// One row of the fault matrix: a healthy sidecar process, a fault switched on
// under load, the verdict it must reach within a bound derived from its own
// configuration, then recovery to pass once the fault is cleared.
import { expect } from 'vitest';
import {
  deleteDeadlineMs,
  jitteredIntervalMs,
  reprobeDelayMs,
} from '../../../src/config/bounds.ts';
import { getText, reasonOf, verdicts, waitUntil } from './http.ts';
import { load, watchLiveness } from './load.ts';
import { resources, type SidecarProcess } from './process.ts';
import { addRow } from './summary.ts';

export interface Timing {
  intervalSeconds: number;
  timeoutSeconds: number;
  failureThreshold: number;
}

export const FAST: Timing = { intervalSeconds: 1.5, timeoutSeconds: 1.5, failureThreshold: 2 };

export function timingEnv(t: Timing): Record<string, string> {
  return {
    S3_HEALTH_INTERVAL_SECONDS: String(t.intervalSeconds),
    S3_HEALTH_TIMEOUT_SECONDS: String(t.timeoutSeconds),
    S3_HEALTH_FAILURE_THRESHOLD: String(t.failureThreshold),
    S3_HEALTH_SUCCESS_THRESHOLD: '1',
    S3_HEALTH_LOG_LEVEL: 'debug',
  };
}

/** The timing in the units of src/config/bounds.ts, whose named durations the bounds reuse. */
function ms(t: Timing): { intervalMs: number; timeoutMs: number } {
  return { intervalMs: t.intervalSeconds * 1000, timeoutMs: t.timeoutSeconds * 1000 };
}

/**
 * The longest one cycle may take (src/engine/cycle.ts): the three AWS checks
 * in turn, each under its own deadline of `timeout` (the environment check
 * does no I/O; a check after a failed one is blocked, not run), then the
 * delete of at most one probe object of this cycle, under deleteDeadlineMs =
 * min(2 s, timeout) (src/engine/sweep.ts). Passing cycles may also delete
 * what earlier failures left; detection never waits on a passing cycle past
 * the first.
 */
export function cycleMaxMs(t: Timing): number {
  return 3 * ms(t).timeoutMs + deleteDeadlineMs(ms(t));
}

/** The quick re-probe after an unconfirmed failure: reprobeDelayMs = min(1 s, interval, timeout / 4). */
function reprobeMs(t: Timing): number {
  return reprobeDelayMs(ms(t));
}

/** The longest gap between two cycle starts: the interval at the top of its jitter. */
function longestGapMs(t: Timing): number {
  return jitteredIntervalMs(ms(t), 1);
}

/** Timer lateness on a loaded 2-core machine, the /healthz poll (100 ms) and its answer. */
const OBSERVE_MS = 1000;

/**
 * Worst case from a fault to the verdict that names it, from the scheduler
 * (src/engine/scheduler.ts): the cycle in flight when the fault starts may
 * still pass, and the next starts when it ends or one interval after it
 * started (± 10 % jitter), whichever is later: ≤ max(1.1 × interval, C). That one fails; each of
 * the failureThreshold − 1 confirming cycles starts at the later of its
 * re-probe delay and the previous cycle's end: ≤ max(reprobe, C) each; the
 * last one ends ≤ C after its start, and the verdict is stored then.
 *
 *   detect ≤ max(1.1 × interval, C) + (failureThreshold − 1) × max(reprobe, C) + C + 1 s
 *   C = 3 × timeout + min(2 s, timeout),  reprobe = min(1 s, interval, timeout / 4)
 *
 * docs/reliability.md quotes this formula; a warning needs no confirmation
 * and comes sooner.
 */
export function detectBoundMs(t: Timing): number {
  const c = cycleMaxMs(t);
  return (
    Math.max(longestGapMs(t), c) +
    (t.failureThreshold - 1) * Math.max(reprobeMs(t), c) +
    c +
    OBSERVE_MS
  );
}

/**
 * Recovery, by the same reasoning with successThreshold 1: the cycle in
 * flight at the clear may still fail (≤ max(1.1 × interval, C) to the next start),
 * the next passes (≤ C); that passing cycle also deletes what the failing
 * cycles left, a round-trip each against the healthy store: one more C.
 */
export function recoverBoundMs(t: Timing): number {
  return Math.max(longestGapMs(t), cycleMaxMs(t)) + 2 * cycleMaxMs(t) + OBSERVE_MS;
}

export interface FaultCase {
  peer: string;
  name: string;
  inject: () => Promise<void> | void;
  clear: () => Promise<void> | void;
  check: 'imds' | 'credentials' | 's3';
  status: 'fail' | 'warn';
  /** acceptable reasons (more than one only where the deadline race decides) */
  reasons: string[];
  /** the step that must fail, where the fault targets one */
  step?: string;
  /** a tighter wait than the detection bound, for faults known not to be detected (it.fails) */
  boundMs?: number;
  /** a known bug in src/ makes this case fail: it runs as it.fails, marked in the summary */
  bug?: string;
}

export async function waitPass(base: string, ms: number): Promise<number> {
  return waitUntil('overall pass', async () => (await verdicts(base)).status === 'pass', ms);
}

export async function cycles(base: string): Promise<number> {
  const doc = JSON.parse((await getText(`${base}/`, 3000)).body) as { cycles: number };
  return doc.cycles;
}

export async function runFault(s: SidecarProcess, c: FaultCase, t: Timing): Promise<void> {
  await waitPass(s.url, recoverBoundMs(t) * 2);
  const live = watchLiveness(s.url);
  await c.inject();
  const loadRun = load(`${s.url}/healthz`, 2);
  let seen: { status: string; reason?: string; step?: string } = { status: 'pass' };
  const bound = c.boundMs ?? detectBoundMs(t);
  let detectMs = Number.NaN;
  try {
    detectMs = await waitUntil(
      `${c.peer} ${c.name}: ${c.check} ${c.status}`,
      async () => {
        const v = (await verdicts(s.url)).checks[c.check];
        const reason = reasonOf(v);
        // health+json output: `reason: step: message` on failures (warnings carry no step).
        const step = v?.status === 'fail' ? v.output?.split(': ')[1] : undefined;
        seen = {
          status: v?.status ?? '?',
          ...(reason ? { reason } : {}),
          ...(step ? { step } : {}),
        };
        return v?.status === c.status;
      },
      bound,
    );
  } finally {
    const lr = await loadRun;
    await c.clear();
    const t1 = Date.now();
    let recoverMs = Number.NaN;
    try {
      recoverMs = await waitPass(s.url, recoverBoundMs(t));
    } catch {
      // recorded as '-' below; the assertion after the row says why
    }
    recoverMs = Number.isNaN(recoverMs) ? Number.NaN : Date.now() - t1;
    await live.stop();
    const answered = lr.answered;
    addRow('faults', [
      c.peer,
      c.bug ? `${c.name} **[bug: ${c.bug}]**` : c.name,
      `${c.check} ${c.status}: ${c.reasons.join(' / ')}${c.step ? ` at ${c.step}` : ''}`,
      `${seen.status}: ${seen.reason ?? '-'}${seen.step && seen.status !== 'pass' ? ` at ${seen.step}` : ''}`,
      Number.isNaN(detectMs) ? 'not detected' : (detectMs / 1000).toFixed(1),
      (bound / 1000).toFixed(0),
      Number.isNaN(recoverMs) ? '-' : (recoverMs / 1000).toFixed(1),
      lr.p99,
      `${answered}/${answered + lr.errors} (${Object.entries(lr.byStatus)
        .map(([k, v]) => `${k}:${v}`)
        .join(' ')})`,
      `${live.polls() - live.misses().length}/${live.polls()}`,
    ]);
    expect(lr.errors, `${c.name}: /healthz connection errors under load`).toBe(0);
    expect(lr.timeouts).toBe(0);
    expect(live.misses(), `${c.name}: /livez misses`).toEqual([]);
    expect(Number.isNaN(recoverMs), `${c.name}: no recovery to pass after the fault cleared`).toBe(
      false,
    );
  }
  expect(c.reasons).toContain(seen.reason);
  if (c.step !== undefined) expect(seen.step).toBe(c.step);
}

export interface ResourceMark {
  cycles: number;
  fds: number;
  sockets: number;
  rssMiB: number;
  heapMiB: number;
  peerSockets: number;
}

/** V8's used heap as the sidecar exports it (prom-client's default metrics). */
export async function heapMiB(base: string): Promise<number> {
  const text = (await getText(`${base}/metrics`, 3000)).body;
  const bytes = Number(/^nodejs_heap_size_used_bytes (\S+)$/m.exec(text)?.[1] ?? Number.NaN);
  return Math.round((bytes / 1048576) * 10) / 10;
}

/** Resources now; the heap after a full GC (sidecars started with the GC hook). */
export async function mark(s: SidecarProcess, peerSockets: () => number): Promise<ResourceMark> {
  await s.collect();
  return {
    cycles: await cycles(s.url),
    ...resources(s.pid),
    heapMiB: await heapMiB(s.url),
    peerSockets: peerSockets(),
  };
}

/** Descriptors, sockets and peer connections a run may end with above its start. */
const FD_SLACK = 6;
/**
 * RSS a run may gain: V8 sizes its heap to the load it sees, which costs up
 * to ~20 MiB over a matrix on the reference machine; a leak of 1 MiB a
 * cycle crosses this within the 30–70 cycles of one run.
 */
const RSS_GROWTH_MIB = 32;
/**
 * Heap kept after a full GC: the leak detector proper. 8 MiB over ~45
 * cycles is ~180 KiB a cycle kept alive.
 */
const HEAP_GROWTH_MIB = 8;

/** Sockets, descriptors and memory must come back to where they were. */
export function assertNoGrowth(run: string, before: ResourceMark, after: ResourceMark): void {
  addRow('resources', [
    run,
    `${before.cycles} → ${after.cycles}`,
    `${before.fds} → ${after.fds}`,
    `${before.sockets} → ${after.sockets}`,
    `${before.rssMiB} → ${after.rssMiB}`,
    `${before.heapMiB} → ${after.heapMiB}`,
    `${before.peerSockets} → ${after.peerSockets}`,
  ]);
  expect(after.fds, `${run}: file descriptors grew`).toBeLessThanOrEqual(before.fds + FD_SLACK);
  expect(after.sockets, `${run}: sockets grew`).toBeLessThanOrEqual(before.sockets + FD_SLACK);
  expect(after.peerSockets, `${run}: connections left open at the peers`).toBeLessThanOrEqual(
    before.peerSockets + FD_SLACK,
  );
  expect(after.rssMiB - before.rssMiB, `${run}: RSS grew`).toBeLessThanOrEqual(RSS_GROWTH_MIB);
  expect(
    after.heapMiB - before.heapMiB,
    `${run}: heap kept after a full GC grew`,
  ).toBeLessThanOrEqual(HEAP_GROWTH_MIB);
}
