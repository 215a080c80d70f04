import { serialize } from 'node:v8';
import { describe, expect, it } from 'vitest';
import { cutUtf8, History } from '../../src/engine/history.ts';
import { HealthStore } from '../../src/engine/store.ts';
import type { CheckResult, Status } from '../../src/model/check.ts';
import { RECENT_CHANGES } from '../../src/model/history.ts';
import { check, config, failed, S3_OK_STEPS, step } from '../report/fixtures.ts';

const T0 = Date.parse('2026-08-20T12:03:11.000Z');
const CYCLE_MS = 10_000;

const at = (i: number): string => new Date(T0 + i * CYCLE_MS).toISOString();

function denied(i: number, message = 'Access Denied'): CheckResult {
  return check(
    's3',
    [
      failed('put', {
        reason: 's3_access_denied',
        code: 'AccessDenied',
        httpStatus: 403,
        message,
        requestId: `tx00000${i}`,
        extendedRequestId: `id2-${i}`,
        time: at(i),
      }),
      step('head', { status: 'skipped' }),
    ],
    { startedAt: at(i) },
  );
}

const ok = (i: number): CheckResult => check('s3', S3_OK_STEPS, { startedAt: at(i) });

/** Feeds results through a real store (hysteresis and all), one cycle each. */
function feed(store: HealthStore, results: CheckResult[], from = 0): void {
  results.forEach((r, i) => {
    store.apply({
      results: new Map([['s3', r]]),
      facts: {},
      startedAt: T0 + (from + i) * CYCLE_MS,
      finishedAt: T0 + (from + i) * CYCLE_MS + 50,
    });
  });
}

describe('History', () => {
  it('turns two denied cycles and a recovery into one failure with its full detail and how long it lasted', () => {
    const store = new HealthStore(config({ S3_HEALTH_CHECKS: 's3' }));
    feed(store, [ok(0), ok(1), ok(2), denied(3), denied(4), ok(5), ok(6)]);
    const h = store.history();
    expect(h.changes.map((c) => `${c.from}->${c.to}`)).toEqual([
      'fail->pass',
      'pass->fail',
      'unknown->pass',
    ]);
    const [back, fail] = h.changes;
    expect(fail).toMatchObject({
      check: 's3',
      reason: 's3_access_denied',
      since: T0 + 3 * CYCLE_MS,
      until: T0 + 5 * CYCLE_MS,
      cycles: 2,
      confirmed: true,
      detail: {
        step: 'put',
        durationMs: 42,
        error: {
          code: 'AccessDenied',
          httpStatus: 403,
          message: 'Access Denied',
          requestId: 'tx000003',
          extendedRequestId: 'id2-3',
          time: at(3),
        },
      },
    });
    expect(back).toMatchObject({ to: 'pass', cycles: 2, since: T0 + 5 * CYCLE_MS });
    expect(back?.until).toBeUndefined();
    expect(h.cycles.s3?.map((m) => m.status)).toEqual([
      'pass',
      'pass',
      'pass',
      'fail',
      'fail',
      'pass',
      'pass',
    ]);
  });

  it('marks a failure shorter than the threshold as unconfirmed (the verdict never turned)', () => {
    const store = new HealthStore(config({ S3_HEALTH_CHECKS: 's3' }));
    feed(store, [ok(0), denied(1), ok(2)]);
    const fail = store.history().changes.find((c) => c.to === 'fail');
    expect(fail).toMatchObject({ cycles: 1, confirmed: false });
  });

  it('records a blocked check as blocked, naming the check that blocked it', () => {
    const h = new History(10);
    h.record(
      check('s3', [], { status: 'fail', reason: 'blocked', blockedBy: 'imds', startedAt: at(0) }),
      T0,
      'fail',
    );
    expect(h.view().changes[0]).toMatchObject({ to: 'blocked', detail: { blockedBy: 'imds' } });
  });

  it('stays bounded over 10,000 cycles: entries and retained size constant once full', () => {
    const capacity = 360;
    const h = new History(capacity);
    const statuses: Status[] = ['pass', 'fail', 'warn'];
    const sizes: number[] = [];
    for (let i = 0; i < 10_000; i++) {
      // A status change every cycle (the worst case for the change list),
      // and messages up to 100 KB (AWS does not promise short ones).
      const s = statuses[i % 3] as Status;
      const msg = 'x'.repeat(i % 2 === 0 ? 100_000 : 10);
      const r =
        s === 'pass'
          ? ok(i)
          : check(
              's3',
              [
                step('put', {
                  status: s,
                  durationMs: 40,
                  error: {
                    reason: s === 'fail' ? 's3_access_denied' : 's3_version_left',
                    message: msg,
                    requestId: `req-${String(i).padStart(6, '0')}`,
                  },
                }),
              ],
              { startedAt: at(i) },
            );
      h.record(r, T0 + i * CYCLE_MS, s);
      // Same phase of the 6-cycle pattern at each sample.
      if (i === 1199 || i === 5999 || i === 9599) sizes.push(serialize(h.view()).length);
    }
    expect(h.counts()).toEqual({ cycles: capacity, changes: RECENT_CHANGES });
    const view = h.view();
    expect(view.cycles.s3).toHaveLength(capacity);
    expect(view.changes).toHaveLength(RECENT_CHANGES);
    // The newest are kept, oldest first in the ring, newest first in the changes.
    expect(view.cycles.s3?.at(-1)?.at).toBe(T0 + 9999 * CYCLE_MS);
    expect(view.cycles.s3?.[0]?.at).toBe(T0 + (10_000 - capacity) * CYCLE_MS);
    expect(view.changes[0]?.since).toBe(T0 + 9999 * CYCLE_MS);
    // Retained size: the same after 1,200, 6,000 and 9,600 cycles (the
    // request ids have the same width), and messages are cut to 1 KiB.
    expect(new Set(sizes).size, `sizes ${sizes.join(', ')}`).toBe(1);
    for (const c of view.changes) {
      expect(Buffer.byteLength(c.detail?.error?.message ?? '')).toBeLessThanOrEqual(1024);
    }
    console.log(
      `history after 10,000 cycles: ${capacity} cycles, ${RECENT_CHANGES} changes, ${serialize(view).length} bytes serialized (same at 1,200, 6,000, 9,600)`,
    );
  });

  it('cuts every string field of a failure to 1 KiB (message) or 256 B of UTF-8, on a character boundary', () => {
    // Multibyte (é: 2 B, 語: 3 B) and astral (😀: 4 B, a surrogate pair) text:
    // a cut by UTF-16 units would split the pair and exceed the byte bound.
    const astral = `x${'😀'.repeat(600)}`;
    const mixed = 'é語😀'.repeat(200);
    const h = new History(5);
    h.record(
      check(
        's3',
        [
          failed('put', {
            reason: 's3_access_denied',
            code: astral,
            httpStatus: 403,
            message: mixed,
            requestId: astral,
            extendedRequestId: mixed,
            time: astral,
            detail: { key: astral },
            named: { s3Action: mixed },
          }),
        ],
        { startedAt: at(0) },
      ),
      T0,
      'fail',
    );
    const error = h.view().changes[0]?.detail?.error;
    expect(error).toBeDefined();
    const bytes = (s: string | undefined) => Buffer.byteLength(s ?? '');
    const wellFormed = (s: string | undefined) => (s ?? '').isWellFormed();
    expect(bytes(error?.message)).toBeLessThanOrEqual(1024);
    expect(bytes(error?.message)).toBeGreaterThan(1000);
    for (const v of [error?.code, error?.requestId, error?.extendedRequestId, error?.time]) {
      expect(bytes(v)).toBeLessThanOrEqual(256);
      expect(wellFormed(v)).toBe(true);
      expect(v?.endsWith('…')).toBe(true);
    }
    expect(wellFormed(error?.message)).toBe(true);
    expect(bytes(error?.detail?.key)).toBeLessThanOrEqual(256);
    expect(bytes(error?.named?.s3Action)).toBeLessThanOrEqual(256);
  });

  it('cutUtf8 keeps what fits and never splits a code point', () => {
    expect(cutUtf8('abc', 3)).toBe('abc');
    // 4 B budget: the ellipsis takes 3 B, so one ASCII byte stays.
    expect(cutUtf8('abcdef', 4)).toBe('a…');
    // 7 B: the ellipsis' 3 B leave exactly one 4-byte emoji.
    expect(cutUtf8('😀😀', 7)).toBe('😀…');
    expect(cutUtf8('😀😀', 6)).toBe('…');
    for (let n = 3; n < 40; n++) {
      const out = cutUtf8('a😀é語'.repeat(5), n);
      expect(Buffer.byteLength(out)).toBeLessThanOrEqual(n);
      expect(out.isWellFormed()).toBe(true);
    }
  });

  it('hands out copies: a reader cannot change what the engine remembers', () => {
    const h = new History(5);
    h.record(denied(0), T0, 'fail');
    const v = h.view();
    v.changes.length = 0;
    v.cycles.s3?.splice(0);
    expect(h.counts()).toEqual({ cycles: 1, changes: 1 });
  });

  it('rejects a capacity that is not a positive integer', () => {
    expect(() => new History(0)).toThrow();
    expect(() => new History(1.5)).toThrow();
  });
});
