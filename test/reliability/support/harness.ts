// The frame the reliability files share: a fault ground per file, and on
// close every sidecar killed by PID, the ground's proxies and emulators
// closed and the summary printed; for the fault matrices, one sidecar at
// the FAST timing, healthy and settled, its resources marked before the
// first fault, and the checks every matrix ends with.
import { describe, expect, inject, it } from 'vitest';
import type { BucketOptions } from '../../../ground/radosgw/info.ts';
import { type FaultGround, startFaultGround } from './ground.ts';
import { getText } from './http.ts';
import {
  assertNoGrowth,
  FAST,
  type FaultCase,
  mark,
  type ResourceMark,
  runFault,
  timingEnv,
  waitPass,
} from './matrix.ts';
import { freePort, killAll, type SidecarProcess, spawnSidecar, waitListening } from './process.ts';
import { scanAndRecord } from './secrets.ts';
import { printSummary } from './summary.ts';

export function openFaultGround(bucketOptions: BucketOptions = {}): Promise<FaultGround> {
  return startFaultGround(inject('rgw'), bucketOptions);
}

/** Everything a file started, stopped: sidecars by PID, then the ground, then `also` (clients). */
export async function closeAll(
  g: { close(): Promise<void> } | undefined,
  ...also: { destroy(): void }[]
): Promise<void> {
  await killAll();
  await g?.close();
  for (const a of also) a.destroy();
  printSummary();
}

/** Connections open through the fault proxies, towards the peers. */
export function peerSockets(g: FaultGround): number {
  return Object.values(g.proxies).reduce((n, p) => n + p.stats().openSockets, 0);
}

/** A sidecar on the ground's endpoints plus `env`, listening (on `port`, or a free one). */
export async function startSidecar(
  g: FaultGround,
  env: Record<string, string>,
  opts: { port?: number; gcHook?: boolean } = {},
): Promise<SidecarProcess> {
  const port = opts.port ?? (await freePort());
  const s = spawnSidecar({ ...g.env, ...env }, port, { gcHook: opts.gcHook ?? false });
  await waitListening(s);
  return s;
}

export interface Matrix {
  g: FaultGround;
  s: SidecarProcess;
  /** resources once healthy and settled, before the first fault */
  before: ResourceMark;
}

/** A ground and a sidecar at FAST timing, passing, settled (3 s), resources marked. */
export async function startMatrix(): Promise<Matrix> {
  const g = await openFaultGround();
  const s = await startSidecar(g, timingEnv(FAST), { gcHook: true });
  await waitPass(s.url, 30_000);
  await new Promise((r) => setTimeout(r, 3000));
  return { g, s, before: await mark(s, () => peerSockets(g)) };
}

/**
 * A matrix's tests, in order: every case (a known bug as it.fails), then
 * `more` (file-specific tests that need the faults behind them), then no
 * growth in resources and no secret in any output.
 */
export function matrixTests(
  title: string,
  label: string,
  m: () => Matrix,
  cases: FaultCase[],
  more: () => void = () => {},
): void {
  describe(title, () => {
    for (const c of cases) {
      (c.bug ? it.fails : it)(c.name, () => runFault(m().s, c, FAST), 90_000);
    }
    more();

    it('leaves no sockets, descriptors or memory behind', async () => {
      const { g, s, before } = m();
      await waitPass(s.url, 20_000);
      await new Promise((r) => setTimeout(r, 4000));
      assertNoGrowth(label, before, await mark(s, () => peerSockets(g)));
    }, 30_000);

    it('never showed a secret in its logs, /diagnose, / or /metrics', async () => {
      const { g, s } = m();
      const outputs: Record<string, string> = { [`${label}: logs (debug)`]: s.output() };
      for (const p of ['/diagnose', '/diagnose?format=json', '/', '/metrics', '/healthz?verbose']) {
        outputs[`${label}: ${p}`] = (await getText(`${s.url}${p}`, 20_000)).body;
      }
      expect(g.secrets.size).toBeGreaterThan(0);
      expect(scanAndRecord(`${label}: logs, /diagnose, /, /metrics`, outputs, g.secrets)).toEqual(
        [],
      );
    }, 30_000);
  });
}
