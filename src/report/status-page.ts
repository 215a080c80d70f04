import { createHash } from 'node:crypto';
import type { CheckName, Facts } from '../model/check.ts';
import type { Config } from '../model/config.ts';
import type { Snapshot } from '../model/health.ts';
import type { CycleMark, CycleStatus, HistoryView, RecentChange } from '../model/history.ts';
import {
  changeClause,
  clearedFailures,
  lastedMs,
  type RecentEntry,
  recentEntries,
} from './recent.ts';
import { scrubSecrets } from './scrub.ts';

export interface StatusPageInput {
  snapshot: Snapshot;
  history: HistoryView;
  config: Config;
  version: string;
  now: number;
  /**
   * What /diagnose would show this caller: identity (instance id, role,
   * account, messages that name them) and fixes. False: verdicts, reasons,
   * timings only.
   */
  maySeeIdentity: boolean;
  /**
   * Reload every this many seconds (a meta refresh, no script); undefined: no
   * timed reload. Opt-in (`/?refresh`), since a page that reloads on its own
   * is a WCAG 2.2.1 failure unless the reader chose it.
   */
  refreshSeconds?: number;
}

export interface StatusPage {
  html: string;
  /** The Content-Security-Policy the page is written for: nothing but its own inline style. */
  csp: string;
}

// The one stylesheet, inline and allowed by its hash: no external asset, no
// 'unsafe-inline'. Colours pass WCAG AA contrast on white; shapes and letters
// carry the same meaning for readers who do not see colour.
const CSS = `
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1a1a1a;background:#fff}
header,main,footer{max-width:72rem;margin:0 auto;padding:0 1rem}
h1{font-size:1.5rem;margin:1rem 0 .25rem}
h2{font-size:1.15rem;margin:1.5rem 0 .5rem}
.verdict{display:inline-block;padding:.1rem .6rem;border-radius:.3rem;font-weight:700;border:2px solid currentColor}
.pass{color:#1b5e20}.warn{color:#7a4a00}.fail{color:#b00020}.blocked{color:#4a4a4a}
table{border-collapse:collapse;width:100%;margin:.25rem 0}
th,td{text-align:left;padding:.3rem .5rem;border-bottom:1px solid #ccc;vertical-align:top}
th{background:#f2f2f2}
code,pre{font-family:ui-monospace,"SFMono-Regular",Menlo,Consolas,monospace;font-size:.85rem}
pre{white-space:pre-wrap;background:#f6f6f6;padding:.5rem;border:1px solid #ddd;overflow-x:auto}
.note{background:#fff8e1;border:1px solid #c8a200;padding:.5rem .75rem}
.timeline{display:block;width:100%;height:28px;border:1px solid #999;background:#fafafa}
.timeline rect.pass{fill:#2e7d32}.timeline rect.warn{fill:#b26a00}.timeline rect.fail{fill:#c62828}
.timeline rect.blocked{fill:#fafafa;stroke:#555;stroke-width:1}
.legend svg{vertical-align:middle}
.muted{color:#555}
a{color:#0b57d0}
`;

const CSP_HASH = createHash('sha256').update(CSS).digest('base64');

const CSP = [
  "default-src 'none'",
  `style-src 'sha256-${CSP_HASH}'`,
  'img-src data:',
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const ESC: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ESC[c] ?? c);
}

/** The letter each status is also shown as, so nothing depends on colour. */
const LETTER: Record<CycleStatus, string> = { pass: 'P', warn: 'W', fail: 'F', blocked: 'B' };
const WORD: Record<CycleStatus, string> = {
  pass: 'pass',
  warn: 'warn',
  fail: 'fail',
  blocked: 'blocked',
};

/**
 * Bar heights out of 20: pass is a low bar, warn a middle one, fail a full
 * one, blocked a full hollow outline. Told apart by shape as well as colour.
 */
const HEIGHT: Record<CycleStatus, number> = { pass: 6, warn: 13, fail: 20, blocked: 20 };

const clock = (ms: number): string => new Date(ms).toISOString().slice(11, 19);

function badge(s: CycleStatus | 'unknown'): string {
  if (s === 'unknown') return '<span class="verdict blocked">? unknown</span>';
  return `<span class="verdict ${s}">${LETTER[s]} ${WORD[s].toUpperCase()}</span>`;
}

interface Run {
  status: CycleStatus;
  start: number;
  length: number;
  first: CycleMark;
  last: CycleMark;
}

/** Consecutive cycles of one status as one bar: a page of 360 cycles stays small. */
function runsOf(marks: readonly CycleMark[]): Run[] {
  const runs: Run[] = [];
  marks.forEach((m, i) => {
    const cur = runs.at(-1);
    if (cur !== undefined && cur.status === m.status && cur.last.reason === m.reason) {
      cur.length += 1;
      cur.last = m;
    } else runs.push({ status: m.status, start: i, length: 1, first: m, last: m });
  });
  return runs;
}

const SLOT = 3;

function timeline(check: CheckName, marks: readonly CycleMark[], capacity: number): string {
  const counts: Record<CycleStatus, number> = { pass: 0, warn: 0, fail: 0, blocked: 0 };
  for (const m of marks) counts[m.status] += 1;
  const summary = (['pass', 'warn', 'fail', 'blocked'] as const)
    .filter((s) => counts[s] > 0)
    .map((s) => `${counts[s]} ${s}`)
    .join(', ');
  const label = `${check}: last ${marks.length} cycles${summary ? `: ${summary}` : ''}`;
  // Newest at the right edge; the strip widens with the memory up to its
  // capacity, with empty slots on the left while it holds fewer than 60.
  const slots = Math.min(capacity, Math.max(60, marks.length));
  const offset = slots - marks.length;
  const bars = runsOf(marks)
    .map((r) => {
      const h = HEIGHT[r.status];
      const x = (offset + r.start) * SLOT;
      const w = r.length * SLOT - (r.status === 'blocked' ? 1 : 0.5);
      const why = r.last.reason && r.status !== 'pass' ? ` (${r.last.reason})` : '';
      const title = `${WORD[r.status]}${why} ×${r.length}, ${clock(r.first.at)}–${clock(r.last.at)} UTC`;
      return `<rect class="${r.status}" data-status="${r.status}" data-cycles="${r.length}" x="${x}" y="${20 - h}" width="${w}" height="${h}"><title>${esc(title)}</title></rect>`;
    })
    .join('');
  return `<svg class="timeline" role="img" aria-label="${esc(label)}" viewBox="0 0 ${slots * SLOT} 20" preserveAspectRatio="none" data-check="${check}">${bars}</svg><p class="muted">${esc(label)}</p>`;
}

function legend(): string {
  const item = (s: CycleStatus) =>
    `<svg width="14" height="20" viewBox="0 0 3 20" aria-hidden="true" class="timeline-key"><rect class="${s}" x="0" y="${20 - HEIGHT[s]}" width="3" height="${HEIGHT[s]}"/></svg> ${LETTER[s]} ${WORD[s]}`;
  const shapes = 'low bar pass, middle bar warn, full bar fail, hollow full bar blocked';
  return `<p class="legend">Timeline, oldest left, newest right: ${(['pass', 'warn', 'fail', 'blocked'] as const).map(item).join(' · ')} <span class="muted">(${shapes})</span></p>`;
}

function lastDuration(c: Snapshot['checks'][number]): string {
  const r = c.state.last;
  return r === undefined ? '-' : `${Math.round(r.durationMs)} ms`;
}

function checksTable(input: StatusPageInput): string {
  const rows = input.snapshot.checks.map((c) => {
    const v = c.verdict;
    const measured = c.state.last?.reason === 'blocked' ? 'blocked' : v.status;
    const reason =
      c.state.last?.reason === 'blocked'
        ? `blocked by ${c.state.last.blockedBy ?? 'an earlier check'}`
        : (v.reason ?? '');
    const output =
      input.maySeeIdentity && v.output !== undefined && v.status !== 'pass'
        ? `<br><span class="muted">${esc(scrubSecrets(v.output).slice(0, 300))}</span>`
        : '';
    const when =
      c.state.lastFinishedAt === undefined ? '-' : `${clock(c.state.lastFinishedAt)} UTC`;
    return `<tr data-check="${c.name}" data-status="${v.status}"><th scope="row">${c.name}</th><td>${badge(measured)}</td><td>${esc(reason)}${output}</td><td>${lastDuration(c)}</td><td>${when}</td></tr>`;
  });
  return `<table id="checks"><caption class="muted">Served verdicts (after the failure and success thresholds)</caption><thead><tr><th scope="col">check</th><th scope="col">status</th><th scope="col">reason</th><th scope="col">last duration</th><th scope="col">last run</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

function timelines(input: StatusPageInput): string {
  const h = input.history;
  const parts = input.snapshot.checks.map(
    (c) => `<h3>${c.name}</h3>${timeline(c.name, h.cycles[c.name] ?? [], h.capacity)}`,
  );
  return `<section aria-labelledby="timeline-h"><h2 id="timeline-h">Recent cycles</h2>${legend()}${parts.join('')}</section>`;
}

function errorCells(change: RecentChange, e: RecentEntry, maySee: boolean): string {
  const err = change.detail?.error;
  const code = [err?.code, err?.httpStatus === undefined ? undefined : `HTTP ${err.httpStatus}`]
    .filter((x) => x !== undefined)
    .join(', ');
  const ids = [
    err?.requestId ? `x-amz-request-id ${err.requestId}` : undefined,
    err?.extendedRequestId ? `x-amz-id-2 ${err.extendedRequestId}` : undefined,
  ].filter((x) => x !== undefined);
  let detail = '';
  if (maySee && change.to !== 'pass' && change.to !== 'blocked') {
    const lines = [
      err?.message ? `message: ${scrubSecrets(err.message)}` : undefined,
      ...ids,
      err?.time ? `time: ${err.time}` : undefined,
    ].filter((x) => x !== undefined);
    const fix = e.fixShownAbove
      ? '<p>Fix: as for the newer entry above.</p>'
      : e.remediation === undefined
        ? ''
        : `<p>${esc(e.remediation.cause)}</p>${e.remediation.blocks
            .map((b) =>
              b.kind === 'text'
                ? `<p>${esc(b.text)}</p>`
                : `<pre><code>${esc(b.text)}</code></pre>`,
            )
            .join('')}`;
    detail = `<details><summary>detail and fix</summary><pre>${esc(lines.join('\n'))}</pre>${fix}</details>`;
  }
  return `<td>${esc(code)}</td><td>${esc(change.detail?.step ?? '')}</td><td>${detail}</td>`;
}

function changesTable(input: StatusPageInput): string {
  const entries = recentEntries(input.history, input.snapshot.facts, input.config);
  if (entries.length === 0) {
    return '<section aria-labelledby="recent-h"><h2 id="recent-h">Recent changes</h2><p>None yet.</p></section>';
  }
  const rows = entries.map((e) => {
    const c = e.change;
    const span =
      c.until === undefined ? `since ${clock(c.since)}` : `${clock(c.since)}–${clock(c.until)}`;
    const lasted = `${Math.round(lastedMs(c, input.now) / 1000)} s`;
    return `<tr data-check="${c.check}" data-to="${c.to}"><td>${span}</td><th scope="row">${c.check}</th><td>${badge(c.to)}${c.confirmed ? '' : ' <span class="muted">(below threshold)</span>'}</td><td>${esc(c.to === 'blocked' ? `blocked by ${c.detail?.blockedBy ?? '?'}` : (c.reason ?? ''))}</td><td>${lasted}, ${c.cycles} cycle${c.cycles === 1 ? '' : 's'}</td>${errorCells(c, e, input.maySeeIdentity)}</tr>`;
  });
  return `<section aria-labelledby="recent-h"><h2 id="recent-h">Recent changes</h2><p class="muted">Newest first, times UTC. Kept in memory only: a restart forgets them.</p><table id="recent"><thead><tr><th scope="col">when</th><th scope="col">check</th><th scope="col">to</th><th scope="col">reason</th><th scope="col">lasted</th><th scope="col">error</th><th scope="col">step</th><th scope="col">detail</th></tr></thead><tbody>${rows.join('')}</tbody></table></section>`;
}

function factsList(f: Facts, config: Config): string {
  const rows: [string, string | undefined][] = [
    [
      'instance id',
      f.instanceId === undefined
        ? undefined
        : `${f.instanceId}${f.instanceIdSource === 'dmi-board-asset-tag' ? ' (from DMI board_asset_tag)' : ''}`,
    ],
    ['region', f.region],
    ['role', f.roleName],
    ['account', f.accountId],
    ['caller', f.callerArn],
    ['credential source', f.credentialSource],
    ['bucket', f.bucket ?? config.bucket],
    ['probe prefix', f.prefix],
  ];
  const items = rows
    .filter((r): r is [string, string] => r[1] !== undefined)
    .map(([k, v]) => `<tr><th scope="row">${k}</th><td><code>${esc(v)}</code></td></tr>`);
  return `<section aria-labelledby="facts-h"><h2 id="facts-h">Identity</h2><table id="facts"><tbody>${items.join('')}</tbody></table></section>`;
}

/** Line one: the verdict, and a failure that has cleared since, as /diagnose says it. */
function headline(snap: Snapshot, history: HistoryView): string {
  const last = snap.checks.flatMap((c) => (c.state.last === undefined ? [] : [c.state.last]));
  const cleared = snap.status === 'pass' ? clearedFailures(history, last)[0] : undefined;
  return cleared === undefined ? snap.status.toUpperCase() : `PASS now; ${changeClause(cleared)}`;
}

/** The reload period the page offers: the probe interval, within 5 to 60 s. */
export function refreshChoice(config: Pick<Config, 'intervalSeconds'>): number {
  return Math.max(5, Math.min(60, Math.round(config.intervalSeconds)));
}

/**
 * The status page: one self-contained document (inline style allowed by
 * hash, inline SVG, no script, no external request), reloaded by a meta
 * tag when asked to, readable without JavaScript. Pure: the route adds the headers.
 */
export function renderStatusPage(input: StatusPageInput): StatusPage {
  const { snapshot: snap, config } = input;
  const refresh = input.refreshSeconds;
  const title = `s3-health ${snap.status.toUpperCase()} – ${config.hostname}`;
  const login = config.diagnoseToken !== undefined && !input.maySeeIdentity;
  const body = [
    '<header>',
    `<h1>s3-health on ${esc(config.hostname)}: ${badge(snap.status)}</h1>`,
    `<p id="headline">${esc(headline(snap, input.history))}</p>`,
    `<p class="muted">Version ${esc(input.version)}. Page rendered ${clock(input.now)} UTC after ${snap.cycles} cycle${snap.cycles === 1 ? '' : 's'}. ${
      refresh === undefined
        ? `<a href="/?refresh=${refreshChoice(config)}" id="refresh">Reload every ${refreshChoice(config)} s</a>`
        : `Reloads every ${refresh} s: <a href="/" id="refresh">stop reloading</a>`
    }</p>`,
    `<nav aria-label="endpoints"><a href="/diagnose">/diagnose</a> (runs every check now, with fixes) · <a href="/diagnose?format=json">/diagnose as JSON</a> · <a href="/metrics">/metrics</a> · <a href="/healthz?verbose">/healthz?verbose</a></nav>`,
    login
      ? '<p class="note" id="login">Identity, error messages and fixes are hidden. <a href="/?login">Log in</a> with HTTP Basic (any user name, the diagnose token as password) to see them.</p>'
      : '',
    '</header>',
    '<main>',
    '<h2>Checks</h2>',
    checksTable(input),
    timelines(input),
    changesTable(input),
    input.maySeeIdentity ? factsList(snap.facts, config) : '',
    '</main>',
    `<footer><p class="muted">The memory holds the last ${input.history.capacity} cycles per check (S3_HEALTH_HISTORY_CYCLES) and the last ${input.history.changeCapacity} changes; a restart forgets them.</p></footer>`,
  ].join('\n');
  const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
${refresh === undefined ? '' : `<meta http-equiv="refresh" content="${refresh}">\n`}<title>${esc(title)}</title>
<link rel="icon" href="data:,">
<style>${CSS}</style>
</head>
<body>
${body}
</body>
</html>
`;
  return { html, csp: CSP };
}
