import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { HealthStore } from '../../src/engine/store.ts';
import type { CheckResult } from '../../src/model/check.ts';
import { renderStatusPage } from '../../src/report/status-page.ts';
import {
  ACCOUNT,
  check,
  config,
  DIAGNOSE_TOKEN,
  failed,
  fullFacts,
  INSTANCE_ID,
  ROLE,
  S3_OK_STEPS,
  step,
} from './fixtures.ts';

const T0 = Date.parse('2026-08-20T12:03:31.000Z');
const at = (s: number): string => new Date(T0 + s * 1000).toISOString();
const REQUEST_ID = 'tx00000a1b2c3d4e5f6-0066c4';

function denied(s: number): CheckResult {
  return check(
    's3',
    [
      failed('put', {
        reason: 's3_access_denied',
        code: 'AccessDenied',
        httpStatus: 403,
        message: `User: arn:aws:sts::${ACCOUNT}:assumed-role/${ROLE}/${INSTANCE_ID} is not authorized to perform: s3:PutObject`,
        requestId: REQUEST_ID,
        time: at(s),
        named: { s3Action: 's3:PutObject' },
      }),
      step('head', { status: 'skipped' }),
    ],
    { startedAt: at(s) },
  );
}
const ok = (name: CheckResult['check'], s: number): CheckResult =>
  check(name, name === 's3' ? S3_OK_STEPS : [step('token')], { startedAt: at(s) });
const blocked = (s: number): CheckResult =>
  check('s3', [], { status: 'fail', reason: 'blocked', blockedBy: 'imds', startedAt: at(s) });

function store(env: Record<string, string> = {}): HealthStore {
  const st = new HealthStore(config({ S3_HEALTH_CHECKS: 'imds,s3', ...env }));
  const cycles: [number, CheckResult][] = [
    [0, ok('s3', 0)],
    [10, denied(10)],
    [20, denied(20)],
    [30, blocked(30)],
    [40, ok('s3', 40)],
  ];
  for (const [s, r] of cycles) {
    st.apply({
      results: new Map([
        ['environment', ok('environment', s)],
        ['imds', ok('imds', s)],
        ['s3', r],
      ]),
      facts: fullFacts(),
      startedAt: T0 + s * 1000,
      finishedAt: T0 + s * 1000 + 40,
    });
  }
  return st;
}

function page(maySeeIdentity: boolean, env: Record<string, string> = {}) {
  const st = store(env);
  return renderStatusPage({
    snapshot: st.snapshot(T0 + 41_000),
    history: st.history(),
    config: config({ S3_HEALTH_CHECKS: 'imds,s3', ...env }),
    version: '0.1.0',
    now: T0 + 41_000,
    maySeeIdentity,
  });
}

describe('the status page (pure render)', () => {
  it('is one self-contained document: no script, no external URL, its only style allowed by hash', () => {
    const { html, csp } = page(true);
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//i);
    expect(html).not.toMatch(/\sstyle="/i);
    const style = /<style>([\s\S]*?)<\/style>/.exec(html)?.[1] ?? '';
    const hash = createHash('sha256').update(style).digest('base64');
    expect(csp).toContain(`style-src 'sha256-${hash}'`);
    expect(csp).toContain("default-src 'none'");
    expect(csp).not.toContain('unsafe-inline');
    // No timed reload unless the reader asks for one (WCAG 2.2.1); then a meta refresh, no script.
    expect(html).not.toContain('http-equiv="refresh"');
    expect(html).toContain('href="/?refresh=30"');
  });

  it('states the memory it has: the cycle and change capacities of the history it renders', () => {
    const st = store();
    const history = { ...st.history(), capacity: 12, changeCapacity: 7 };
    const { html } = renderStatusPage({
      snapshot: st.snapshot(T0 + 41_000),
      history,
      config: config({ S3_HEALTH_CHECKS: 'imds,s3' }),
      version: '0.1.0',
      now: T0 + 41_000,
      maySeeIdentity: true,
    });
    expect(html).toContain(
      'the last 12 cycles per check (S3_HEALTH_HISTORY_CYCLES) and the last 7 changes',
    );
  });

  it('reloads itself by a meta refresh when asked to, with a link to stop', () => {
    const st = store();
    const { html } = renderStatusPage({
      snapshot: st.snapshot(T0 + 41_000),
      history: st.history(),
      config: config({ S3_HEALTH_CHECKS: 'imds,s3' }),
      version: '0.1.0',
      now: T0 + 41_000,
      maySeeIdentity: true,
      refreshSeconds: 15,
    });
    expect(html).toContain('<meta http-equiv="refresh" content="15">');
    expect(html).toContain('<a href="/" id="refresh">stop reloading</a>');
  });

  it('shows each check with status, reason and last duration, and links to /diagnose and /metrics', () => {
    const { html } = page(true);
    for (const c of ['environment', 'imds', 's3']) {
      expect(html).toMatch(
        new RegExp(`<tr data-check="${c}" data-status="pass"><th scope="row">${c}</th>`),
      );
    }
    expect(html).toContain('href="/diagnose"');
    expect(html).toContain('href="/metrics"');
    expect(html).toMatch(/<td>\d+ ms<\/td>/);
  });

  it('draws a timeline per check in which pass, fail and blocked differ in shape and letter, not only colour', () => {
    const { html } = page(true);
    const s3 = /<svg class="timeline"[^>]*data-check="s3">([\s\S]*?)<\/svg>/.exec(html)?.[1] ?? '';
    const bars = [
      ...s3.matchAll(/data-status="(\w+)" data-cycles="(\d+)"[^>]*height="(\d+)"/g),
    ].map((m) => `${m[1]}x${m[2]}@${m[3]}`);
    expect(bars).toEqual(['passx1@6', 'failx2@20', 'blockedx1@20', 'passx1@6']);
    expect(html).toContain('F FAIL');
    expect(html).toContain('B blocked');
    expect(html).toContain('hollow full bar blocked');
  });

  it('line 1 and the recent changes table tell of the cleared failure', () => {
    const { html } = page(true);
    expect(html).toContain('PASS now; s3 failed 12:03:41–12:04:01 (s3_access_denied)');
    expect(html).toMatch(/<tr data-check="s3" data-to="fail">.*AccessDenied, HTTP 403/);
    expect(html).toContain(REQUEST_ID);
    expect(html).toContain(`--role-name ${ROLE}`);
  });

  it('with a token and no login: verdicts and reasons only, no identity, messages or fixes', () => {
    const { html } = page(false, { S3_HEALTH_DIAGNOSE_TOKEN: DIAGNOSE_TOKEN });
    expect(html).toContain('s3_access_denied');
    for (const secretish of [
      ROLE,
      ACCOUNT,
      INSTANCE_ID,
      REQUEST_ID,
      'aws iam',
      'is not authorized',
    ]) {
      expect(html.includes(secretish), secretish).toBe(false);
    }
    expect(html).toContain('href="/?login"');
    expect(html).not.toContain(DIAGNOSE_TOKEN);
  });

  it('escapes what AWS sends: markup in a message stays text', () => {
    const st = new HealthStore(config({ S3_HEALTH_CHECKS: 's3' }));
    const evil = check('s3', [
      failed('put', { reason: 's3_access_denied', message: '<img src=x onerror=alert(1)>' }),
    ]);
    st.apply({ results: new Map([['s3', evil]]), facts: {}, startedAt: T0, finishedAt: T0 });
    const { html } = renderStatusPage({
      snapshot: st.snapshot(T0),
      history: st.history(),
      config: config({ S3_HEALTH_CHECKS: 's3' }),
      version: '0.1.0',
      now: T0,
      maySeeIdentity: true,
    });
    expect(html).not.toContain('<img');
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;');
  });
});
