// deploy/alertmanager/alertmanager.yml checked by the real amtool: the config
// loads, and each s3-health alert lands on the receiver on-call expects.
// (What is muted while what fires is shown live by the fleet tier, test/fleet.)
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CONFIG = join(ROOT, 'deploy/alertmanager/alertmanager.yml');
const ALERTS = join(ROOT, 'deploy/prometheus/alerts.yml');
const SLOW = 60_000;

interface Run {
  code: number | null;
  output: string;
}

/** Runs amtool; a missing binary fails loudly instead of skipping. */
function amtool(args: string[]): Run {
  const run = spawnSync('amtool', args, { cwd: ROOT, encoding: 'utf8', timeout: SLOW });
  if (run.error) {
    if ((run.error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new Error(
        'amtool is not on PATH. Install it (Debian: `apt-get install prometheus-alertmanager`); ' +
          'these tests validate the shipped Alertmanager config and must not be skipped.',
      );
    }
    throw run.error;
  }
  return { code: run.status, output: `${run.stdout}${run.stderr}` };
}

/** `amtool config routes test` for one label set; asserts the receiver it resolves to. */
function routesTo(labels: Record<string, string>, receiver: string): void {
  const args = Object.entries(labels).map(([k, v]) => `${k}=${v}`);
  const run = amtool([
    'config',
    'routes',
    'test',
    `--config.file=${CONFIG}`,
    `--verify.receivers=${receiver}`,
    ...args,
  ]);
  expect(run.output.trim().split('\n')[0], args.join(' ')).toBe(receiver);
  expect(run.code, run.output).toBe(0);
}

interface Inhibit {
  source_matchers: string[];
  target_matchers: string[];
  equal: string[];
}

describe('deploy/alertmanager/alertmanager.yml', () => {
  it('passes amtool check-config', { timeout: SLOW }, () => {
    const run = amtool(['check-config', CONFIG]);
    expect(run.output).toContain('SUCCESS');
    expect(run.output).toMatch(/3 receivers/);
    expect(run.output).toMatch(/5 inhibit rules/);
    expect(run.code, run.output).toBe(0);
  });

  it('routes the fleet page by bucket and every host page by host', { timeout: SLOW }, () => {
    routesTo({ alertname: 'S3HealthFleetRoundTripFailing', bucket: 'kb-prod' }, 's3-health-fleet');
    for (const alertname of [
      'S3HealthRoundTripFailing',
      'S3HealthCheckFailing',
      'S3HealthImdsHopLimit',
      'S3HealthSidecarDown',
      'S3HealthProbesStale',
      'S3HealthCredentialsExpiringSoon',
      'S3HealthS3Slow',
      'S3HealthClockSkew',
    ]) {
      routesTo({ alertname, bucket: 'kb-prod', instance: 'h1:8080' }, 's3-health-hosts');
    }
    routesTo({ alertname: 'NodeDown', instance: 'h1:9100' }, 'default');
  });

  it('a wrong receiver is reported: routes test really verifies', { timeout: SLOW }, () => {
    const run = amtool([
      'config',
      'routes',
      'test',
      `--config.file=${CONFIG}`,
      '--verify.receivers=s3-health-fleet',
      'alertname=S3HealthRoundTripFailing',
      'instance=h1:8080',
    ]);
    expect(run.output).toContain('Expected receivers did not match');
    expect(run.code).not.toBe(0);
  });

  it('groups as documented, and mutes per-host S3 pages by bucket while the fleet page fires', () => {
    const doc = parse(readFileSync(CONFIG, 'utf8')) as {
      route: { routes: { receiver: string; group_by: string[] }[] };
      receivers: { name: string; webhook_configs?: { url: string; send_resolved: boolean }[] }[];
      inhibit_rules: Inhibit[];
    };
    const groupBy = new Map(doc.route.routes.map((r) => [r.receiver, r.group_by]));
    expect(groupBy.get('s3-health-fleet')).toEqual(['alertname', 'bucket']);
    expect(groupBy.get('s3-health-hosts')).toEqual(['alertname', 'bucket', 'instance']);
    for (const r of doc.receivers.filter((r) => r.name !== 'default')) {
      // Placeholders on the reserved .invalid domain: they can never page anyone by accident.
      expect(r.webhook_configs?.[0]?.url).toMatch(/^https:\/\/pager\.example\.invalid\//);
      expect(r.webhook_configs?.[0]?.send_resolved).toBe(true);
    }
    const fleet = doc.inhibit_rules.find((r) =>
      r.source_matchers.includes('alertname="S3HealthFleetRoundTripFailing"'),
    );
    expect(fleet?.equal).toEqual(['bucket']);
    // Every alert it mutes carries the bucket label in alerts.yml (joined from target_info).
    const alerts = readFileSync(ALERTS, 'utf8');
    const muted = /alertname=~"([^"]+)"/.exec(fleet?.target_matchers[0] ?? '')?.[1]?.split('|');
    expect(muted).toEqual([
      'S3HealthRoundTripFailing',
      'S3HealthCheckFailing',
      'S3HealthImdsHopLimit',
    ]);
    for (const name of muted ?? []) {
      const rule = alerts.split(/^\s*- alert:\s*/m).filter((r) => r.startsWith(`${name}\n`));
      expect(rule.length, name).toBeGreaterThan(0);
      for (const r of rule) expect(r, name).toContain('group_left (bucket) s3_health_target_info');
    }
  });
});
