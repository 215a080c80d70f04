// The shipped rules and Alertmanager routing, made fast enough for a test
// tier by one documented transform: every duration that sets a pace is
// divided by the same factor K. Nothing else changes: expressions, labels,
// annotations' text, thresholds, matchers, grouping and inhibitions are the
// shipped ones.
//
//   rules:         `for:`, `keep_firing_for:`, a group's `interval:`, and every
//                  PromQL range `[d]` (in `expr` and in annotation queries) -> d / K
//   Alertmanager:  `group_wait`, `group_interval`, `repeat_interval` -> d / K;
//                  every webhook URL -> <recorder>/<receiver name>
//   Prometheus:    the shipped 15 s scrape and evaluation interval -> 15 s / K
//
// Thresholds in seconds that are not paces stay (95 s stale, 900 s of
// credentials, 60 s of clock offset), so those alerts do not fire in the tier.
import { parseDocument, stringify } from 'yaml';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Prometheus/Alertmanager duration ("1h30m", "15s", "500ms") in milliseconds. */
export function parseDuration(d: string): number {
  const parts = [...d.matchAll(/(\d+)(ms|s|m|h|d)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== d) {
    throw new Error(`not a duration: ${d}`);
  }
  return parts.reduce((sum, p) => sum + Number(p[1]) * (UNIT_MS[p[2] ?? ''] ?? 0), 0);
}

/** Milliseconds as the shortest exact duration ("8s", "1500ms", "16m"). */
export function formatDuration(ms: number): string {
  const whole = Math.round(ms);
  for (const [unit, size] of [
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
  ] as const) {
    if (whole % size === 0 && whole >= size) return `${whole / size}${unit}`;
  }
  return `${whole}ms`;
}

export function scaleDuration(d: string, k: number): string {
  return formatDuration(parseDuration(d) / k);
}

/** Every `[d]` range in a PromQL text (or an annotation holding PromQL) divided by k. */
export function scaleRanges(text: string, k: number): string {
  return text.replace(
    /\[((?:\d+(?:ms|s|m|h|d))+)\]/g,
    (_m, d: string) => `[${scaleDuration(d, k)}]`,
  );
}

interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  keep_firing_for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

interface RuleFile {
  groups: { name: string; interval?: string; rules: Rule[] }[];
}

export function scaleRules(yamlText: string, k: number): string {
  const doc = parseDocument(yamlText).toJS() as RuleFile;
  for (const group of doc.groups) {
    if (group.interval) group.interval = scaleDuration(group.interval, k);
    for (const rule of group.rules) {
      rule.expr = scaleRanges(rule.expr, k);
      if (rule.for) rule.for = scaleDuration(rule.for, k);
      if (rule.keep_firing_for) rule.keep_firing_for = scaleDuration(rule.keep_firing_for, k);
      for (const [name, text] of Object.entries(rule.annotations ?? {})) {
        if (rule.annotations) rule.annotations[name] = scaleRanges(text, k);
      }
    }
  }
  return stringify(doc, { lineWidth: 0 });
}

interface Route {
  receiver?: string;
  group_wait?: string;
  group_interval?: string;
  repeat_interval?: string;
  routes?: Route[];
}

interface AmConfig {
  route: Route;
  receivers: { name: string; webhook_configs?: { url: string }[] }[];
}

/** The shipped paces of a route tree (defaults included), for the bounds the tier asserts. */
export interface RoutePaces {
  groupWaitMs: number;
  groupIntervalMs: number;
}

const AM_DEFAULTS = { group_wait: '30s', group_interval: '5m', repeat_interval: '4h' };

function scaleRoute(route: Route, k: number, inherited: typeof AM_DEFAULTS): void {
  const own = {
    group_wait: route.group_wait ?? inherited.group_wait,
    group_interval: route.group_interval ?? inherited.group_interval,
    repeat_interval: route.repeat_interval ?? inherited.repeat_interval,
  };
  for (const key of ['group_wait', 'group_interval', 'repeat_interval'] as const) {
    if (route[key]) route[key] = scaleDuration(route[key], k);
  }
  for (const child of route.routes ?? []) scaleRoute(child, k, own);
}

export function scaleAlertmanager(yamlText: string, k: number, recorderUrl: string): string {
  const doc = parseDocument(yamlText).toJS() as AmConfig;
  // Root paces are set explicitly so the defaults get scaled too.
  for (const [key, d] of Object.entries(AM_DEFAULTS) as [keyof typeof AM_DEFAULTS, string][]) {
    doc.route[key] ??= d;
  }
  scaleRoute(doc.route, k, AM_DEFAULTS);
  for (const r of doc.receivers) {
    for (const w of r.webhook_configs ?? []) w.url = `${recorderUrl}/${r.name}`;
  }
  return stringify(doc, { lineWidth: 0 });
}

/** group_wait and group_interval of the route a receiver is reached by (shipped, unscaled). */
export function routePaces(yamlText: string, receiver: string): RoutePaces {
  const doc = parseDocument(yamlText).toJS() as AmConfig;
  const walk = (route: Route, inherited: typeof AM_DEFAULTS): RoutePaces | undefined => {
    const own = {
      group_wait: route.group_wait ?? inherited.group_wait,
      group_interval: route.group_interval ?? inherited.group_interval,
      repeat_interval: route.repeat_interval ?? inherited.repeat_interval,
    };
    for (const child of route.routes ?? []) {
      const found = walk(child, own);
      if (found) return found;
    }
    if (route.receiver === receiver) {
      return {
        groupWaitMs: parseDuration(own.group_wait),
        groupIntervalMs: parseDuration(own.group_interval),
      };
    }
    return undefined;
  };
  const found = walk(doc.route, AM_DEFAULTS);
  if (!found) throw new Error(`no route reaches receiver ${receiver}`);
  return found;
}

/** `for:` (and keep_firing_for) of an alert in the shipped rules, in ms. */
export function alertPaces(
  yamlText: string,
  alert: string,
): { forMs: number; keepFiringForMs: number; labels: Record<string, string> }[] {
  const doc = parseDocument(yamlText).toJS() as RuleFile;
  return doc.groups
    .flatMap((g) => g.rules)
    .filter((r) => r.alert === alert)
    .map((r) => ({
      forMs: r.for ? parseDuration(r.for) : 0,
      keepFiringForMs: r.keep_firing_for ? parseDuration(r.keep_firing_for) : 0,
      labels: r.labels ?? {},
    }));
}
