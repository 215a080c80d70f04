import { describe, expect, it } from 'vitest';
import { HealthStore } from '../../src/engine/store.ts';
import type { CheckResult } from '../../src/model/check.ts';
import { renderDiagnoseJson, renderDiagnoseText } from '../../src/report/diagnose.ts';
import { BUCKET, check, config, failed, ROLE, report, S3_OK_STEPS, step } from './fixtures.ts';

const T0 = Date.parse('2026-08-20T12:03:31.000Z');
const at = (s: number): string => new Date(T0 + s * 1000).toISOString();
const cfg = config({ S3_HEALTH_CHECKS: 's3' });

function denied(s: number): CheckResult {
  return check(
    's3',
    [
      failed('put', {
        reason: 's3_access_denied',
        code: 'AccessDenied',
        httpStatus: 403,
        message: 'Access Denied',
        requestId: 'tx00000a1b2c3d4e5f6-0066c4',
        extendedRequestId: 'b4d1-default-default',
        time: at(s),
        named: { s3Action: 's3:PutObject' },
      }),
      step('head', { status: 'skipped' }),
    ],
    { startedAt: at(s) },
  );
}
const ok = (s: number): CheckResult => check('s3', S3_OK_STEPS, { startedAt: at(s) });

/** A store that saw: pass at :31, AccessDenied at :41 and :51, pass again from 12:04:02. */
function remembered(): HealthStore {
  const store = new HealthStore(cfg);
  for (const [s, r] of [
    [0, ok(0)],
    [10, denied(10)],
    [20, denied(20)],
    [31, ok(31)],
    [41, ok(41)],
  ] as const) {
    store.apply({
      results: new Map([['s3', r]]),
      facts: {},
      startedAt: T0 + s * 1000,
      finishedAt: T0 + s * 1000 + 40,
    });
  }
  return store;
}

const live = () =>
  report([check('s3', S3_OK_STEPS, { startedAt: at(50) })], {
    config: cfg,
    startedAt: at(50),
    recent: remembered().history(),
  });

describe('/diagnose after a failure that has cleared', () => {
  it('line 1 still says what failed, when, and why', () => {
    const text = renderDiagnoseText(live());
    expect(text.split('\n')[0]).toBe('PASS now; s3 failed 12:03:41–12:04:02 (s3_access_denied)');
  });

  it('a Recent section follows, newest first, the failure with its request ids and its fix', () => {
    const text = renderDiagnoseText(live());
    const recent = text.slice(text.indexOf('Recent changes'));
    expect(recent).toMatch(/^Recent changes \(newest first, times UTC; the last 360 cycles/);
    expect(recent).toContain('lost on restart');
    const order = [
      's3 passed since 12:04:02',
      's3 failed 12:03:41–12:04:02',
      's3 passed 12:03:31–12:03:41',
    ];
    const idx = order.map((o) => recent.indexOf(o));
    expect(
      idx.every((i) => i >= 0),
      recent,
    ).toBe(true);
    expect([...idx].sort((a, b) => a - b)).toEqual(idx);
    expect(recent).toContain('lasted 21 s, 2 cycles');
    expect(recent).toContain('step put failed after 42 ms');
    expect(recent).toContain('AccessDenied, HTTP 403');
    expect(recent).toContain('tx00000a1b2c3d4e5f6-0066c4');
    expect(recent).toContain('b4d1-default-default');
    expect(recent).toContain(`--role-name ${ROLE}`);
    expect(recent).toContain(`arn:aws:s3:::${BUCKET}/`);
  });

  it('JSON gets `recent` with the same detail and fix', () => {
    const j = renderDiagnoseJson(live()) as {
      summary: string;
      recent: Record<string, unknown>[];
    };
    expect(j.summary).toBe('PASS now; s3 failed 12:03:41–12:04:02 (s3_access_denied)');
    const fail = j.recent.find((e) => e.to === 'fail');
    expect(fail).toMatchObject({
      check: 's3',
      reason: 's3_access_denied',
      since: at(10),
      until: at(31),
      lastedMs: 21_000,
      cycles: 2,
      confirmed: true,
      step: 'put',
      error: {
        code: 'AccessDenied',
        httpStatus: 403,
        requestId: 'tx00000a1b2c3d4e5f6-0066c4',
        extendedRequestId: 'b4d1-default-default',
      },
      remediation: { title: expect.stringContaining('s3:PutObject') },
    });
    expect(j.recent[0]).toMatchObject({ to: 'pass', from: 'fail' });
  });

  it('a run that fails now keeps its own cause on line 1; the memory goes under Recent', () => {
    const r = report([denied(50)], {
      config: cfg,
      startedAt: at(50),
      recent: remembered().history(),
    });
    const text = renderDiagnoseText(r);
    expect(text.split('\n')[0]).toMatch(/^FAIL {2}s3 put:/);
    expect(text).toContain('Recent changes');
  });

  it('a one-off run (no memory) has no Recent section', () => {
    const text = renderDiagnoseText(report([ok(0)], { config: cfg }));
    expect(text).not.toContain('Recent changes');
    expect(text.split('\n')[0]).toBe('PASS  all 1 check passed');
  });
});
