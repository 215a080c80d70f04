// Shutdown and restart as an orchestrator does them: SIGTERM mid-cycle must
// exit 0 within the deadline with the probe object deleted; twenty restarts
// stopped at random moments leave the bucket clean.
import { hostname } from 'node:os';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { adminS3 } from '../../ground/rgw-info.ts';
import { ownObjects } from './support/bucket.ts';
import { type FaultGround, startFaultGround } from './support/ground.ts';
import { verdicts, waitUntil } from './support/http.ts';
import { cycles, waitPass } from './support/matrix.ts';
import {
  freePort,
  killAll,
  type SidecarProcess,
  spawnSidecar,
  waitListening,
} from './support/process.ts';
import { addRow, printSummary } from './support/summary.ts';

const rgw = inject('rgw');
const admin = adminS3(rgw);
const host = hostname();
let g: FaultGround;
let port: number;

/** main.ts: a stop that takes longer than this exits 1. */
const deadlineMs = (timeoutSeconds: number) => Math.max(5000, timeoutSeconds * 2000);

function envFor(timeoutSeconds: number): Record<string, string> {
  return {
    ...g.env,
    S3_HEALTH_INTERVAL_SECONDS: String(Math.max(0.5, timeoutSeconds)),
    S3_HEALTH_TIMEOUT_SECONDS: String(timeoutSeconds),
    S3_HEALTH_LOG_LEVEL: 'info',
  };
}

async function start(timeoutSeconds: number): Promise<SidecarProcess> {
  const s = spawnSidecar(envFor(timeoutSeconds), port);
  await waitListening(s);
  return s;
}

const own = () => ownObjects(admin, g.bucket, host);

beforeAll(async () => {
  g = await startFaultGround(rgw);
  port = await freePort();
}, 60_000);

afterAll(async () => {
  await killAll();
  await g?.close();
  admin.destroy();
  printSummary();
});

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

  // BUG (reported): sweepPending deletes pending keys one after another, each
  // under its own min(2 s, timeout) deadline, with no budget for the whole
  // sweep. While S3 hangs, every failed cycle adds a key, so cycle n lasts
  // about n x timeout (cycles stretch until results go stale), and on SIGTERM
  // stop() waits for all of them: past main.ts's deadline the process exits
  // 1. Fix: give sweepPending one budget (e.g. one timeout, and the abort
  // signal on shutdown) and stop at the first error that is not an S3 answer.
  it.fails('while S3 hangs (pending keys pile up): exit 0 within the deadline', async () => {
    const T = 2.5;
    const s = await start(T);
    await waitPass(s.url, 20_000);
    const c0 = await cycles(s.url);
    const t0 = Date.now();
    g.proxies.s3.resetStats();
    await g.proxies.s3.set({ kind: 'blackhole' });
    await new Promise((r) => setTimeout(r, 12_000));
    // Signal as the next clean-up of pending keys begins (its first DELETE).
    await g.proxies.s3.next({ method: 'PUT' }, 'request', 30_000);
    await g.proxies.s3.next({ method: 'DELETE' }, 'request', 30_000);
    const during = (await cycles(s.url)) - c0;
    const pending = g.proxies.s3.stats().byMethod.PUT ?? 0;
    const { code, ms } = await s.stop('SIGTERM');
    await g.clearFaults();
    addRow('shutdown', [
      `SIGTERM as the pending clean-up starts, S3 hung for ${Math.round((Date.now() - t0) / 1000)} s (${during} cycles at a 2.5 s interval, ~${pending} keys pending) **[bug: unbounded pending sweep]**`,
      1,
      String(code),
      ms,
      deadlineMs(T),
      (await own()).length,
    ]);
    expect(code).toBe(0);
    expect(ms).toBeLessThan(deadlineMs(T));
  }, 60_000);

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
