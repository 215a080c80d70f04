// The scheduler on the real ground: no overlap, hysteresis, and the quick
// confirming re-probe instead of a whole interval.
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { type Ground, startGround } from '../../ground/ground.ts';
import { createDeps } from '../../src/checks/create-deps.ts';
import { enabledChecks } from '../../src/checks/index.ts';
import type { CycleOutcome } from '../../src/engine/cycle.ts';
import { Scheduler } from '../../src/engine/scheduler.ts';
import { HealthStore, type StateChange } from '../../src/engine/store.ts';
import { quiet, useEnv } from '../support/sidecar.ts';

const rgw = inject('rgw');
let ground: Ground;

beforeAll(async () => {
  ground = await startGround(rgw);
});
afterAll(async () => {
  await ground?.close();
});

it('confirms a failure with a quick re-probe, then reports it once; recovers on the next cycle', async () => {
  const config = useEnv({
    ...ground.env,
    S3_HEALTH_INTERVAL_SECONDS: '4',
    S3_HEALTH_TIMEOUT_SECONDS: '1',
    S3_HEALTH_FAILURE_THRESHOLD: '2',
  });
  const store = new HealthStore(config);
  const cycles: { outcome: CycleOutcome; changes: StateChange[]; status: string }[] = [];
  const sched = new Scheduler(
    enabledChecks(config.checks),
    createDeps(config, quiet),
    config,
    store,
    {
      onCycle: (outcome, changes) =>
        cycles.push({ outcome, changes, status: store.snapshot().status }),
    },
  );
  const wait = async (n: number) => {
    while (cycles.length < n) await new Promise((r) => setTimeout(r, 10));
  };
  try {
    sched.start();
    await wait(1);
    expect(cycles[0]?.status).toBe('pass');
    ground.imds.setFault('no-role');
    await wait(2);
    // Failure 1/2: still pass, with the unconfirmed failure in the output.
    expect(cycles[1]?.status).toBe('pass');
    expect(store.snapshot().checks.find((c) => c.name === 'imds')?.verdict.output).toMatch(
      /^unconfirmed failure 1\/2/,
    );
    await wait(3);
    expect(cycles[2]?.status).toBe('fail');
    // The confirming cycle started well before a whole interval had passed.
    const gap = (cycles[2]?.outcome.startedAt ?? 0) - (cycles[1]?.outcome.finishedAt ?? 0);
    expect(gap).toBeLessThan(sched.reprobeDelayMs() + 1000);
    expect(gap).toBeLessThan(config.intervalSeconds * 1000);
    expect(cycles[2]?.changes.map((c) => `${c.check}:${c.to}`)).toEqual([
      'imds:fail',
      'credentials:fail',
      's3:fail',
    ]);
    ground.imds.setFault('none');
    await wait(4);
    expect(cycles[3]?.status).toBe('pass');
    for (let i = 1; i < cycles.length; i++) {
      // Never overlapping: each cycle starts after the previous one finished.
      expect(cycles[i]?.outcome.startedAt).toBeGreaterThanOrEqual(
        cycles[i - 1]?.outcome.finishedAt ?? 0,
      );
    }
  } finally {
    await sched.stop();
  }
}, 30_000);

it('starts the first cycle at once, then each after interval ± 10 % as drawn (real timers, lower bounds only)', async () => {
  const config = useEnv({
    ...ground.env,
    S3_HEALTH_INTERVAL_SECONDS: '1',
    S3_HEALTH_TIMEOUT_SECONDS: '1',
  });
  const store = new HealthStore(config);
  const draws = [0, 0.999, 0.5, 0];
  const planned: number[] = [];
  const started: number[] = [];
  let i = 0;
  const sched = new Scheduler(
    enabledChecks(config.checks),
    createDeps(config, quiet),
    config,
    store,
    {
      onScheduled: (at) => planned.push(at),
      onCycle: (outcome) => started.push(outcome.startedAt),
    },
    () => draws[i++ % draws.length] ?? 0,
  );
  try {
    const t0 = Date.now();
    sched.start();
    while (started.length < 4) await new Promise((r) => setTimeout(r, 10));
    // The first is due at once: planned when start() was called.
    expect(planned[0]).toBeGreaterThanOrEqual(t0);
    expect(planned[0]).toBeLessThanOrEqual(t0 + 5);
    // Every later one is due exactly the drawn gap after the previous start
    // (900, 1099, 1000 ms), and no cycle starts before it is due.
    const gaps = [900, 1099, 1000];
    for (let k = 0; k < 3; k++) {
      // (the cycle notes its own start a moment after the scheduler does)
      const gap = (planned[k + 1] ?? 0) - (started[k] ?? 0);
      expect(Math.abs(gap - (gaps[k] ?? 0)), `gap ${k}: ${gap}`).toBeLessThanOrEqual(2);
      // (Node's timers and Date.now() round differently: a millisecond either way)
      expect(started[k + 1]).toBeGreaterThanOrEqual(
        (planned[k + 1] ?? Number.POSITIVE_INFINITY) - 2,
      );
    }
  } finally {
    await sched.stop();
  }
}, 30_000);
