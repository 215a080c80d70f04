// The fleet tier: what on-call receives from a fleet of real sidecars through
// a real Prometheus (shipped rules) and a real Alertmanager (shipped routing),
// scenario by scenario, exactly, and within the bound the config implies.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Fleet, ROLE_NAME, startFleet } from './support/fleet.ts';
import { type FleetReport, notificationLog, runScenarios } from './support/scenarios.ts';

const SIZE = Number(process.env.FLEET_SIZE ?? 6);
let fleet: Fleet | undefined;
let report: FleetReport;

beforeAll(async () => {
  const t0 = Date.now();
  fleet = await startFleet({
    size: SIZE,
    k: 15,
    intervalSeconds: 2,
    timeoutSeconds: 2,
    log: (line) => console.log(`[fleet] ${line}`),
  });
  report = await runScenarios(fleet, Date.now() - t0);
  for (const s of report.scenarios) {
    console.log(`[fleet] ${s.name}: ${s.what}`);
    for (const line of notificationLog(s)) console.log(`[fleet]   ${line}`);
  }
});

afterAll(async () => {
  await fleet?.close();
});

describe(`a fleet of ${SIZE} sidecars, Prometheus and Alertmanager`, () => {
  it('(a) one host hop limit: one page naming the host, the reason and its /diagnose, then resolved', () => {
    const fire = report.scenarios.find((s) => s.name === '(a) hop limit');
    const fix = report.scenarios.find((s) => s.name === '(a) fixed');
    expect(fire?.problems).toEqual([]);
    expect(fire?.seen).toHaveLength(1);
    expect(fire?.extra.diagnoseStatus).toBe('503');
    expect(fix?.problems).toEqual([]);
    expect(fix?.seen.map((n) => n.status)).toEqual(['resolved']);
  });

  it('(b) a bucket policy denying PutObject: one page for the bucket, per-host pages muted', () => {
    const s = report.scenarios.find((x) => x.name === '(b) bucket policy');
    expect(s?.problems).toEqual([]);
    expect(s?.seen.map((n) => n.receiver)).toEqual(['s3-health-fleet']);
    expect(s?.extra.hostsFailing).toBe(String(SIZE));
    expect(s?.extra.perHostAlertsMuted).toBe(`${SIZE}/${SIZE}`);
  });

  it('(c) one sidecar killed: SidecarDown for that host only', () => {
    const s = report.scenarios.find((x) => x.name === '(c) sidecar killed');
    expect(s?.problems).toEqual([]);
    expect(s?.seen).toHaveLength(1);
  });

  it('(d) everything fixed: resolved notifications for the bucket and the host', () => {
    const s = report.scenarios.find((x) => x.name === '(d) everything fixed');
    expect(s?.problems).toEqual([]);
    expect(s?.seen.map((n) => n.status)).toEqual(['resolved', 'resolved']);
  });

  it('every dashboard panel has data in a healthy fleet and while the bucket fails', () => {
    expect(report.dashboardHealthy.length).toBeGreaterThan(10);
    expect(report.dashboardHealthy.filter((p) => p.series === 0)).toEqual([]);
    expect(report.dashboardBucketDown.length).toBe(report.dashboardHealthy.length);
    expect(report.dashboardBucketDown.filter((p) => p.series === 0)).toEqual([]);
  });

  it('identity both ways: Prometheus scraping with the token sees the role; a scrape without it does not', () => {
    expect(report.identity.scrapedRoles).toEqual([ROLE_NAME]);
    expect(report.identity.unauthenticatedLine).toMatch(
      /^s3_health_target_info\{bucket="kb-fleet-[0-9a-f]+",region="eu-west-1",role="",account="",source="imds"\} 1$/,
    );
  });

  it('measures series and samples per sidecar and Prometheus memory', () => {
    const c = report.cost;
    console.log(`[fleet] cost ${JSON.stringify(c)}`);
    expect(c.hosts).toBe(SIZE);
    expect(c.seriesPerSidecar.min).toBeGreaterThan(10);
    expect(c.samplesPerScrape.avg).toBeGreaterThan(10);
    expect(c.appendedPerSecondPerSidecar).toBeGreaterThan(0);
    expect(c.prometheusRssBytes).toBeGreaterThan(0);
    expect(c.usdPerHostMonth).toBeGreaterThan(0);
  });
});
