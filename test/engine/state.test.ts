import { describe, expect, it } from 'vitest';
import {
  advance,
  initialState,
  type Thresholds,
  verdictOf,
  wantsReprobe,
  worst,
} from '../../src/engine/state.ts';
import type { CheckResult, Status } from '../../src/model/check.ts';
import type { CheckState } from '../../src/model/health.ts';
import type { Reason } from '../../src/model/reasons.ts';

const T2: Thresholds = { failureThreshold: 2, successThreshold: 1 };
const TIMING = { intervalMs: 30_000, timeoutMs: 5000 };
const T0 = Date.parse('2026-08-20T10:00:00.000Z');

function result(status: Status, reason?: Reason, output?: string): CheckResult {
  return {
    check: 's3',
    status,
    ...(reason ? { reason } : {}),
    ...(output ? { output } : {}),
    steps: [],
    startedAt: new Date(T0).toISOString(),
    durationMs: 40,
  };
}

const PASS = result('pass');
const FAIL = result('fail', 's3_access_denied', 'put: Access Denied');
const WARN = result('warn', 'credentials_expiring', 'expires in 600 s');

/** Applies results one cycle (30 s) apart. */
function run(results: CheckResult[], t: Thresholds = T2): CheckState {
  return results.reduce((s, r, i) => advance(s, r, t, T0 + i * 30_000), initialState('s3'));
}

describe('advance', () => {
  it('starts unknown', () => {
    expect(initialState('imds')).toEqual({
      check: 'imds',
      reported: 'unknown',
      consecutiveFailures: 0,
      consecutiveSuccesses: 0,
    });
  });

  it.each([
    [PASS, 'pass'],
    [WARN, 'warn'],
    [FAIL, 'fail'],
  ] as const)('the first result counts at once (%#)', (r, reported) => {
    const s = run([r]);
    expect(s.reported).toBe(reported);
    expect(s.reportedReason).toBe(r.reason);
    expect(s.reportedOutput).toBe(r.output);
  });

  it('failureThreshold 2: one failure keeps pass, marked unconfirmed; the second turns fail', () => {
    const once = run([PASS, FAIL]);
    expect(once.reported).toBe('pass');
    expect(once.consecutiveFailures).toBe(1);
    expect(once.reportedReason).toBeUndefined();
    expect(once.reportedOutput).toBe('unconfirmed failure 1/2: put: Access Denied');
    expect(once.last).toBe(FAIL);

    const twice = advance(once, FAIL, T2, T0 + 60_000);
    expect(twice.reported).toBe('fail');
    expect(twice.reportedReason).toBe('s3_access_denied');
    expect(twice.reportedOutput).toBe('put: Access Denied');
    expect(twice.consecutiveFailures).toBe(2);
  });

  it('an unconfirmed failure without output names its reason', () => {
    const s = run([PASS, result('fail', 'timeout')]);
    expect(s.reportedOutput).toBe('unconfirmed failure 1/2: timeout');
  });

  it('a pass between failures resets the count', () => {
    expect(run([PASS, FAIL, PASS, FAIL]).reported).toBe('pass');
    expect(run([PASS, FAIL, PASS, FAIL, FAIL]).reported).toBe('fail');
  });

  it('warn counts as success: it resets failures and is reported as warn', () => {
    const s = run([PASS, FAIL, WARN, FAIL]);
    expect(s.reported).toBe('warn');
    expect(s.consecutiveFailures).toBe(1);
    expect(s.reportedReason).toBe('credentials_expiring');
    expect(run([FAIL, WARN]).reported).toBe('warn');
  });

  it('failureThreshold 1: fails at once', () => {
    expect(run([PASS, FAIL], { failureThreshold: 1, successThreshold: 1 }).reported).toBe('fail');
  });

  it('successThreshold 2: recovery must repeat before the verdict turns', () => {
    const t = { failureThreshold: 1, successThreshold: 2 };
    const recovering = run([FAIL, PASS], t);
    expect(recovering.reported).toBe('fail');
    expect(recovering.reportedReason).toBe('s3_access_denied');
    expect(recovering.reportedOutput).toBe('recovering 1/2; last failure: put: Access Denied');
    expect(run([FAIL, PASS, PASS], t).reported).toBe('pass');
    expect(run([FAIL, PASS, WARN], t).reported).toBe('warn');
    expect(run([FAIL, PASS, FAIL, PASS], t).reported).toBe('fail');
  });

  // Regression, fixed in src/engine/state.ts advance: while recovering, "last failure" is
  // read from prev.reportedOutput, which is already the previous
  // "recovering …" text, so each cycle nests one more prefix:
  // "recovering 2/3; last failure: recovering 1/3; last failure: put: …".
  it('recovering text names the failure once, however many cycles it takes', () => {
    const s = run([FAIL, PASS, PASS], { failureThreshold: 1, successThreshold: 3 });
    expect(s.reportedOutput).toBe('recovering 2/3; last failure: put: Access Denied');
  });

  it('tracks finish and last success times', () => {
    const s = run([PASS, FAIL, FAIL]);
    expect(s.lastFinishedAt).toBe(T0 + 60_000);
    expect(s.lastSuccessAt).toBe(T0);
    expect(run([WARN]).lastSuccessAt).toBe(T0);
  });
});

describe('wantsReprobe', () => {
  it('only while a change of verdict is unconfirmed', () => {
    expect(wantsReprobe(initialState('s3'))).toBe(false);
    expect(wantsReprobe(run([PASS]))).toBe(false);
    expect(wantsReprobe(run([PASS, FAIL]))).toBe(true);
    expect(wantsReprobe(run([PASS, FAIL, FAIL]))).toBe(false);
    expect(wantsReprobe(run([FAIL]))).toBe(false);
    const t = { failureThreshold: 1, successThreshold: 2 };
    expect(wantsReprobe(run([FAIL, PASS], t))).toBe(true);
    expect(wantsReprobe(run([FAIL, PASS, PASS], t))).toBe(false);
  });
});

describe('verdictOf', () => {
  it('no result yet: fail, stale', () => {
    expect(verdictOf(initialState('s3'), T0, TIMING)).toMatchObject({
      status: 'fail',
      reason: 'stale',
      stale: true,
    });
  });

  it('serves the reported verdict while fresh', () => {
    const s = run([FAIL]);
    expect(verdictOf(s, T0 + 1000, TIMING)).toEqual({
      status: 'fail',
      reason: 's3_access_denied',
      output: 'put: Access Denied',
      stale: false,
    });
    expect(verdictOf(run([PASS]), T0, TIMING)).toEqual({ status: 'pass', stale: false });
  });

  it('older than 3 x interval + timeout: fail, stale', () => {
    const s = run([PASS]);
    const limit = (3 * 30 + 5) * 1000;
    expect(verdictOf(s, T0 + limit, TIMING)).toMatchObject({ status: 'pass', stale: false });
    const v = verdictOf(s, T0 + limit + 1, TIMING);
    expect(v).toMatchObject({ status: 'fail', reason: 'stale', stale: true });
    expect(v.output).toContain('limit 95 s');
  });

  it('a stale warn is a fail too', () => {
    expect(verdictOf(run([WARN]), T0 + 10 * 60_000, TIMING).status).toBe('fail');
  });
});

describe('worst', () => {
  it.each([
    [[], 'pass'],
    [['pass'], 'pass'],
    [['pass', 'warn'], 'warn'],
    [['warn', 'fail', 'pass'], 'fail'],
    [['fail', 'warn'], 'fail'],
  ] as [Status[], Status][])('%j -> %s', (list, w) => {
    expect(worst(list)).toBe(w);
  });

  it('takes any iterable', () => {
    expect(worst(new Set<Status>(['warn', 'pass']))).toBe('warn');
  });
});
