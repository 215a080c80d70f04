// Item 4: time from a fault to /healthz 503, and from its fix to 200, for
// an S3 black-hole, an IMDS outage and an S3 AccessDenied, on a running
// sidecar. Each fault goes in right after a cycle ended (the first the
// moment the first verdict showed, later ones the moment the previous
// recovery showed), which is the unlucky case: the next cycle is almost a
// whole interval away.
import { DeleteBucketPolicyCommand, PutBucketPolicyCommand } from '@aws-sdk/client-s3';
import { adminS3, type RgwInfo } from '../ground/radosgw/info.ts';
import { getText } from './http.ts';
import { type Lane, type Sidecar, spawnSidecar, untilFirstVerdict } from './lane.ts';
import { sleep } from './procs.ts';

export interface Fault {
  name: string;
  apply(): Promise<void>;
  fix(): Promise<void>;
}

export function faults(lane: Lane, rgw: RgwInfo): Fault[] {
  const bucket = lane.ground.bucket;
  const denyPut = JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Deny',
        Principal: { AWS: ['*'] },
        Action: ['s3:PutObject'],
        Resource: [`arn:aws:s3:::${bucket}/*`],
      },
    ],
  });
  return [
    {
      name: 'S3 AccessDenied (bucket policy denies PutObject)',
      apply: async () => {
        const s3 = adminS3(rgw);
        await s3.send(new PutBucketPolicyCommand({ Bucket: bucket, Policy: denyPut }));
        s3.destroy();
      },
      fix: async () => {
        const s3 = adminS3(rgw);
        await s3.send(new DeleteBucketPolicyCommand({ Bucket: bucket }));
        s3.destroy();
      },
    },
    {
      name: 'IMDS outage (accepts, never answers)',
      apply: async () => lane.ground.imds.setFault('hang'),
      fix: async () => lane.ground.imds.setFault('none'),
    },
    {
      name: 'S3 black-hole (accepts, never answers)',
      apply: async () => lane.proxy.setMode('blackhole'),
      fix: async () => lane.proxy.setMode('pass'),
    },
  ];
}

export interface FaultTiming {
  fault: string;
  /** fault → /healthz first shows an unconfirmed failure (the first failed cycle) */
  firstFailMs: number | undefined;
  /** fault → /healthz 503 */
  detectMs: number;
  /** fix → /healthz 200 */
  recoverMs: number;
  /** what /healthz said when it turned 503 */
  reason: string;
}

export interface DetectionRun {
  intervalSeconds: number;
  timeoutSeconds: number;
  pollMs: number;
  timings: FaultTiming[];
}

function failingOutput(body: string): string {
  try {
    const doc = JSON.parse(body) as {
      checks?: Record<string, { status?: string; output?: string }[]>;
    };
    for (const entries of Object.values(doc.checks ?? {})) {
      for (const e of entries) {
        if (e.status === 'fail' && e.output && !e.output.startsWith('blocked'))
          return e.output.slice(0, 120);
      }
    }
  } catch {
    // not JSON: fall through
  }
  return body.slice(0, 120);
}

/** Whether /metrics shows a failure in a row that /healthz does not report yet (it waits for confirmation). */
async function anyFailureCounted(s: Sidecar): Promise<boolean> {
  const m = (await getText(`${s.url}/metrics`, 2000)).body;
  return /^s3_health_check_consecutive_failures\{[^}]*\} [1-9]/m.test(m);
}

/**
 * Polls /healthz every `pollMs` until it answers `want`; meanwhile /metrics,
 * every 100 ms at most, for the first failed (not yet confirmed) cycle.
 */
async function until(
  s: Sidecar,
  want: number,
  since: number,
  pollMs: number,
  maxMs: number,
): Promise<{ ms: number; body: string; firstFailMs?: number }> {
  let firstFailMs: number | undefined;
  let lastMetrics = 0;
  for (;;) {
    const r = await getText(`${s.url}/healthz`, 2000).catch(() => undefined);
    const now = performance.now();
    if (r?.status === want) return { ms: now - since, body: r.body, firstFailMs };
    if (want === 503 && firstFailMs === undefined && now - lastMetrics >= 100) {
      lastMetrics = now;
      if (await anyFailureCounted(s).catch(() => false)) firstFailMs = performance.now() - since;
    }
    if (now - since > maxMs) throw new Error(`no ${want} within ${maxMs} ms`);
    await sleep(pollMs);
  }
}

export async function runDetection(
  lane: Lane,
  rgw: RgwInfo,
  opts: { intervalSeconds: number; timeoutSeconds: number; pollMs: number },
): Promise<DetectionRun> {
  const s = await spawnSidecar(lane, opts);
  const maxMs = (opts.intervalSeconds * 3 + opts.timeoutSeconds * 6) * 1000 + 30_000;
  const timings: FaultTiming[] = [];
  try {
    // The first verdict shows the moment the first cycle ended: the unlucky moment to break things.
    await untilFirstVerdict(s);
    await until(s, 200, performance.now(), opts.pollMs, maxMs);
    for (const f of faults(lane, rgw)) {
      const t0 = performance.now();
      await f.apply();
      const down = await until(s, 503, t0, opts.pollMs, maxMs);
      const t1 = performance.now();
      await f.fix();
      const up = await until(s, 200, t1, opts.pollMs, maxMs);
      timings.push({
        fault: f.name,
        firstFailMs: down.firstFailMs,
        detectMs: down.ms,
        recoverMs: up.ms,
        reason: failingOutput(down.body),
      });
    }
    return { ...opts, timings };
  } finally {
    await s.close();
    for (const f of faults(lane, rgw)) await f.fix().catch(() => undefined);
  }
}
