import { redactConfig } from '../config/redact.ts';
import {
  CHECK_NAMES,
  type CheckResult,
  type ClassifiedError,
  type Facts,
  type Observed,
  type Status,
  type StepResult,
} from '../model/check.ts';
import type { Config } from '../model/config.ts';
import type { DiagnoseReport } from '../model/diagnose.ts';
import {
  changeClause,
  clearedFailures,
  lastedMs,
  type RecentEntry,
  recentEntries,
} from './recent.ts';
import { type FixBlock, type Remediation, remediate } from './remediation.ts';
import { scrubSecrets } from './scrub.ts';
import { maskIfRaw } from './vars.ts';
import { indentBlock, wrapProse, wrapShell } from './wrap.ts';

/** Terminal width the text report is laid out for. */
export const WIDTH = 80;

interface Finding {
  result: CheckResult;
  step?: StepResult;
  remediation: Remediation;
}

const ms = (n: number): string => `${Math.round(n)} ms`;

function chainOrder(results: readonly CheckResult[]): CheckResult[] {
  return [...results].sort((a, b) => CHECK_NAMES.indexOf(a.check) - CHECK_NAMES.indexOf(b.check));
}

/**
 * The causes of one check, most important first: the step that set the
 * check's status and reason, then other failing steps, then warnings.
 */
function findingsOf(result: CheckResult, r: DiagnoseReport): Finding[] {
  if (result.status === 'pass') return [];
  const base = { check: result.check, facts: r.facts, config: r.config };
  if (result.reason === 'blocked') {
    const rem = remediate('blocked', {
      ...base,
      ...(result.blockedBy ? { blockedBy: result.blockedBy } : {}),
    });
    return rem ? [{ result, remediation: rem }] : [];
  }
  const flagged = result.steps.filter((s) => s.error !== undefined && s.status !== 'skipped');
  const rank = (s: StepResult): number =>
    s.error?.reason === result.reason && s.status === result.status
      ? 0
      : s.status === 'fail'
        ? 1
        : 2;
  const ordered = flagged
    .map((s, i) => ({ s, i }))
    .sort((a, b) => rank(a.s) - rank(b.s) || a.i - b.i)
    .map((x) => x.s);
  const out: Finding[] = [];
  for (const step of ordered) {
    const error = step.error as ClassifiedError;
    const rem = remediate(error.reason, {
      ...base,
      step: step.name,
      error,
      observed: step.observed,
    });
    if (rem) out.push({ result, step, remediation: rem });
  }
  if (out.length === 0 && result.reason) {
    const rem = remediate(result.reason, base);
    if (rem) out.push({ result, remediation: rem });
  }
  return out;
}

/** The check that explains the verdict: a real failure before a blocked one, then a warning. */
function headline(r: DiagnoseReport): Finding | undefined {
  const ordered = chainOrder(r.results);
  const pick =
    ordered.find((c) => c.status === 'fail' && c.reason !== 'blocked') ??
    ordered.find((c) => c.status === 'fail') ??
    ordered.find((c) => c.status === 'warn');
  return pick ? findingsOf(pick, r)[0] : undefined;
}

function truncate(line: string, width: number): string {
  return line.length <= width ? line : `${line.slice(0, width - 1)}…`;
}

/**
 * `PASS now; s3 failed 12:03:41–12:04:02 (s3_access_denied)`: a failure that
 * has cleared by the time on-call looks is still line 1's news.
 */
function clearedLine(r: DiagnoseReport): string | undefined {
  if (r.status !== 'pass' || r.recent === undefined) return undefined;
  const cleared = clearedFailures(r.recent, r.results);
  const newest = cleared[0];
  if (newest === undefined) return undefined;
  const more = cleared.length > 1 ? `; ${cleared.length - 1} more under Recent` : '';
  return truncate(`PASS now; ${changeClause(newest)}${more}`, WIDTH);
}

function verdictLine(r: DiagnoseReport, top: Finding | undefined): string {
  const label = r.status.toUpperCase();
  const cleared = clearedLine(r);
  if (cleared !== undefined) return cleared;
  if (top === undefined) {
    const n = r.results.length;
    const text =
      r.status === 'pass'
        ? `all ${n} check${n === 1 ? '' : 's'} passed`
        : `no check explains the ${r.status}`;
    return truncate(`${label}  ${text}`, WIDTH);
  }
  const where = top.step ? `${top.result.check} ${top.step.name}` : top.result.check;
  return truncate(`${label}  ${where}: ${top.remediation.title}`, WIDTH);
}

function scalar(v: string | number | boolean | null): string {
  return v === null ? '-' : typeof v === 'string' ? scrubSecrets(v) : String(v);
}

function observedText(o: Observed): string {
  return Object.entries(o)
    .map(([k, v]) => `${k}=${scalar(v)}`)
    .join(', ');
}

/** `label  value`, wrapped with a hanging indent under the value. */
function field(label: string, value: string, indent: string): string[] {
  const head = `${indent}${label.padEnd(19)}`;
  return wrapProse(value, WIDTH, head, ' '.repeat(head.length));
}

function errorLines(step: StepResult, indent: string): string[] {
  const e = step.error;
  const verb = step.status === 'warn' ? 'warned' : 'failed';
  const lines = [`${indent}step ${step.name} ${verb} after ${ms(step.durationMs)}`];
  const sub = `${indent}  `;
  if (e) {
    const what = [e.code, e.httpStatus === undefined ? undefined : `HTTP ${e.httpStatus}`]
      .filter((x) => x !== undefined)
      .join(', ');
    if (what) lines.push(...field('error', what, sub));
    lines.push(...field('message', scrubSecrets(e.message), sub));
    if (e.requestId) lines.push(...field('x-amz-request-id', e.requestId, sub));
    if (e.extendedRequestId) lines.push(...field('x-amz-id-2', e.extendedRequestId, sub));
    if (e.time) lines.push(...field('time', e.time, sub));
    const detail = Object.entries(e.detail ?? {})
      .map(([k, v]) => `${k}=${scrubSecrets(String(v))}`)
      .join(', ');
    if (detail) lines.push(...field('detail', detail, sub));
  }
  const obs = observedText(step.observed);
  if (obs) lines.push(...field('observed', obs, sub));
  return lines;
}

function blockLines(b: FixBlock, indent: string): string[] {
  const code = `${indent}  `;
  if (b.kind === 'text') return wrapProse(b.text, WIDTH, indent);
  if (b.kind === 'shell') return wrapShell(b.text, WIDTH, code);
  return indentBlock(b.text, code);
}

function remediationLines(rem: Remediation, indent: string): string[] {
  const lines = wrapProse(`cause: ${rem.cause}`, WIDTH, indent, `${indent}  `);
  if (rem.blocks.length === 0) return lines;
  lines.push(`${indent}fix:`);
  rem.blocks.forEach((b, i) => {
    // Blank lines between blocks, so a triple-click or a selection copies one command.
    if (i > 0 || b.kind !== 'text') lines.push('');
    lines.push(...blockLines(b, `${indent}  `));
  });
  return lines;
}

function stepsSummary(result: CheckResult, indent: string): string[] {
  const parts = result.steps.map((s) =>
    s.status === 'skipped' ? `${s.name} skipped` : `${s.name} ${s.status} ${ms(s.durationMs)}`,
  );
  return parts.length === 0
    ? []
    : wrapProse(`steps: ${parts.join(', ')}`, WIDTH, indent, `${indent}  `);
}

function checkLines(result: CheckResult, r: DiagnoseReport): string[] {
  if (result.reason === 'blocked') {
    return [`[-]${result.check} failed: blocked by ${result.blockedBy ?? 'an earlier check'}`];
  }
  const mark = result.status === 'fail' ? '[-]' : '[!]';
  const verb = result.status === 'fail' ? 'failed' : 'warning';
  const lines = [
    `${mark}${result.check} ${verb}: ${result.reason ?? 'unknown'} (${ms(result.durationMs)})`,
  ];
  lines.push(...stepsSummary(result, '  '));
  for (const f of findingsOf(result, r)) {
    lines.push('');
    if (f.step) lines.push(...errorLines(f.step, '  '));
    lines.push(...remediationLines(f.remediation, '  '));
  }
  return lines;
}

function passLine(result: CheckResult): string {
  const steps = result.steps
    .filter((s) => s.status !== 'skipped')
    .map((s) => `${s.name} ${Math.round(s.durationMs)}`)
    .join(', ');
  const long = `[+]${result.check} ok (${ms(result.durationMs)}${steps ? `: ${steps}` : ''})`;
  return long.length <= WIDTH ? long : `[+]${result.check} ok (${ms(result.durationMs)})`;
}

function factLines(facts: Facts, config: Config): string[] {
  const rows: [string, string | undefined][] = [
    [
      'instance id',
      facts.instanceId === undefined
        ? undefined
        : facts.instanceIdSource === 'dmi-board-asset-tag'
          ? `${facts.instanceId} (from DMI board_asset_tag: IMDS did not answer)`
          : facts.instanceId,
    ],
    ['region', facts.region],
    ['availability zone', facts.availabilityZone],
    ['role', facts.roleName],
    ['instance profile', facts.instanceProfileArn],
    ['account', facts.accountId],
    ['caller', facts.callerArn],
    ['credential source', facts.credentialSource],
    ['access key id', facts.accessKeyId === undefined ? undefined : maskIfRaw(facts.accessKeyId)],
    ['credentials expire', facts.credentialsExpiration],
    ['bucket', facts.bucket ?? config.bucket],
    ['bucket region', facts.bucketRegion],
    ['probe prefix', facts.prefix],
    ['kms key', facts.kmsKeyId],
    ['imds mode', facts.imdsMode],
    [
      'clock offset',
      facts.clockOffsetSeconds === undefined ? undefined : `${facts.clockOffsetSeconds} s`,
    ],
  ];
  const lines = ['Facts learned'];
  for (const [label, value] of rows)
    if (value !== undefined) lines.push(...field(label, value, '  '));
  // The values fixes are filled with; when absent the fixes show placeholders.
  const placeholders = new Set(['instance id', 'region', 'role', 'account', 'bucket']);
  const missing = rows.filter(([l, v]) => placeholders.has(l) && v === undefined).map(([l]) => l);
  if (missing.length > 0) {
    lines.push(
      ...field('not learned', `${missing.join(', ')} (fixes show <PLACEHOLDERS> there)`, '  '),
    );
  }
  return lines;
}

const seconds = (n: number): string => `${Math.max(0, Math.round(n / 1000))} s`;

function recentEntryLines(e: RecentEntry, now: number): string[] {
  const c = e.change;
  const cycles = `${c.cycles} cycle${c.cycles === 1 ? '' : 's'}`;
  if (c.to === 'pass') {
    return [`  ${changeClause(c)} (${cycles})`];
  }
  const lasted = `${c.until === undefined ? 'for' : 'lasted'} ${seconds(lastedMs(c, now))}, ${cycles}`;
  const confirmed = c.confirmed ? '' : ', below the threshold: the verdict did not turn';
  const lines = wrapProse(`${changeClause(c)}: ${lasted}${confirmed}`, WIDTH, '  ', '    ');
  if (c.to === 'blocked') return lines;
  if (e.step !== undefined) lines.push(...errorLines(e.step, '    '));
  else if (c.detail?.output) lines.push(...field('output', scrubSecrets(c.detail.output), '    '));
  if (e.fixShownAbove) lines.push('    fix: as for the newer entry above');
  else if (e.remediation !== undefined) lines.push(...remediationLines(e.remediation, '    '));
  return lines;
}

function recentLines(r: DiagnoseReport): string[] {
  if (r.recent === undefined) return [];
  const entries = recentEntries(r.recent, r.facts, r.config);
  const head = `Recent changes (newest first, times UTC; the last ${r.recent.capacity} cycles a check, kept in memory and lost on restart)`;
  if (entries.length === 0) return ['', ...wrapProse(head, WIDTH), '  none yet'];
  const now = Date.parse(r.startedAt);
  const lines = ['', ...wrapProse(head, WIDTH)];
  let prev: RecentEntry | undefined;
  for (const e of entries) {
    // A blank line around each failure, so its fix reads as one block.
    if (e.change.to !== 'pass' || (prev !== undefined && prev.change.to !== 'pass')) lines.push('');
    lines.push(...recentEntryLines(e, now));
    prev = e;
  }
  return lines;
}

/** How a report handed out again within the /diagnose spacing window is marked. */
export interface Delivery {
  /** Whole seconds since the cached run finished; absent for a live run. */
  cachedAgeSeconds?: number;
}

function cachedLine(r: DiagnoseReport, age: number): string {
  const every = r.config.diagnoseMinIntervalSeconds;
  return truncate(`cached: measured ${age} s ago (live runs at most once per ${every} s)`, WIDTH);
}

/** The on-call report: verdict and first cause on line one, then causes and fixes, then the rest. */
export function renderDiagnoseText(r: DiagnoseReport, delivery: Delivery = {}): string {
  const top = headline(r);
  const lines = [verdictLine(r, top)];
  // Line 2, where a glance after the verdict lands: this is not a fresh measurement.
  if (delivery.cachedAgeSeconds !== undefined) {
    lines.push(cachedLine(r, delivery.cachedAgeSeconds));
  }
  lines.push(
    ...wrapProse(
      `s3-health ${r.version} on ${r.serviceId} at ${r.startedAt}, ${ms(r.durationMs)} of ${ms(r.deadlineMs)}`,
      WIDTH,
    ),
  );
  if (r.timedOut) {
    lines.push(
      ...wrapProse(
        `The ${ms(r.deadlineMs)} deadline was reached: what is below is what was measured before it; a step cut short is reported as timed out.`,
        WIDTH,
      ),
    );
  }
  const ordered = chainOrder(r.results);
  for (const status of ['fail', 'warn'] as const) {
    for (const result of ordered.filter((c) => c.status === status)) {
      lines.push('', ...checkLines(result, r));
    }
  }
  const passing = ordered.filter((c) => c.status === 'pass');
  if (passing.length > 0) lines.push('', ...passing.map(passLine));
  lines.push(...recentLines(r));
  lines.push('', ...factLines(r.facts, r.config));
  return `${lines.map((l) => l.trimEnd()).join('\n')}\n`;
}

function errorJson(e: ClassifiedError): Record<string, unknown> {
  return {
    reason: e.reason,
    code: e.code,
    httpStatus: e.httpStatus,
    message: scrubSecrets(e.message),
    requestId: e.requestId,
    extendedRequestId: e.extendedRequestId,
    time: e.time,
    detail:
      e.detail === undefined
        ? undefined
        : Object.fromEntries(
            Object.entries(e.detail).map(([k, v]) => [k, scrubSecrets(String(v))]),
          ),
  };
}

function remediationJson(rem: Remediation): Record<string, unknown> {
  return { title: rem.title, cause: rem.cause, fix: rem.fix };
}

function scrubObserved(o: Observed): Observed {
  return Object.fromEntries(
    Object.entries(o).map(([k, v]) => [k, typeof v === 'string' ? scrubSecrets(v) : v]),
  );
}

function recentJson(r: DiagnoseReport): object[] | undefined {
  if (r.recent === undefined) return undefined;
  const now = Date.parse(r.startedAt);
  return recentEntries(r.recent, r.facts, r.config).map((e) => {
    const c = e.change;
    const d = c.detail;
    return {
      check: c.check,
      from: c.from,
      to: c.to,
      reason: c.reason,
      since: new Date(c.since).toISOString(),
      until: c.until === undefined ? undefined : new Date(c.until).toISOString(),
      lastedMs: lastedMs(c, now),
      cycles: c.cycles,
      confirmed: c.confirmed,
      step: d?.step,
      stepDurationMs: d?.durationMs,
      blockedBy: d?.blockedBy,
      output: d?.output === undefined ? undefined : scrubSecrets(d.output),
      error: d?.error === undefined ? undefined : errorJson(d.error),
      observed: d?.observed === undefined ? undefined : scrubObserved(d.observed),
      remediation: e.remediation === undefined ? undefined : remediationJson(e.remediation),
    };
  });
}

/** The same report for machines; `undefined` fields vanish in JSON.stringify. */
export function renderDiagnoseJson(r: DiagnoseReport, delivery: Delivery = {}): object {
  const top = headline(r);
  return {
    status: r.status,
    summary: verdictLine(r, top),
    cachedAgeSeconds: delivery.cachedAgeSeconds,
    version: r.version,
    serviceId: r.serviceId,
    startedAt: r.startedAt,
    durationMs: Math.round(r.durationMs),
    deadlineMs: r.deadlineMs,
    timedOut: r.timedOut,
    checks: chainOrder(r.results).map((c) => {
      const findings = findingsOf(c, r);
      const primary = findings[0];
      return {
        check: c.check,
        status: c.status,
        reason: c.reason,
        blockedBy: c.blockedBy,
        output: c.output === undefined ? undefined : scrubSecrets(c.output),
        startedAt: c.startedAt,
        durationMs: Math.round(c.durationMs),
        steps: c.steps.map((s) => {
          const own = findings.find((f) => f.step === s && f !== primary);
          return {
            name: s.name,
            status: s.status,
            durationMs: Math.round(s.durationMs),
            observed: scrubObserved(s.observed),
            error: s.error === undefined ? undefined : errorJson(s.error),
            remediation: own === undefined ? undefined : remediationJson(own.remediation),
          };
        }),
        remediation: primary === undefined ? undefined : remediationJson(primary.remediation),
      };
    }),
    facts: {
      ...r.facts,
      accessKeyId: r.facts.accessKeyId === undefined ? undefined : maskIfRaw(r.facts.accessKeyId),
    },
    config: redactConfig(r.config),
    recent: recentJson(r),
  };
}

/** Nagios plugin codes: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (could not run). */
export function exitCodeFor(status: Status | 'error'): 0 | 1 | 2 | 3 {
  if (status === 'pass') return 0;
  if (status === 'warn') return 1;
  if (status === 'fail') return 2;
  return 3;
}
