// The bound each scenario's notification must meet, derived from the config
// the fleet runs (the shipped paces divided by K, the sidecars' interval and
// timeout), term by term, so a report can show where the time may go.
import { readFileSync } from 'node:fs';
import { alertPaces, routePaces } from '../../../ground/monitoring/scale.ts';
import { type FleetOptions, SHIPPED } from './fleet.ts';

export interface Bound {
  totalMs: number;
  /** term -> ms, in the order they add up */
  terms: [string, number][];
}

/** Alertmanager's dispatch and the webhook's HTTP request: not a config pace, a small allowance. */
export const DELIVERY_MS = 1000;

function sum(terms: [string, number][]): Bound {
  return { totalMs: terms.reduce((s, [, ms]) => s + ms, 0), terms };
}

export interface Paces {
  scrapeMs: number;
  /** the sidecar's worst case from a fault to a reported fail: the cycle under way may
   * still pass, the next starts up to 1.1 x interval later, fails, and is confirmed by
   * the quick re-probe min(1 s, interval, timeout / 4) later: 1.1 I + T + reprobe + T */
  detectFailMs: number;
  /** from a fix to a reported pass (success threshold 1): 1.1 I + T */
  detectRecoverMs: number;
  /** `for:` of the rule of that name whose labels include `labels` (an alert may have several rules) */
  forMs(alert: string, labels?: Record<string, string>): number;
  keepFiringForMs(alert: string): number;
  groupWaitMs(receiver: string): number;
  groupIntervalMs(receiver: string): number;
}

export function paces(opts: FleetOptions): Paces {
  const rules = readFileSync(SHIPPED.rules, 'utf8');
  const am = readFileSync(SHIPPED.alertmanager, 'utf8');
  const i = opts.intervalSeconds * 1000;
  const t = opts.timeoutSeconds * 1000;
  const reprobe = Math.min(1000, i, t / 4);
  const one = (alert: string, labels: Record<string, string> = {}) => {
    const all = alertPaces(rules, alert).filter((r) =>
      Object.entries(labels).every(([k, v]) => r.labels[k] === v),
    );
    if (all.length === 0)
      throw new Error(`no alert ${alert} ${JSON.stringify(labels)} in ${SHIPPED.rules}`);
    // Several rules left: the slowest bounds them all.
    return all.reduce((a, b) => (b.forMs > a.forMs ? b : a));
  };
  return {
    scrapeMs: SHIPPED.scrapeIntervalMs / opts.k,
    detectFailMs: 1.1 * i + t + reprobe + t,
    detectRecoverMs: 1.1 * i + t,
    forMs: (alert, labels) => one(alert, labels).forMs / opts.k,
    keepFiringForMs: (alert) => one(alert).keepFiringForMs / opts.k,
    groupWaitMs: (receiver) => routePaces(am, receiver).groupWaitMs / opts.k,
    groupIntervalMs: (receiver) => routePaces(am, receiver).groupIntervalMs / opts.k,
  };
}

/**
 * Fault -> firing notification: the sidecar's detection (0 for a killed
 * sidecar: the next scrape fails), the scrape that sees it, the evaluation
 * that starts `for:`, `for:` itself, the evaluation that ends it, the
 * group's group_wait, delivery.
 */
export function firingBound(
  p: Paces,
  alert: string,
  receiver: string,
  detectMs: number,
  labels?: Record<string, string>,
): Bound {
  return sum([
    ['sidecar detection', detectMs],
    ['scrape interval', p.scrapeMs],
    ['evaluation interval', p.scrapeMs],
    ['for', p.forMs(alert, labels)],
    ['evaluation interval (for ends)', p.scrapeMs],
    ['group_wait', p.groupWaitMs(receiver)],
    ['delivery', DELIVERY_MS],
  ]);
}

/**
 * Fix -> resolved notification: the sidecar's recovery, scrape, evaluation,
 * keep_firing_for (and the evaluation that ends it), then the group's next
 * flush, at most group_interval later.
 */
export function resolvedBound(p: Paces, alert: string, receiver: string, detectMs: number): Bound {
  const keep = p.keepFiringForMs(alert);
  return sum([
    ['sidecar recovery', detectMs],
    ['scrape interval', p.scrapeMs],
    ['evaluation interval', p.scrapeMs],
    ...(keep > 0
      ? ([
          ['keep_firing_for', keep],
          ['evaluation interval (keep ends)', p.scrapeMs],
        ] as [string, number][])
      : []),
    ['group_interval', p.groupIntervalMs(receiver)],
    ['delivery', DELIVERY_MS],
  ]);
}

export function describeBound(b: Bound): string {
  return b.terms.map(([name, ms]) => `${name} ${(ms / 1000).toFixed(1)}`).join(' + ');
}
