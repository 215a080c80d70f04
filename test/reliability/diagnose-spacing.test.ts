// What callers can make the sidecar do: /diagnose back to back for 10 s
// against the real process, S3 PUTs counted at the fault proxy in front of
// radosgw. SPEC §8: no faster than the schedule plus one live run per
// S3_HEALTH_DIAGNOSE_MIN_INTERVAL_SECONDS; every call one log line, never the token.
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { FaultGround } from './support/ground.ts';
import { closeAll, openFaultGround, startSidecar } from './support/harness.ts';
import { getText } from './support/http.ts';
import { cycles, waitPass } from './support/matrix.ts';
import { addRow } from './support/summary.ts';

const TOKEN = 'spacing-token-0123456789abcdef';
/** The shipped default of S3_HEALTH_DIAGNOSE_MIN_INTERVAL_SECONDS. */
const SPACING_S = 10;
const RUN_MS = 10_000;
let g: FaultGround;

beforeAll(async () => {
  g = await openFaultGround();
}, 60_000);

afterAll(() => closeAll(g));

interface AuditLine {
  audit?: string;
  remote: string;
  status: number;
  delivery: string;
  durationMs: number;
  byCaller?: Record<string, number>;
}

it('back-to-back /diagnose for 10 s: at most one live run per window beyond the schedule, every call a line or a count', async () => {
  const s = await startSidecar(g, {
    S3_HEALTH_INTERVAL_SECONDS: '30',
    S3_HEALTH_TIMEOUT_SECONDS: '2',
    S3_HEALTH_DIAGNOSE_TOKEN: TOKEN,
    S3_HEALTH_LOG_LEVEL: 'info',
  });
  await waitPass(s.url, 20_000);
  // Settled: the next scheduled cycle is ~30 s away.
  await new Promise((r) => setTimeout(r, 3000));
  const c0 = await cycles(s.url);
  const logFrom = s.output().length;
  g.proxies.s3.resetStats();
  const auth = { authorization: `Bearer ${TOKEN}` };
  const statuses: number[] = [];
  const t0 = Date.now();
  while (Date.now() - t0 < RUN_MS) {
    statuses.push((await getText(`${s.url}/diagnose`, 20_000, auth)).status);
    // A caller without the token, every fifth call: refused, and logged too.
    if (statuses.length % 5 === 0) statuses.push((await getText(`${s.url}/diagnose`)).status);
  }
  const seconds = (Date.now() - t0) / 1000;
  // A cycle in flight now (a re-probe) ends within its deadline: count it in both.
  await new Promise((r) => setTimeout(r, 3000));
  const scheduled = (await cycles(s.url)) - c0;
  const puts = g.proxies.s3.stats().byMethod.PUT ?? 0;
  const beyond = puts - scheduled;
  // The first call runs live; then one more per started window.
  const bound = Math.floor(seconds / SPACING_S) + 1;
  // SIGTERM writes the summary still pending, so every call is accounted for.
  const { code } = await s.stop('SIGTERM');
  expect(code).toBe(0);
  const lines = s
    .output()
    .slice(logFrom)
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as AuditLine);
  const audit = lines.filter((l) => l.audit === '/diagnose');
  const summaries = lines.filter((l) => l.audit === 'suppressed');
  const summarised = (status: number) =>
    summaries.reduce((n, l) => n + (l.byCaller?.[`127.0.0.1 ${status}`] ?? 0), 0);
  const by = (d: string) => audit.filter((a) => a.delivery === d).length;
  addRow('callers', [
    'GET /diagnose back to back (every fifth without the token)',
    seconds.toFixed(1),
    statuses.length,
    `${by('live')} / ${by('cached')} / ${by('unauthorised')}`,
    `${beyond} (${puts} PUTs, ${scheduled} scheduled cycles)`,
    bound,
    `${audit.length} + ${summaries.length} summaries`,
  ]);
  expect(statuses.length).toBeGreaterThan(20);
  expect(beyond).toBeGreaterThanOrEqual(1);
  expect(beyond).toBeLessThanOrEqual(bound);
  // Every live run is logged, whatever the budget.
  expect(by('live')).toBe(beyond);
  // A line a call within the budget (SPEC §8: at most 10 lines a second),
  // the rest counted by remote and status in a summary: none unaccounted.
  expect(audit.length).toBeLessThanOrEqual(Math.ceil(seconds + 1) * 10);
  expect(audit.length + summarised(200) + summarised(401)).toBe(statuses.length);
  expect(by('unauthorised') + summarised(401)).toBe(statuses.filter((x) => x === 401).length);
  for (const a of audit) {
    expect(a.remote).toBe('127.0.0.1');
    expect([200, 401]).toContain(a.status);
    expect(a.durationMs).toBeGreaterThanOrEqual(0);
  }
  expect(s.output()).not.toContain(TOKEN);
}, 60_000);
