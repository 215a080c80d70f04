// The fleet tier's scaled copy of the shipped rules and routing: one
// transform (every pace / K), checked value by value and by the real tools.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  formatDuration,
  parseDuration,
  routePaces,
  scaleAlertmanager,
  scaleRanges,
  scaleRules,
} from '../../ground/monitoring/scale.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const RULES = readFileSync(join(ROOT, 'deploy/prometheus/alerts.yml'), 'utf8');
const AM = readFileSync(join(ROOT, 'deploy/alertmanager/alertmanager.yml'), 'utf8');
const tmp = mkdtempSync(join(tmpdir(), 's3h-scale-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function tool(bin: string, args: string[]): string {
  const r = spawnSync(bin, args, { encoding: 'utf8', timeout: 60_000 });
  if (r.error)
    throw new Error(`${bin} must be installed (scripts/install-peers.sh): ${r.error.message}`);
  expect(r.status, r.stdout + r.stderr).toBe(0);
  return r.stdout + r.stderr;
}

describe('durations', () => {
  it('parse and format Prometheus durations', () => {
    expect(parseDuration('1h30m')).toBe(5_400_000);
    expect(parseDuration('500ms')).toBe(500);
    expect(formatDuration(8000)).toBe('8s');
    expect(formatDuration(16 * 60_000)).toBe('16m');
    expect(formatDuration(1500)).toBe('1500ms');
    expect(() => parseDuration('2 minutes')).toThrow(/not a duration/);
  });

  it('scales every PromQL range and nothing else', () => {
    expect(scaleRanges('increase(x[5m]) > 0 and rate(y[15m]) > 95', 15)).toBe(
      'increase(x[20s]) > 0 and rate(y[1m]) > 95',
    );
  });
});

describe('the scaled copy (K = 15)', () => {
  it('divides for, keep_firing_for and ranges; keeps expressions, labels and thresholds', () => {
    const scaled = parse(scaleRules(RULES, 15)) as {
      groups: {
        rules: {
          alert: string;
          expr: string;
          for?: string;
          keep_firing_for?: string;
          labels: object;
        }[];
      }[];
    };
    const shipped = parse(RULES) as typeof scaled;
    const rules = scaled.groups.flatMap((g) => g.rules);
    const orig = shipped.groups.flatMap((g) => g.rules);
    expect(rules.map((r) => r.alert)).toEqual(orig.map((r) => r.alert));
    rules.forEach((r, i) => {
      const o = orig[i];
      if (!o) throw new Error('rule missing');
      if (o.for) expect(parseDuration(r.for ?? '') * 15).toBe(parseDuration(o.for));
      expect(r.labels).toEqual(o.labels);
      expect(r.expr.replace(/\[[^\]]+\]/g, '[]')).toBe(o.expr.replace(/\[[^\]]+\]/g, '[]'));
    });
    const fleet = rules.find((r) => r.alert === 'S3HealthFleetRoundTripFailing');
    expect([fleet?.for, fleet?.keep_firing_for]).toEqual(['4s', '20s']);
    const file = join(tmp, 'rules.yml');
    writeFileSync(file, scaleRules(RULES, 15));
    expect(tool('promtool', ['check', 'rules', file])).toMatch(/SUCCESS: \d+ rules found/);
  });

  it('points every webhook at the recorder and scales the group timers', () => {
    const text = scaleAlertmanager(AM, 15, 'http://127.0.0.1:9999');
    const doc = parse(text) as {
      receivers: { name: string; webhook_configs?: { url: string }[] }[];
    };
    for (const r of doc.receivers) {
      for (const w of r.webhook_configs ?? [])
        expect(w.url).toBe(`http://127.0.0.1:9999/${r.name}`);
    }
    expect(routePaces(text, 's3-health-fleet')).toEqual({
      groupWaitMs: 2000,
      groupIntervalMs: 20_000,
    });
    expect(routePaces(AM, 's3-health-hosts')).toEqual({
      groupWaitMs: 30_000,
      groupIntervalMs: 300_000,
    });
    const file = join(tmp, 'am.yml');
    writeFileSync(file, text);
    expect(tool('amtool', ['check-config', file])).toContain('SUCCESS');
  });
});
