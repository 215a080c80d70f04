// Issue 12 part 1, as a new user meets it: AccessDenied on PUT for two
// cycles (a real radosgw session policy on the instance role), then
// recovery; /diagnose, asked afterwards, still explains what failed, when,
// for how long, with the request ids and the fix.
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { GROUND_IDENTITY } from '../../ground/ground.ts';
import { denyActions } from '../../ground/radosgw/info.ts';
import type { HistoryView } from '../../src/model/history.ts';
import { createService, type Service } from '../../src/service.ts';
import { type FaultGround, startFaultGround } from '../reliability/support/ground.ts';
import { listenLocal, useEnv } from '../support/sidecar.ts';

const rgw = inject('rgw');
let g: FaultGround;
let svc: Service;
let url: string;

async function until<T>(what: string, get: () => T | undefined, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = get();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const s3Cycles = (h: HistoryView) => h.cycles.s3 ?? [];

beforeAll(async () => {
  g = await startFaultGround(rgw);
  const config = useEnv({
    ...g.env,
    S3_HEALTH_INTERVAL_SECONDS: '1.5',
    S3_HEALTH_TIMEOUT_SECONDS: '1.5',
    S3_HEALTH_FAILURE_THRESHOLD: '2',
    S3_HEALTH_LOG_LEVEL: 'silent',
  });
  svc = createService(config, pino({ level: 'silent' }), 'test');
  url = await listenLocal(svc);
  svc.scheduler.start();
}, 60_000);

afterAll(async () => {
  await svc?.stop();
  await g?.close();
});

describe('a cleared AccessDenied is still explained by /diagnose', () => {
  it('two denied PUT cycles, recovery, then /diagnose text and JSON', async () => {
    await until('a first passing s3 cycle', () =>
      s3Cycles(svc.store.history()).some((m) => m.status === 'pass') ? true : undefined,
    );
    const before = s3Cycles(svc.store.history()).length;
    g.setPolicy(denyActions(['s3:PutObject']));
    await until('two denied s3 cycles', () => {
      const denied = s3Cycles(svc.store.history())
        .slice(before)
        .filter((m) => m.reason === 's3_access_denied');
      return denied.length >= 2 ? true : undefined;
    });
    g.setPolicy(undefined);
    await until('s3 passing again', () =>
      svc.store.state('s3')?.reported === 'pass' &&
      s3Cycles(svc.store.history()).at(-1)?.status === 'pass'
        ? true
        : undefined,
    );

    const text = await (await fetch(`${url}/diagnose`)).text();
    const lines = text.split('\n');
    expect(lines[0]).toMatch(
      /^PASS now; s3 failed \d\d:\d\d:\d\d–\d\d:\d\d:\d\d \(s3_access_denied\)$/,
    );
    const recent = text.slice(text.indexOf('Recent changes'));
    expect(recent).toMatch(/s3 failed [\d:–]+ \(s3_access_denied\): lasted \d+ s, [2-9] cycles/);
    expect(recent).toContain('step put failed after');
    expect(recent).toContain('AccessDenied, HTTP 403');
    expect(recent).toMatch(/x-amz-request-id\s+tx\S+/);
    expect(recent).toMatch(/"Action": \[\s*"s3:PutObject"\s*\]/);
    expect(recent).toContain(`--role-name ${GROUND_IDENTITY.roleName}`);
    for (const secret of g.secrets) expect(text.includes(secret)).toBe(false);

    // One more cycle, then the same report again from the cache (inside the
    // 10 s spacing): its memory is the memory now, not as of the run.
    const passingCycles = Number(/s3 passed since [\d:]+ \((\d+) cycles?\)/.exec(recent)?.[1]);
    expect(passingCycles).toBeGreaterThan(0);
    const seen = s3Cycles(svc.store.history()).length;
    await until('one more s3 cycle', () =>
      s3Cycles(svc.store.history()).length > seen ? true : undefined,
    );
    const json = (await (await fetch(`${url}/diagnose?format=json`)).json()) as {
      status: string;
      summary: string;
      cachedAgeSeconds?: number;
      recent: Record<string, unknown>[];
    };
    expect(json.cachedAgeSeconds).toEqual(expect.any(Number));
    expect(json.recent[0]).toMatchObject({ check: 's3', to: 'pass' });
    expect(json.recent[0]?.cycles).toBeGreaterThan(passingCycles);
    expect(json.status).toBe('pass');
    expect(json.summary).toBe(lines[0]);
    const fail = json.recent.find((e) => e.to === 'fail');
    expect(fail).toMatchObject({
      check: 's3',
      reason: 's3_access_denied',
      confirmed: true,
      step: 'put',
      error: { code: 'AccessDenied', httpStatus: 403 },
      remediation: { title: expect.stringContaining('s3:PutObject') },
    });
    expect(fail?.until).toEqual(expect.any(String));
    expect(fail?.lastedMs).toBeGreaterThan(0);
    console.log(
      `/diagnose after the cleared fault:\n${text.slice(0, text.indexOf('Facts learned'))}`,
    );
  }, 60_000);
});
