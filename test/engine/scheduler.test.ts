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
