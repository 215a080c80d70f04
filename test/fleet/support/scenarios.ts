// The four scenarios of the fleet tier, each ending in the exact list of
// notifications on-call received, when, and against which bound.
import type { Notification } from '../../../ground/monitoring/webhook-recorder.ts';
import {
  type Bound,
  describeBound,
  firingBound,
  type Paces,
  paces,
  resolvedBound,
} from './bounds.ts';
import { type Cost, measureCost } from './cost.ts';
import { evaluateDashboard, type PanelResult } from './dashboard.ts';
import { type Fleet, JOB, SCRAPE_TOKEN, SHIPPED } from './fleet.ts';

/** A notification reduced to what on-call reads, for exact comparison. */
export interface Seen {
  /** ms after the scenario's fault (or fix) */
  afterMs: number;
  receiver: string;
  status: string;
  groupLabels: Record<string, string>;
  alerts: { status: string; labels: Record<string, string>; runbookUrl: string }[];
}

export interface Expected {
  receiver: string;
  status: 'firing' | 'resolved';
  groupLabels: Record<string, string>;
  alerts: {
    status: 'firing' | 'resolved';
    labels: Record<string, string>;
    runbookUrl: string | string[];
  }[];
}

export interface ScenarioResult {
  name: string;
  what: string;
  /** when the fault (or fix) went in, epoch ms */
  at: number;
  seen: Seen[];
  expected: Expected[];
  /** per expected notification: its bound */
  bounds: Bound[];
  /** problems found: empty when the scenario passed */
  problems: string[];
  extra: Record<string, string>;
}

export interface FleetReport {
  size: number;
  scenarios: ScenarioResult[];
  dashboardHealthy: PanelResult[];
  dashboardBucketDown: PanelResult[];
  cost: Cost;
  /**
   * Identity both ways (SPEC §5): the role label of s3_health_target_info as
   * Prometheus scraped it with the token, and one sidecar's target_info line
   * fetched without it.
   */
  identity: { scrapedRoles: string[]; unauthenticatedLine: string };
  /** wall time of the whole run, ms */
  wallMs: number;
  startupMs: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Extra time after the last possible notification in which nothing more may arrive. */
const QUIET_MS = 3000;

async function identityBothWays(fleet: Fleet): Promise<FleetReport['identity']> {
  const scraped = await fleet.prometheus.query('s3_health_target_info');
  const first = fleet.hosts[0];
  const open = first
    ? await (
        await fetch(`http://${first.instance}/metrics`, { signal: AbortSignal.timeout(5000) })
      ).text()
    : '';
  return {
    scrapedRoles: [...new Set(scraped.map((x) => x.metric.role ?? ''))],
    unauthenticatedLine: open.split('\n').find((l) => l.startsWith('s3_health_target_info')) ?? '',
  };
}

async function until<T>(what: string, ms: number, probe: () => Promise<T | undefined>): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(250);
  }
}

function seenOf(n: Notification, at: number): Seen {
  return {
    afterMs: n.receivedAt - at,
    receiver: n.receiver,
    status: n.status,
    groupLabels: n.groupLabels,
    alerts: n.alerts.map((a) => ({
      status: a.status,
      labels: a.labels,
      runbookUrl: a.annotations.runbook_url ?? '',
    })),
  };
}

/** Compares what arrived with what should have, exactly: count, receiver, status, labels, links, bounds. */
export function compare(seen: Seen[], expected: Expected[], bounds: Bound[]): string[] {
  const problems: string[] = [];
  if (seen.length !== expected.length) {
    problems.push(
      `expected ${expected.length} notification(s), got ${seen.length}: ${JSON.stringify(seen)}`,
    );
  }
  const left = [...seen];
  expected.forEach((e, i) => {
    const k = left.findIndex(
      (s) =>
        s.receiver === e.receiver &&
        s.status === e.status &&
        JSON.stringify(s.groupLabels) === JSON.stringify(e.groupLabels) &&
        s.alerts.length === e.alerts.length &&
        e.alerts.every((ea, j) => {
          const sa = s.alerts[j];
          if (!sa || sa.status !== ea.status) return false;
          const links = Array.isArray(ea.runbookUrl) ? ea.runbookUrl : [ea.runbookUrl];
          if (!links.includes(sa.runbookUrl)) return false;
          return Object.entries(ea.labels).every(([l, v]) => sa.labels[l] === v);
        }),
    );
    if (k < 0) {
      problems.push(`missing: ${JSON.stringify(e)}`);
      return;
    }
    const [s] = left.splice(k, 1);
    const bound = bounds[i];
    if (s && bound && s.afterMs > bound.totalMs) {
      problems.push(
        `${e.receiver} ${e.status} arrived after ${s.afterMs} ms, over its bound of ${bound.totalMs} ms (${describeBound(bound)})`,
      );
    }
  });
  for (const s of left) problems.push(`unexpected: ${JSON.stringify(s)}`);
  return problems;
}

/** Waits for the expected notifications, then a quiet window, and compares. */
async function observe(
  fleet: Fleet,
  at: number,
  expected: Expected[],
  bounds: Bound[],
  quietUntil: number,
): Promise<{ seen: Seen[]; problems: string[] }> {
  const latest = Math.max(...bounds.map((b) => b.totalMs));
  // Wait past the bound (so a late one is seen, and reported as late), but not forever.
  await until(`${expected.length} notification(s)`, latest + 30_000, async () =>
    fleet.recorder.since(at).length >= expected.length ? true : undefined,
  ).catch(() => undefined);
  const wait = Math.max(quietUntil, Date.now() + QUIET_MS) - Date.now();
  if (wait > 0) await sleep(wait);
  const seen = fleet.recorder.since(at).map((n) => seenOf(n, at));
  return { seen, problems: compare(seen, expected, bounds) };
}

async function healthy(fleet: Fleet, hosts: number, ms: number): Promise<void> {
  await until(`${hosts} sidecars passing s3 in Prometheus`, ms, async () => {
    const ok = await fleet.prometheus.query(
      `count(s3_health_check_success{job="${JOB}",check="s3"} == 1) == ${hosts} and on () count(s3_health_target_info{role!=""}) == ${hosts}`,
    );
    return ok.length === 1 ? true : undefined;
  });
}

export async function runScenarios(fleet: Fleet, startupMs: number): Promise<FleetReport> {
  const t0 = Date.now();
  const log = fleet.opts.log;
  const p: Paces = paces(fleet.opts);
  const n = fleet.hosts.length;
  const a = fleet.hosts[0];
  const c = fleet.hosts[n - 1];
  if (!a || !c || n < 3)
    throw new Error('the fleet needs at least 3 hosts (one failing is under half)');
  const hostUrls = fleet.hosts.map((h) => `http://${h.instance}/diagnose`);
  const bucket = fleet.bucket;
  const scenarios: ScenarioResult[] = [];

  log('waiting for a healthy fleet in Prometheus');
  await healthy(fleet, n, 120_000);
  // A healthy fleet pages nobody: let every `for:` of the start-up pass.
  await sleep(
    p.forMs('S3HealthSidecarDown') + 2 * p.scrapeMs + p.groupWaitMs('s3-health-hosts') + QUIET_MS,
  );
  const startupNoise = fleet.recorder.all();
  const cost = await measureCost(fleet.prometheus, n, p.scrapeMs);
  const identity = await identityBothWays(fleet);
  const builtins = {
    __rate_interval: `${4 * p.scrapeMs}ms`,
    __interval: `${p.scrapeMs}ms`,
    __range: '5m',
  };
  const dashboardHealthy = await evaluateDashboard(SHIPPED.dashboard, fleet.prometheus, builtins);
  if (startupNoise.length > 0) {
    throw new Error(`a healthy fleet sent notifications: ${JSON.stringify(startupNoise)}`);
  }

  // (a) one host's hop limit: IMDSv2 required and the token PUT black-holed.
  {
    log(`(a) hop limit on ${a.instance}`);
    const at = Date.now();
    a.imds.setTokensRequired(true);
    a.imds.setFault('token-blackhole');
    const labels = {
      alertname: 'S3HealthImdsHopLimit',
      instance: a.instance,
      reason: 'imds_hop_limit_tokens_required',
      severity: 'critical',
      bucket,
    };
    const groupLabels = { alertname: 'S3HealthImdsHopLimit', bucket, instance: a.instance };
    const fire = firingBound(p, 'S3HealthImdsHopLimit', 's3-health-hosts', p.detectFailMs, {
      reason: 'imds_hop_limit_tokens_required',
    });
    // The alerts the same cause fires down the chain wait as long: none may leak.
    const quiet =
      at + firingBound(p, 'S3HealthRoundTripFailing', 's3-health-hosts', p.detectFailMs).totalMs;
    const expected: Expected[] = [
      {
        receiver: 's3-health-hosts',
        status: 'firing',
        groupLabels,
        alerts: [{ status: 'firing', labels, runbookUrl: `http://${a.instance}/diagnose` }],
      },
    ];
    const r = await observe(fleet, at, expected, [fire], quiet);
    // The link on-call clicks works and explains it.
    const diagnose = await fetch(`http://${a.instance}/diagnose`, {
      headers: { authorization: `Bearer ${SCRAPE_TOKEN}` },
      signal: AbortSignal.timeout(15_000),
    });
    const text = await diagnose.text();
    if (!/hop.limit/i.test(text))
      r.problems.push(
        `/diagnose of ${a.instance} does not explain the hop limit:\n${text.slice(0, 400)}`,
      );
    scenarios.push({
      name: '(a) hop limit',
      what: `IMDSv2 required, token PUT black-holed on ${a.instance}`,
      at,
      seen: r.seen,
      expected,
      bounds: [fire],
      problems: r.problems,
      extra: { diagnoseStatus: String(diagnose.status) },
    });

    log('(a) fixed');
    const fixedAt = Date.now();
    a.imds.setFault('none');
    a.imds.setTokensRequired(false);
    const res = resolvedBound(p, 'S3HealthImdsHopLimit', 's3-health-hosts', p.detectRecoverMs);
    const expectedFix: Expected[] = [
      {
        receiver: 's3-health-hosts',
        status: 'resolved',
        groupLabels,
        alerts: [{ status: 'resolved', labels, runbookUrl: `http://${a.instance}/diagnose` }],
      },
    ];
    const f = await observe(fleet, fixedAt, expectedFix, [res], fixedAt + res.totalMs);
    scenarios.push({
      name: '(a) fixed',
      what: `IMDS of ${a.instance} answers again`,
      at: fixedAt,
      seen: f.seen,
      expected: expectedFix,
      bounds: [res],
      problems: f.problems,
      extra: {},
    });
    await healthy(fleet, n, 60_000);
  }

  // (b) a bucket policy denying PutObject to the role, on every host at once.
  let dashboardBucketDown: PanelResult[] = [];
  {
    log('(b) bucket policy denies PutObject to the role');
    const at = Date.now();
    await fleet.denyPutToRole();
    const fire = firingBound(p, 'S3HealthFleetRoundTripFailing', 's3-health-fleet', p.detectFailMs);
    const quiet =
      at + firingBound(p, 'S3HealthRoundTripFailing', 's3-health-hosts', p.detectFailMs).totalMs;
    const expected: Expected[] = [
      {
        receiver: 's3-health-fleet',
        status: 'firing',
        groupLabels: { alertname: 'S3HealthFleetRoundTripFailing', bucket },
        alerts: [
          {
            status: 'firing',
            labels: {
              alertname: 'S3HealthFleetRoundTripFailing',
              bucket,
              scope: 'fleet',
              severity: 'critical',
            },
            runbookUrl: hostUrls,
          },
        ],
      },
    ];
    const r = await observe(fleet, at, expected, [fire], quiet);
    // Every host really fails, and Alertmanager holds their pages as muted by the fleet page.
    const failing = await fleet.prometheus.query(
      `count(s3_health_check_success{job="${JOB}",check="s3"} == 0)`,
    );
    const am = await fleet.alertmanager.alerts();
    const perHost = am.filter((x) => x.labels.alertname === 'S3HealthRoundTripFailing');
    const muted = perHost.filter(
      (x) => x.status.state === 'suppressed' && x.status.inhibitedBy.length > 0,
    );
    if (perHost.length !== n || muted.length !== n) {
      r.problems.push(
        `expected ${n} per-host S3 alerts in Alertmanager, all inhibited; got ${perHost.length}, ${muted.length} inhibited`,
      );
    }
    dashboardBucketDown = await evaluateDashboard(SHIPPED.dashboard, fleet.prometheus, builtins);
    scenarios.push({
      name: '(b) bucket policy',
      what: `bucket policy denies s3:PutObject to ${fleet.roleArn}`,
      at,
      seen: r.seen,
      expected,
      bounds: [fire],
      problems: r.problems,
      extra: {
        hostsFailing: String(failing[0]?.value ?? 0),
        perHostAlertsMuted: `${muted.length}/${perHost.length}`,
      },
    });
  }

  // (c) one sidecar killed (the bucket policy still in place).
  {
    log(`(c) sidecar ${c.instance} killed`);
    const at = Date.now();
    await c.kill();
    const fire = firingBound(p, 'S3HealthSidecarDown', 's3-health-hosts', 0);
    const expected: Expected[] = [
      {
        receiver: 's3-health-hosts',
        status: 'firing',
        groupLabels: { alertname: 'S3HealthSidecarDown', instance: c.instance },
        alerts: [
          {
            status: 'firing',
            labels: {
              alertname: 'S3HealthSidecarDown',
              instance: c.instance,
              job: JOB,
              severity: 'warning',
            },
            runbookUrl: `http://${c.instance}/diagnose`,
          },
        ],
      },
    ];
    const r = await observe(fleet, at, expected, [fire], at + fire.totalMs);
    scenarios.push({
      name: '(c) sidecar killed',
      what: `SIGKILL to the sidecar on ${c.instance}`,
      at,
      seen: r.seen,
      expected,
      bounds: [fire],
      problems: r.problems,
      extra: {},
    });
  }

  // (d) everything fixed: the policy removed, the sidecar started again.
  {
    log('(d) everything fixed');
    const at = Date.now();
    await fleet.allowAgain();
    await c.start();
    const liveAfterMs = Date.now() - at;
    const fleetRes = resolvedBound(
      p,
      'S3HealthFleetRoundTripFailing',
      's3-health-fleet',
      p.detectRecoverMs,
    );
    const downRes = resolvedBound(p, 'S3HealthSidecarDown', 's3-health-hosts', liveAfterMs);
    const expected: Expected[] = [
      {
        receiver: 's3-health-fleet',
        status: 'resolved',
        groupLabels: { alertname: 'S3HealthFleetRoundTripFailing', bucket },
        alerts: [
          {
            status: 'resolved',
            labels: { alertname: 'S3HealthFleetRoundTripFailing', bucket },
            runbookUrl: hostUrls,
          },
        ],
      },
      {
        receiver: 's3-health-hosts',
        status: 'resolved',
        groupLabels: { alertname: 'S3HealthSidecarDown', instance: c.instance },
        alerts: [
          {
            status: 'resolved',
            labels: { alertname: 'S3HealthSidecarDown', instance: c.instance },
            runbookUrl: `http://${c.instance}/diagnose`,
          },
        ],
      },
    ];
    const r = await observe(
      fleet,
      at,
      expected,
      [fleetRes, downRes],
      at + Math.max(fleetRes.totalMs, downRes.totalMs),
    );
    scenarios.push({
      name: '(d) everything fixed',
      what: 'bucket policy deleted, sidecar restarted',
      at,
      seen: r.seen,
      expected,
      bounds: [fleetRes, downRes],
      problems: r.problems,
      extra: { restartedSidecarLiveAfterMs: String(liveAfterMs) },
    });
    await healthy(fleet, n, 60_000);
  }

  return {
    size: n,
    scenarios,
    dashboardHealthy,
    dashboardBucketDown,
    cost,
    identity,
    wallMs: Date.now() - t0 + startupMs,
    startupMs,
  };
}

/** One line a notification: when, receiver, status, alerts with their labels and link. */
export function notificationLog(s: ScenarioResult): string[] {
  return s.seen.map((n) => {
    const alerts = n.alerts
      .map((x) => {
        const { alertname, ...rest } = x.labels;
        const labels = Object.entries(rest)
          .filter(([k]) => ['instance', 'bucket', 'reason', 'severity'].includes(k))
          .map(([k, v]) => `${k}=${v}`)
          .join(',');
        return `${alertname}{${labels}} ${x.runbookUrl}`;
      })
      .join('; ');
    return `+${(n.afterMs / 1000).toFixed(1)} s ${n.receiver} ${n.status}: ${alerts}`;
  });
}
