// The service end to end in-process: real Fastify on a real port, real
// cycles against the ground, real promtool on the live /metrics.
import { spawnSync } from 'node:child_process';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type Ground, startGround } from '../../ground/ground.ts';
import { createService, type Service } from '../../src/service.ts';
import { startBlackhole } from '../support/blackhole.ts';
import { listenLocal, useEnv } from '../support/sidecar.ts';

const rgw = inject('rgw');
let ground: Ground;
let svc: Service;
let base: string;

async function waitFor(pred: () => boolean, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

beforeAll(async () => {
  ground = await startGround(rgw);
  const config = useEnv({
    ...ground.env,
    S3_HEALTH_PORT: '18080',
    S3_HEALTH_HOST: '127.0.0.1',
    S3_HEALTH_INTERVAL_SECONDS: '0.5',
    S3_HEALTH_TIMEOUT_SECONDS: '0.5',
  });
  svc = createService(config, pino({ level: 'silent' }), '9.9.9-test');
  base = await listenLocal(svc);
});

afterAll(async () => {
  await svc?.stop();
  await ground?.close();
});

describe('before the first cycle', () => {
  it('/livez is 200 and /healthz is 503 with a reason', async () => {
    expect((await fetch(`${base}/livez`)).status).toBe(200);
    const res = await fetch(`${base}/healthz`);
    expect(res.status).toBe(503);
    expect(res.headers.get('content-type')).toContain('application/health+json');
    const doc = (await res.json()) as {
      status: string;
      checks: Record<string, { output?: string }[]>;
    };
    expect(doc.status).toBe('fail');
    expect(doc.checks['s3:roundtrip']?.[0]?.output).toContain('first cycle');
  });
});

describe('after cycles on a healthy ground', () => {
  beforeAll(async () => {
    svc.scheduler.start();
    await waitFor(() => svc.store.snapshot().status === 'pass');
  });

  it('/healthz is 200 health+json under 4 KiB with every check', async () => {
    const res = await fetch(`${base}/healthz`);
    expect(res.status).toBe(200);
    const body = await res.text();
    expect(Buffer.byteLength(body)).toBeLessThan(4096);
    const doc = JSON.parse(body) as {
      status: string;
      version: string;
      checks: Record<string, { status: string; observedUnit?: string }[]>;
    };
    expect(doc.status).toBe('pass');
    expect(doc.version).toBe('9.9.9-test');
    expect(Object.keys(doc.checks).sort()).toEqual([
      'credentials:timeToExpiry',
      'environment:lint',
      'imds:responseTime',
      's3:roundtrip',
    ]);
    expect(doc.checks['s3:roundtrip']?.[0]?.observedUnit).toBe('ms');
  });

  it('/readyz equals /healthz; ?verbose is one line a check', async () => {
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
    const text = await (await fetch(`${base}/healthz?verbose`)).text();
    expect(text.trim().split('\n')).toEqual([
      '[+]environment ok',
      '[+]imds ok',
      '[+]credentials ok',
      '[+]s3 ok',
      'healthz check passed',
    ]);
  });

  it('/healthz/:check answers for one check, 404 for unknown ones', async () => {
    const one = (await (await fetch(`${base}/healthz/s3`)).json()) as { checks: object };
    expect(Object.keys(one.checks)).toEqual(['s3:roundtrip']);
    expect((await fetch(`${base}/healthz/nope`)).status).toBe(404);
  });

  it('/metrics has exactly the SPEC series and passes promtool check metrics', async () => {
    const res = await fetch(`${base}/metrics`);
    expect(res.status).toBe(200);
    const text = await res.text();
    const names = new Set([...text.matchAll(/^# TYPE (s3_health_\w+) /gm)].map((m) => m[1]));
    expect([...names].sort()).toEqual([
      's3_health_build_info',
      's3_health_check_consecutive_failures',
      's3_health_check_duration_seconds',
      's3_health_check_failures_total',
      's3_health_check_last_success_timestamp_seconds',
      's3_health_check_success',
      's3_health_check_warning',
      's3_health_clock_offset_seconds',
      's3_health_credentials_expiration_timestamp_seconds',
      's3_health_cycles_total',
      's3_health_step_duration_seconds',
      's3_health_target_info',
      's3_health_up',
    ]);
    // SPEC §5: a healthy sidecar exports at most 80 series (goal 60), body under 10 KB.
    const samples = text.split('\n').filter((l) => l !== '' && !l.startsWith('#'));
    expect(samples.length).toBeLessThanOrEqual(60);
    expect(Buffer.byteLength(text)).toBeLessThanOrEqual(10 * 1024);
    expect(text).toMatch(/^# TYPE s3_health_step_duration_seconds gauge$/m);
    expect(text).not.toMatch(/_bucket\{/);
    expect(text).toMatch(/^s3_health_up 1$/m);
    expect(text).toMatch(/^s3_health_check_success\{check="s3"\} 1$/m);
    expect(text).toMatch(
      /^s3_health_credentials_expiration_timestamp_seconds\{source="imds"\} \d+/m,
    );
    expect(text).toMatch(/^process_resident_memory_bytes /m);
    // The ground's IMDS names region, role and account; credentials came from IMDS.
    expect(text.split('\n').filter((l) => l.startsWith('s3_health_target_info'))).toEqual([
      `s3_health_target_info{bucket="${ground.bucket}",region="eu-west-1",role="s3-health-demo-role",account="123456789012",source="imds"} 1`,
    ]);
    // promtool itself, not through a shell: a missing binary is r.error, a lint finding a non-zero exit.
    const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect(r.error, 'promtool must be installed (scripts/install-peers.sh)').toBeUndefined();
    // promtool parses the whole exposition and lints every name: no complaint at all.
    const complaints = (r.stdout + r.stderr).split('\n').filter((l) => l.trim() !== '');
    expect(complaints).toEqual([]);
    expect(r.status).toBe(0);
    expect(text).not.toMatch(/error parsing/);
  });

  it('/ lists version, endpoints, redacted config and last results', async () => {
    const doc = (await (await fetch(`${base}/`)).json()) as Record<string, unknown>;
    expect(doc.version).toBe('9.9.9-test');
    expect(doc.endpoints).toHaveProperty('/diagnose');
    expect(doc.config).toHaveProperty('diagnoseTokenSet', false);
    expect(doc.config).not.toHaveProperty('diagnoseToken');
  });

  it('odd methods and paths get clear 4xx, never a crash', async () => {
    expect((await fetch(`${base}/healthz`, { method: 'POST', body: 'x' })).status).toBe(404);
    expect((await fetch(`${base}/${'a'.repeat(5000)}`)).status).toBe(404);
    expect((await fetch(`${base}/healthz/${'b'.repeat(200)}`)).status).toBe(414);
    expect((await fetch(`${base}/livez`)).status).toBe(200);
  });
});

describe('while S3 hangs', () => {
  it('/healthz answers from the cache while a cycle is stuck on S3', async () => {
    const hole = await startBlackhole();
    const config = useEnv({
      ...ground.env,
      AWS_ENDPOINT_URL_S3: hole.url,
      S3_HEALTH_INTERVAL_SECONDS: '30',
      S3_HEALTH_TIMEOUT_SECONDS: '3',
    });
    const hung = createService(config, pino({ level: 'silent' }), 't');
    const hungUrl = await listenLocal(hung);
    try {
      hung.scheduler.start();
      // Wait until the cycle is inside the s3 check (imds and credentials done).
      await new Promise((r) => setTimeout(r, 500));
      const res = await fetch(`${hungUrl}/healthz`);
      expect(res.status).toBe(503); // first cycle not finished: never a verdict not measured
      expect(hung.store.cycles).toBe(0);
      await waitFor(() => hung.store.cycles === 1, 10_000);
      const doc = (await (await fetch(`${hungUrl}/healthz/s3`)).json()) as {
        status: string;
        checks: Record<string, { output?: string }[]>;
      };
      expect(doc.status).toBe('fail');
      expect(doc.checks['s3:roundtrip']?.[0]?.output).toMatch(/^timeout/);
    } finally {
      await hung.stop();
      await hole.close();
    }
  });
});
