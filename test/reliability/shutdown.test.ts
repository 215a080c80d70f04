// Shutdown and restart as an orchestrator does them: SIGTERM mid-cycle must
// exit 0 within the deadline with the probe object deleted; twenty restarts
// stopped at random moments leave the bucket clean.
import { hostname } from 'node:os';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { adminS3 } from '../../ground/radosgw/info.ts';
import { ownObjects } from './support/bucket.ts';
import type { FaultGround } from './support/ground.ts';
import { closeAll, openFaultGround, startSidecar } from './support/harness.ts';
import { getText, verdicts, waitUntil } from './support/http.ts';
import { cycles, waitPass } from './support/matrix.ts';
import { freePort, killAll } from './support/process.ts';
import { addRow } from './support/summary.ts';

const rgw = inject('rgw');
const admin = adminS3(rgw);
const host = hostname();
let g: FaultGround;
let port: number;

/** main.ts: a stop that takes longer than this exits 1. */
const deadlineMs = (timeoutSeconds: number) => Math.max(5000, timeoutSeconds * 2000);

const start = (timeoutSeconds: number) =>
  startSidecar(
    g,
    {
      S3_HEALTH_INTERVAL_SECONDS: String(Math.max(0.5, timeoutSeconds)),
      S3_HEALTH_TIMEOUT_SECONDS: String(timeoutSeconds),
      S3_HEALTH_LOG_LEVEL: 'info',
    },
    { port },
  );

const own = () => ownObjects(admin, g.bucket, host);

beforeAll(async () => {
  g = await openFaultGround();
  port = await freePort();
}, 60_000);

afterAll(() => closeAll(g, admin));

describe('SIGTERM', () => {
  it('mid-cycle (GET in flight): exit 0 within the deadline, probe object deleted', async () => {
    const T = 2;
    const s = await start(T);
    await waitPass(s.url, 20_000);
    // Hold the next GET so the signal lands between PUT and DELETE for sure.
    await g.proxies.s3.set({ kind: 'delay', ms: 1500 }, { method: 'GET', path: /\/healthcheck\// });
    await g.proxies.s3.next({ method: 'GET', path: /\/healthcheck\// }, 'request', 10_000);
    const inFlight = await own();
    const { code, ms } = await s.stop('SIGTERM');
    await g.clearFaults();
    const left = await own();
    addRow('shutdown', [
      'SIGTERM with GET in flight',
      1,
      String(code),
      ms,
      deadlineMs(T),
      `${left.length} (in flight at the signal: ${inFlight.length})`,
    ]);
    expect(inFlight.length).toBe(1);
    expect(code).toBe(0);
    expect(ms).toBeLessThan(deadlineMs(T));
    expect(left).toEqual([]);
    expect(s.output()).toContain('"msg":"stopped"');
  }, 60_000);

  it('with S3 hanging on GET while a /diagnose run and a cycle each hold an object: exit 0 within max(5 s, 2 x timeout), 0 objects left', async () => {
    const T = 4;
    const s = await start(T);
    try {
      await waitPass(s.url, 20_000);
      const probeGet = { method: 'GET', path: /\/healthcheck\// };
      await g.proxies.s3.set({ kind: 'blackhole' }, probeGet);
      // The cycle's GET hangs ...
      await g.proxies.s3.next(probeGet, 'request', 3 * T * 1000);
      // ... then a /diagnose run's GET hangs beside it.
      const diagnose = getText(`${s.url}/diagnose`, 30_000).catch((e: unknown) => e);
      await g.proxies.s3.next(probeGet, 'request', T * 1000);
      const inFlight = await own();
      const { code, ms } = await s.stop('SIGTERM');
      await diagnose;
      await g.clearFaults();
      const left = await own();
      addRow('shutdown', [
        'SIGTERM with a cycle and a /diagnose run each holding an object (GET hangs)',
        1,
        String(code),
        ms,
        deadlineMs(T),
        `${left.length} (in flight at the signal: ${inFlight.length})`,
      ]);
      expect(inFlight.length).toBe(2);
      expect(code).toBe(0);
      expect(ms).toBeLessThan(deadlineMs(T));
      expect(left).toEqual([]);
      expect(s.output()).toContain('"msg":"stopped"');
    } finally {
      await g.clearFaults();
      await killAll();
    }
  }, 60_000);

  it('a restart loop of 20, each stopped at a random moment, leaves the bucket clean', async () => {
    const T = 0.5;
    const codes: (number | null)[] = [];
    let maxMs = 0;
    let passed = 0;
    const t0 = Date.now();
    for (let i = 0; i < 20 && Date.now() - t0 < 120_000; i++) {
      const s = await start(T);
      // Half the runs are stopped as soon as they listen (maybe mid first cycle).
      if (i % 2 === 1) {
        await waitUntil(
          'first verdict',
          async () => (await verdicts(s.url)).status === 'pass',
          15_000,
        )
          .then(() => passed++)
          .catch(() => 0);
      }
      await new Promise((r) => setTimeout(r, Math.random() * 500));
      const { code, ms } = await s.stop('SIGTERM');
      codes.push(code);
      maxMs = Math.max(maxMs, ms);
    }
    const left = await own();
    addRow('shutdown', [
      `restart loop (${passed} of ${codes.length} reached pass first)`,
      codes.length,
      [...new Set(codes)].join(', '),
      maxMs,
      deadlineMs(T),
      left.length,
    ]);
    expect(codes.length).toBe(20);
    expect(new Set(codes)).toEqual(new Set([0]));
    expect(maxMs).toBeLessThan(deadlineMs(T));
    expect(left).toEqual([]);
  }, 180_000);

  // Pending keys are only retried once S3 answers again (cycle.ts keysToSweep),
  // so a hung S3 neither stretches cycles nor the stop: signal mid-PUT.
  it('while S3 hangs (pending keys pile up): exit 0 within the deadline', async () => {
    const T = 2.5;
    const s = await start(T);
    try {
      await waitPass(s.url, 20_000);
      const c0 = await cycles(s.url);
      const t0 = Date.now();
      await g.proxies.s3.set({ kind: 'blackhole' });
      await new Promise((r) => setTimeout(r, 12_000));
      await g.proxies.s3.next({ method: 'PUT' }, 'request', 20_000);
      const during = (await cycles(s.url)) - c0;
      const { code, ms } = await s.stop('SIGTERM');
      addRow('shutdown', [
        `SIGTERM mid-PUT after ${Math.round((Date.now() - t0) / 1000)} s of S3 hang (${during} cycles at a 2.5 s interval)`,
        1,
        String(code),
        ms,
        deadlineMs(T),
        '-',
      ]);
      expect(code).toBe(0);
      expect(ms).toBeLessThan(deadlineMs(T));
      // Cycles kept their pace: a hung S3 costs one deadline a cycle, no more.
      expect(during).toBeGreaterThanOrEqual(3);
    } finally {
      await g.clearFaults();
      await killAll();
    }
  }, 90_000);

  it('SIGINT stops the same way', async () => {
    const s = await start(0.5);
    await waitPass(s.url, 20_000);
    const { code, ms } = await s.stop('SIGINT');
    addRow('shutdown', [
      'SIGINT after pass',
      1,
      String(code),
      ms,
      deadlineMs(0.5),
      (await own()).length,
    ]);
    expect(code).toBe(0);
  }, 30_000);
});
