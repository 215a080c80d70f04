// Every panel expression of the shipped Grafana dashboard, its template
// variables resolved as Grafana would, evaluated against the live Prometheus.
// Generic: it reads the JSON, so it follows the dashboard as it changes.
import { readFileSync } from 'node:fs';
import type { Prometheus } from '../../../ground/monitoring/prometheus.ts';

interface Target {
  expr?: string;
  refId?: string;
  hide?: boolean;
}
interface Panel {
  title: string;
  type: string;
  targets?: Target[];
  panels?: Panel[];
}
interface Variable {
  name: string;
  type: string;
  query?: string | { query?: string };
  includeAll?: boolean;
  allValue?: string;
  current?: { value?: string | string[] };
  options?: { value: string }[];
}
interface Dashboard {
  panels: Panel[];
  templating: { list: Variable[] };
}

export interface PanelResult {
  panel: string;
  refId: string;
  expr: string;
  series: number;
}

function queryText(v: Variable): string {
  return typeof v.query === 'string' ? v.query : (v.query?.query ?? '');
}

const escapeRegex = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** A variable's value as Grafana would interpolate it into PromQL. */
async function resolveVariable(v: Variable, prom: Prometheus): Promise<string | undefined> {
  if (v.type === 'datasource') return undefined;
  if (v.type === 'query') {
    if (v.includeAll && v.allValue) return v.allValue;
    const q = queryText(v).trim();
    const lv = /^label_values\((?:(.+),\s*)?(\w+)\)$/.exec(q);
    if (!lv) throw new Error(`variable ${v.name}: cannot resolve query ${q}`);
    const values = await prom.labelValues(lv[2] ?? '', lv[1] ?? '{__name__=~".+"}');
    if (values.length === 0) throw new Error(`variable ${v.name}: ${q} has no values`);
    return v.includeAll ? values.map(escapeRegex).join('|') : (values[0] ?? '');
  }
  const current = v.current?.value;
  if (Array.isArray(current)) return current.join('|');
  if (current !== undefined) return current;
  return v.options?.[0]?.value ?? queryText(v);
}

export function allPanels(panels: Panel[]): Panel[] {
  return panels.flatMap((p) => [p, ...allPanels(p.panels ?? [])]);
}

export function loadDashboard(file: string): Dashboard {
  return JSON.parse(readFileSync(file, 'utf8')) as Dashboard;
}

/** Instant-evaluates every panel target; `builtins` are Grafana's $__… durations. */
export async function evaluateDashboard(
  file: string,
  prom: Prometheus,
  builtins: Record<string, string>,
): Promise<PanelResult[]> {
  const dashboard = loadDashboard(file);
  const values = new Map<string, string>(Object.entries(builtins));
  for (const v of dashboard.templating.list) {
    const value = await resolveVariable(v, prom);
    if (value !== undefined) values.set(v.name, value);
  }
  const interpolate = (expr: string) =>
    expr.replace(/\$\{(\w+)(?::\w+)?\}|\$(\w+)/g, (m, braced?: string, bare?: string) => {
      const value = values.get(braced ?? bare ?? '');
      if (value === undefined) throw new Error(`unresolved variable ${m} in ${expr}`);
      return value;
    });
  const out: PanelResult[] = [];
  for (const panel of allPanels(dashboard.panels)) {
    for (const t of panel.targets ?? []) {
      if (!t.expr || t.hide) continue;
      const expr = interpolate(t.expr);
      const series = (await prom.query(expr)).length;
      out.push({ panel: panel.title, refId: t.refId ?? '', expr, series });
    }
  }
  return out;
}
