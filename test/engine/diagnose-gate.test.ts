// Pure logic: the spacing of live /diagnose runs, on a hand-driven clock.
import { describe, expect, it } from 'vitest';
import { DiagnoseGate, DiagnoseSpaced, DiagnoseStopped } from '../../src/engine/diagnose-gate.ts';

function setup(spacingMs = 10_000) {
  let now = 1_000_000;
  const runs: { signal: AbortSignal; finish: (n: number) => void }[] = [];
  const gate = new DiagnoseGate<number>(
    (signal) =>
      new Promise<number>((resolve) => {
        runs.push({ signal, finish: resolve });
        signal.addEventListener('abort', () => resolve(-1));
      }),
    spacingMs,
    () => now,
  );
  return {
    gate,
    runs,
    advance: (ms: number) => {
      now += ms;
    },
  };
}

describe('DiagnoseGate', () => {
  it('concurrent callers share the run in flight, all live', async () => {
    const { gate, runs } = setup();
    const asks = [gate.ask(), gate.ask(), gate.ask()];
    expect(runs).toHaveLength(1);
    runs[0]?.finish(7);
    expect(await Promise.all(asks)).toEqual(Array(3).fill({ report: 7, live: true }));
  });

  it('inside the window: the last report with its age since it finished; after it: live', async () => {
    const { gate, runs, advance } = setup(10_000);
    const first = gate.ask();
    advance(1500);
    runs[0]?.finish(1);
    await first;
    advance(2000);
    expect(await gate.ask()).toEqual({ report: 1, live: false, ageMs: 2000 });
    advance(6499);
    expect(await gate.ask()).toEqual({ report: 1, live: false, ageMs: 8499 });
    expect(runs).toHaveLength(1);
    // 10 s after the first run started, not after it finished.
    advance(1);
    const next = gate.ask();
    expect(runs).toHaveLength(2);
    runs[1]?.finish(2);
    expect(await next).toEqual({ report: 2, live: true });
  });

  it('a run that threw leaves nothing to hand out: 429 material until the window ends', async () => {
    const gate = new DiagnoseGate<number>(
      () => Promise.reject(new Error('bug')),
      10_000,
      () => 0,
    );
    await expect(gate.ask()).rejects.toThrow('bug');
    const err = await gate.ask().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DiagnoseSpaced);
    expect((err as DiagnoseSpaced).retryAfterMs).toBe(10_000);
  });

  it('a run that threw after a good one: its window gets the failure, never the older report', async () => {
    let now = 0;
    let fail = false;
    const gate = new DiagnoseGate<number>(
      () => (fail ? Promise.reject(new Error('bug')) : Promise.resolve(1)),
      10_000,
      () => now,
    );
    expect(await gate.ask()).toEqual({ report: 1, live: true });
    now = 10_000;
    fail = true;
    await expect(gate.ask()).rejects.toThrow('bug');
    now = 12_000;
    const err = await gate.ask().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DiagnoseSpaced);
    expect((err as DiagnoseSpaced).failed).toEqual({ at: 10_000, error: 'Error: bug' });
    expect((err as DiagnoseSpaced).retryAfterMs).toBe(8_000);
  });

  it('stop aborts the run in flight, awaits it, and refuses new runs', async () => {
    const { gate, runs, advance } = setup(1000);
    const asked = gate.ask();
    await gate.stop();
    expect(runs[0]?.signal.aborted).toBe(true);
    expect(await asked).toEqual({ report: -1, live: true });
    advance(5000);
    await expect(gate.ask()).rejects.toBeInstanceOf(DiagnoseStopped);
  });
});
