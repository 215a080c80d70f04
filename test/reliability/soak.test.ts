// Many short cycles with faults coming and going: sockets, descriptors and
// the used heap must come back to where they were once the faults clear.
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { FaultMode } from '../../ground/fault/proxy.ts';
import { S3_INTERNAL_ERROR } from '../../ground/fault/proxy.ts';
import type { FaultGround } from './support/ground.ts';
import { closeAll, openFaultGround, peerSockets, startSidecar } from './support/harness.ts';
import { waitUntil } from './support/http.ts';
import { assertNoGrowth, cycles, mark, waitPass } from './support/matrix.ts';
import type { SidecarProcess } from './support/process.ts';

let g: FaultGround;
let s: SidecarProcess;

beforeAll(async () => {
  g = await openFaultGround();
  s = await startSidecar(
    g,
    {
      S3_HEALTH_INTERVAL_SECONDS: '0.3',
      S3_HEALTH_TIMEOUT_SECONDS: '0.3',
      S3_HEALTH_LOG_LEVEL: 'warn',
    },
    { gcHook: true },
  );
  await waitPass(s.url, 30_000);
}, 60_000);

afterAll(() => closeAll(g));

const ROUND: [string, () => Promise<void> | void][] = [
  ['s3 reset', () => g.proxies.s3.set({ kind: 'reset' })],
  ['s3 hang', () => g.proxies.s3.set({ kind: 'blackhole' })],
  ['s3 500', () => g.proxies.s3.set(S3_INTERNAL_ERROR)],
  ['s3 slow body', () => g.proxies.s3.set({ kind: 'slow-body', chunkBytes: 8, intervalMs: 100 })],
  ['imds hang', () => g.imds.setFault('hang')],
  ['imds reset', () => g.proxies.imds.set({ kind: 'reset' })],
  ['sts reset', () => g.proxies.sts.set({ kind: 'reset' } satisfies FaultMode)],
  ['sts hang', () => g.sts.setFault('hang')],
];

it('14 s of faults coming and going, ~70 cycles: nothing piles up', async () => {
  // Warm up: pools, JIT and caches reach their working size.
  const c0 = await cycles(s.url);
  await waitUntil('warm-up cycles', async () => (await cycles(s.url)) >= c0 + 10, 30_000);
  const before = await mark(s, () => peerSockets(g));
  const end = Date.now() + 14_000;
  for (let i = 0; Date.now() < end; i++) {
    const [, inject] = ROUND[i % ROUND.length] ?? ROUND[0] ?? ['', () => {}];
    await inject();
    await new Promise((r) => setTimeout(r, 900));
    await g.clearFaults();
    await new Promise((r) => setTimeout(r, 600));
  }
  await waitPass(s.url, 20_000);
  const c1 = await cycles(s.url);
  await waitUntil('settle cycles', async () => (await cycles(s.url)) >= c1 + 10, 30_000);
  const after = await mark(s, () => peerSockets(g));
  assertNoGrowth('soak: 8 fault kinds in turn at a 0.3 s interval', before, after);
  expect(after.cycles - before.cycles).toBeGreaterThan(30);
}, 120_000);
