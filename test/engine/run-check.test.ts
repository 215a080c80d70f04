// runCheck with tiny hand-written checks: no clients, no sockets.
import { describe, expect, it } from 'vitest';
import type { Check, CheckContext, Step, StepOutcome } from '../../src/checks/check.ts';
import { parseConfig } from '../../src/config/parse.ts';
import { blockedResult, runCheck } from '../../src/engine/run-check.ts';
import {
  CheckFailure,
  type CheckResult,
  type Service,
  type StepName,
} from '../../src/model/check.ts';
import type { Config } from '../../src/model/config.ts';

function config(): Config {
  const r = parseConfig({ KB_STORAGE_URI: 's3://acme-kb-prod/kb/' }, 'host-1');
  if (!r.ok) throw new Error(JSON.stringify(r.problems));
  return r.config;
}

type Deps = { calls: string[] };
const ctx = (): Omit<CheckContext<Deps>, 'signal'> => ({
  config: config(),
  facts: {},
  deps: { calls: [] },
  earlier: new Map(),
});

function step(
  name: StepName,
  run: (c: CheckContext<Deps>) => Promise<StepOutcome>,
  service: Service = 's3',
): Step<Deps> {
  return {
    name,
    service,
    run: async (c) => {
      c.deps.calls.push(name);
      return run(c);
    },
  };
}

const ok =
  (observed: StepOutcome['observed'] = {}) =>
  async (): Promise<StepOutcome> => ({ observed });
const never = (): Promise<StepOutcome> => new Promise(() => {});

function check(steps: Step<Deps>[], name: Check['name'] = 's3'): Check<Deps> {
  return { name, dependsOn: [], steps: () => steps };
}

function nodeError(code: string, message = `connect ${code} 127.0.0.1:9`): Error {
  return Object.assign(new Error(message), { code });
}

describe('runCheck', () => {
  it('runs every step in order and times each', async () => {
    const c = ctx();
    const r = await runCheck(
      check([step('put', ok({ bytes: 32 })), step('head', ok()), step('get', ok())]),
      c,
      5000,
    );
    expect(c.deps.calls).toEqual(['put', 'head', 'get']);
    expect(r).toMatchObject({ check: 's3', status: 'pass' });
    expect(r.reason).toBeUndefined();
    expect(r.output).toBeUndefined();
    expect(r.steps.map((s) => [s.name, s.status])).toEqual([
      ['put', 'pass'],
      ['head', 'pass'],
      ['get', 'pass'],
    ]);
    expect(r.steps[0]?.observed).toEqual({ bytes: 32 });
    for (const s of r.steps) expect(s.durationMs).toBeGreaterThanOrEqual(0);
    expect(r.durationMs).toBeGreaterThanOrEqual(r.steps.reduce((a, s) => a + s.durationMs, 0));
    expect(Number.isNaN(Date.parse(r.startedAt))).toBe(false);
  });

  it('a CheckFailure fails its step with its reason; the rest are skipped, not run', async () => {
    const c = ctx();
    const r = await runCheck(
      check([
        step('put', ok()),
        step('head', async () => {
          throw new CheckFailure('s3_sse_mismatch', 'HEAD shows AES256, expected aws:kms', {
            expected: 'aws:kms',
          });
        }),
        step('get', ok()),
        step('delete', ok()),
      ]),
      c,
      5000,
    );
    expect(c.deps.calls).toEqual(['put', 'head']);
    expect(r).toMatchObject({
      status: 'fail',
      reason: 's3_sse_mismatch',
      output: 'head: HEAD shows AES256, expected aws:kms',
    });
    expect(r.steps.map((s) => s.status)).toEqual(['pass', 'fail', 'skipped', 'skipped']);
    expect(r.steps[1]?.error).toMatchObject({
      reason: 's3_sse_mismatch',
      detail: { expected: 'aws:kms' },
    });
    expect(r.steps[2]).toEqual({ name: 'get', status: 'skipped', durationMs: 0, observed: {} });
  });

  it('a CheckFailure keeps the status and request ids of the error behind it', async () => {
    const original = Object.assign(new Error('Access Denied'), {
      name: 'AccessDenied',
      $metadata: { httpStatusCode: 403, requestId: 'REQ1', extendedRequestId: 'EXT1' },
    });
    const r = await runCheck(
      check([
        step('put', async () => {
          throw new CheckFailure('s3_access_denied', 'put refused', undefined, original);
        }),
      ]),
      ctx(),
      5000,
    );
    expect(r.steps[0]?.error).toMatchObject({
      reason: 's3_access_denied',
      message: 'put refused',
      code: 'AccessDenied',
      httpStatus: 403,
      requestId: 'REQ1',
      extendedRequestId: 'EXT1',
    });
  });

  it.each([
    ['ECONNREFUSED', 'connection_refused'],
    ['ENOTFOUND', 'dns_failure'],
    ['ECONNRESET', 'connection_reset'],
  ])('a Node error %s is classified as %s', async (code, reason) => {
    const r = await runCheck(
      check([
        step('put', async () => {
          throw nodeError(code);
        }),
        step('head', ok()),
      ]),
      ctx(),
      5000,
    );
    expect(r.reason).toBe(reason);
    expect(r.steps[0]?.error).toMatchObject({ reason, code });
    expect(r.steps[1]?.status).toBe('skipped');
  });

  it('a step that throws synchronously still fails only its step', async () => {
    const bad: Step<Deps> = {
      name: 'identity',
      service: 'sts',
      run: () => {
        throw nodeError('EHOSTUNREACH');
      },
    };
    const r = await runCheck(check([bad, step('expiry', ok())], 'credentials'), ctx(), 5000);
    expect(r).toMatchObject({ status: 'fail', reason: 'network_unreachable' });
    expect(r.steps.map((s) => s.status)).toEqual(['fail', 'skipped']);
  });

  it('warnings: the step and check warn, later steps still run, the first warning is reported', async () => {
    const c = ctx();
    const r = await runCheck(
      check(
        [
          step('token', async () => ({
            observed: { mode: 'v1' },
            warning: { reason: 'imds_hop_limit_v1_fallback', message: 'IMDSv1 answers' },
          })),
          step('identity', async () => ({
            warning: { reason: 'imds_throttled', message: 'slow down' },
          })),
          step('role', ok()),
        ],
        'imds',
      ),
      c,
      5000,
    );
    expect(c.deps.calls).toEqual(['token', 'identity', 'role']);
    expect(r).toMatchObject({
      status: 'warn',
      reason: 'imds_hop_limit_v1_fallback',
      output: 'IMDSv1 answers',
    });
    expect(r.steps.map((s) => s.status)).toEqual(['warn', 'warn', 'pass']);
    expect(r.steps[0]).toMatchObject({
      observed: { mode: 'v1' },
      error: { reason: 'imds_hop_limit_v1_fallback', message: 'IMDSv1 answers' },
    });
  });

  it('a failure after a warning wins', async () => {
    const r = await runCheck(
      check([
        step('put', async () => ({ warning: { reason: 's3_throttled', message: 'slow' } })),
        step('head', async () => {
          throw new CheckFailure('s3_object_missing', 'gone');
        }),
      ]),
      ctx(),
      5000,
    );
    expect(r).toMatchObject({ status: 'fail', reason: 's3_object_missing', output: 'head: gone' });
  });

  it('a never-resolving step ends at the deadline with reason timeout; the rest are skipped', async () => {
    const c = ctx();
    const r = await runCheck(
      check([step('put', ok()), step('head', never), step('get', ok())]),
      c,
      50,
    );
    expect(c.deps.calls).toEqual(['put', 'head']);
    expect(r).toMatchObject({ status: 'fail', reason: 'timeout' });
    expect(r.output).toBe('head: step head did not finish within the 50 ms deadline');
    expect(r.steps.map((s) => s.status)).toEqual(['pass', 'fail', 'skipped']);
    expect(r.steps[1]?.error).toMatchObject({ reason: 'timeout', code: 'TimeoutError' });
  });

  it('the deadline of an imds step reads imds_timeout', async () => {
    const r = await runCheck(check([step('token', never, 'imds')], 'imds'), ctx(), 50);
    expect(r.reason).toBe('imds_timeout');
  });

  it('the step sees the deadline signal and can abort its own work', async () => {
    let seen: AbortSignal | undefined;
    const r = await runCheck(
      check([
        step('put', (c) => {
          seen = c.signal;
          return new Promise((_, reject) =>
            c.signal.addEventListener('abort', () => reject(c.signal.reason)),
          );
        }),
      ]),
      ctx(),
      50,
    );
    expect(seen?.aborted).toBe(true);
    expect(r.reason).toBe('timeout');
  });

  it('a parent abort (shutdown) ends the check too', async () => {
    const parent = new AbortController();
    const pending = runCheck(check([step('put', never)]), ctx(), 60_000, parent.signal);
    parent.abort();
    const r = await pending;
    expect(r.status).toBe('fail');
    expect(r.reason).toBe('timeout');
    expect(r.steps[0]?.error?.code).toBe('AbortError');
  });

  it('an already aborted parent runs no step', async () => {
    const parent = new AbortController();
    parent.abort();
    const c = ctx();
    const r = await runCheck(check([step('put', ok())]), c, 5000, parent.signal);
    expect(r.status).toBe('fail');
    // The step's function is called, but its outcome is never awaited past the abort.
    expect(r.steps[0]?.status).toBe('fail');
  });

  it('bounds output to 300 characters', async () => {
    const r = await runCheck(
      check([
        step('put', async () => {
          throw new CheckFailure('unknown', 'x'.repeat(1000));
        }),
      ]),
      ctx(),
      5000,
    );
    expect(r.output).toHaveLength(300);
  });
});

describe('blockedResult', () => {
  it('reports the check as failed, blocked by the one that failed, with no steps', () => {
    const imds: CheckResult = {
      check: 'imds',
      status: 'fail',
      reason: 'imds_unreachable',
      steps: [],
      startedAt: new Date().toISOString(),
      durationMs: 3,
    };
    const r = blockedResult(check([step('put', ok())]), imds);
    expect(r).toMatchObject({
      check: 's3',
      status: 'fail',
      reason: 'blocked',
      blockedBy: 'imds',
      output: 'blocked: imds failed (imds_unreachable)',
      steps: [],
      durationMs: 0,
    });
  });
});
