// What the fleet costs its monitoring system, read from the live Prometheus.
import { type Prometheus, rssBytes } from '../../../ground/monitoring/prometheus.ts';
import { JOB, SHIPPED } from './fleet.ts';

/**
 * Amazon Managed Service for Prometheus, metric samples ingested, first tier
 * (aws.amazon.com/prometheus/pricing, 2025): USD 0.90 per 10 million samples.
 * Not re-checked from this offline machine.
 */
export const AMP_PRICE = {
  asOf: '2025 (aws.amazon.com/prometheus/pricing, first tier)',
  usdPer10M: 0.9,
};
/** Prometheus adds these series to every target: up, scrape_duration_seconds, scrape_samples_scraped, scrape_samples_post_metric_relabeling, scrape_series_added. */
export const SYNTHETIC_PER_TARGET = 5;
const MONTH_S = 30 * 86_400;

export interface Cost {
  hosts: number;
  /** head series from the target's job, per sidecar (its exposition + the 5 synthetic ones) */
  seriesPerSidecar: { min: number; avg: number; max: number };
  /** samples in one scrape of one sidecar (scrape_samples_scraped) */
  samplesPerScrape: { min: number; avg: number; max: number };
  headSeries: number;
  /** samples appended per second by the whole Prometheus, measured over `windowS` */
  appendedPerSecond: number;
  appendedPerSecondPerSidecar: number;
  windowS: number;
  scrapeMs: number;
  /** at the shipped 15 s scrape: (samples per scrape + synthetic) / 15 s */
  shippedSamplesPerSecondPerSidecar: number;
  samplesPerHostMonth: number;
  usdPerHostMonth: number;
  prometheusRssBytes: number;
}

const APPENDED = 'prometheus_tsdb_head_samples_appended_total';

/** A counter summed over its label sets (2.42 splits appended samples by `type`). */
function total(metrics: Map<string, number>, name: string): number {
  let sum = 0;
  let found = false;
  for (const [key, value] of metrics) {
    if (key === name || key.startsWith(`${name}{`)) {
      sum += value;
      found = true;
    }
  }
  return found ? sum : Number.NaN;
}

function stats(xs: number[]): { min: number; avg: number; max: number } {
  if (xs.length === 0) return { min: Number.NaN, avg: Number.NaN, max: Number.NaN };
  return {
    min: Math.min(...xs),
    avg: xs.reduce((a, b) => a + b, 0) / xs.length,
    max: Math.max(...xs),
  };
}

export async function measureCost(
  prom: Prometheus,
  hosts: number,
  scrapeMs: number,
  windowS = 10,
): Promise<Cost> {
  const series = await prom.query(`count by (instance) ({job="${JOB}"})`);
  const samples = await prom.query(`scrape_samples_scraped{job="${JOB}"}`);
  const before = await prom.ownMetrics();
  const t0 = Date.now();
  await new Promise((r) => setTimeout(r, windowS * 1000));
  const after = await prom.ownMetrics();
  const seconds = (Date.now() - t0) / 1000;
  const appended = (total(after, APPENDED) - total(before, APPENDED)) / seconds;
  const perScrape = stats(samples.map((s) => s.value));
  const shipped = (perScrape.avg + SYNTHETIC_PER_TARGET) / (SHIPPED.scrapeIntervalMs / 1000);
  const perMonth = shipped * MONTH_S;
  return {
    hosts,
    seriesPerSidecar: stats(series.map((s) => s.value)),
    samplesPerScrape: perScrape,
    headSeries: total(after, 'prometheus_tsdb_head_series'),
    appendedPerSecond: appended,
    appendedPerSecondPerSidecar: appended / hosts,
    windowS: seconds,
    scrapeMs,
    shippedSamplesPerSecondPerSidecar: shipped,
    samplesPerHostMonth: perMonth,
    usdPerHostMonth: (perMonth / 1e7) * AMP_PRICE.usdPer10M,
    prometheusRssBytes: rssBytes(prom.pid),
  };
}
