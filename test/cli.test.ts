// The `s3-health` command as a real process: exit codes, config errors,
// SIGTERM with a probe in flight, and the Docker HEALTHCHECK entry point.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type Ground, startGround } from '../ground/ground.ts';
import { adminS3 } from '../ground/radosgw/info.ts';
import { GUARD_NODE_ARGS } from '../ground/shared/network-guard.ts';

const rgw = inject('rgw');
let ground: Ground;

beforeAll(async () => {
  ground = await startGround(rgw);
});
afterAll(async () => {
  await ground?.close();
});

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function start(args: string[], env: Record<string, string>): ChildProcess & { out: () => Run } {
  const child = spawn(process.execPath, [...GUARD_NODE_ARGS, 'src/cli.ts', ...args], {
    env: { PATH: process.env.PATH ?? '', HOME: '/nonexistent', ...env },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  return Object.assign(child, { out: () => ({ code: child.exitCode, stdout, stderr }) });
}

async function run(args: string[], env: Record<string, string>): Promise<Run> {
  const child = start(args, env);
  await once(child, 'exit');
  return child.out();
}

const groundEnv = () => ({
  ...ground.env,
  S3_HEALTH_TIMEOUT_SECONDS: '3',
  S3_HEALTH_INTERVAL_SECONDS: '5',
});

async function ownObjects(prefix: string): Promise<string[]> {
  const s3 = adminS3(rgw);
  try {
    const out = await s3.send(new ListObjectsV2Command({ Bucket: ground.bucket, Prefix: prefix }));
    return (out.Contents ?? []).map((o) => o.Key ?? '');
  } finally {
    s3.destroy();
  }
}

describe('bad configuration', () => {
  it('serve exits 78 before listening and lists every problem at once', async () => {
    const r = await run(['serve'], {
      AWS_EC2_METADATA_SERVICE_ENDPOINT: 'http://127.0.0.1:9',
      S3_HEALTH_PORT: '99999',
      S3_HEALTH_INTERVAL_SECONDS: 'soon',
      S3_HEALTH_CHECKS: 'imds,dns',
      S3_HEALTH_SSE: 'rot13',
      S3_HEALTH_DIAGNOSE_TOKEN: 'zq7-tiny',
      S3_HEALTH_METRICS_HISTOGRAMS: 'yes',
      S3_HEALTH_DIAGNOSE_MIN_INTERVAL_SECONDS: '0',
    });
    expect(r.code).toBe(78);
    for (const v of [
      'S3_HEALTH_PORT',
      'S3_HEALTH_INTERVAL_SECONDS',
      'S3_HEALTH_CHECKS',
      'S3_HEALTH_SSE',
      'S3_HEALTH_DIAGNOSE_TOKEN',
      'S3_HEALTH_METRICS_HISTOGRAMS',
    ]) {
      expect(r.stderr).toContain(v);
    }
    expect(r.stderr).toContain('7 problems');
    // A spacing of 0 would let callers drive S3 as fast as they ask (SPEC §8).
    expect(r.stderr).toContain(
      'S3_HEALTH_DIAGNOSE_MIN_INTERVAL_SECONDS="0": out of range; allowed: a number from 1 to 3600 (seconds)',
    );
    expect(r.stderr).not.toContain('zq7-tiny');
    expect(r.stdout).not.toContain('listening');
  });

  it('config prints the redacted configuration and exits 0 when valid', async () => {
    const r = await run(['config'], {
      ...groundEnv(),
      S3_HEALTH_DIAGNOSE_TOKEN: 'a-very-secret-token-123',
      AWS_ACCESS_KEY_ID: 'AKIAABCDEFGHIJKLMNOP',
      AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
    });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('"bucket"');
    expect(r.stdout).not.toContain('a-very-secret-token-123');
    expect(r.stdout).not.toContain('wJalrXUtnFEMI');
    expect(r.stdout).not.toContain('AKIAABCDEFGHIJKLMNOP');
    expect(r.stdout).toContain('AKIA…MNOP');
  });

  it('unknown commands exit 64 with usage', async () => {
    const r = await run(['frobnicate'], {});
    expect(r.code).toBe(64);
    expect(r.stderr).toContain('usage');
  });
});

describe('diagnose', () => {
  it('exits 0 on a healthy ground and 2 when IMDS has no role', async () => {
    expect((await run(['diagnose'], groundEnv())).code).toBe(0);
    ground.imds.setFault('no-role');
    try {
      const r = await run(['diagnose', '--json'], groundEnv());
      expect(r.code).toBe(2);
      expect(r.stdout).toContain('imds_no_role');
    } finally {
      ground.imds.setFault('none');
    }
  });

  it('exits 1 on a warning (hop limit 1, IMDSv1 fallback)', async () => {
    ground.imds.setFault('token-blackhole');
    try {
      expect((await run(['diagnose'], groundEnv())).code).toBe(1);
    } finally {
      ground.imds.setFault('none');
    }
  });

  it('exits 3 when it cannot run (bad config)', async () => {
    expect((await run(['diagnose'], { S3_HEALTH_PORT: 'x' })).code).toBe(3);
  });
});

describe('serve, check and SIGTERM', () => {
  it('check exits 1 when nothing listens', async () => {
    expect((await run(['check', '--url', 'http://127.0.0.1:9/healthz'], {})).code).toBe(1);
  });

  it('turns healthy, answers check with 0, and SIGTERM mid-cycle exits 0 leaving no probe object', async () => {
    const port = '18181';
    const env = {
      ...groundEnv(),
      S3_HEALTH_PORT: port,
      S3_HEALTH_HOST: '127.0.0.1',
      // Short enough that a random stop often lands mid round-trip, long enough
      // that a loaded CI machine answers within the deadline.
      S3_HEALTH_INTERVAL_SECONDS: '0.5',
      S3_HEALTH_TIMEOUT_SECONDS: '0.5',
      HOSTNAME: 'ignored',
    };
    // Several restarts, each stopped at a random moment: some land mid round-trip.
    for (let i = 0; i < 5; i++) {
      const child = start(['serve'], env);
      let healthy = false;
      for (let t = 0; t < 100 && !healthy; t++) {
        await new Promise((r) => setTimeout(r, 100));
        healthy =
          (await run(['check', '--url', `http://127.0.0.1:${port}/healthz`], {})).code === 0;
      }
      expect(healthy, child.out().stderr + child.out().stdout).toBe(true);
      await new Promise((r) => setTimeout(r, Math.random() * 600));
      child.kill('SIGTERM');
      await once(child, 'exit');
      expect(child.exitCode).toBe(0);
      expect(child.out().stdout).toContain('"msg":"stopped"');
    }
    const hostname = (await run(['config'], env)).stdout.match(/"hostname": "([^"]+)"/)?.[1];
    expect(hostname).toBeTruthy();
    // Under PREFIX<instance-id>/<hostname>/ (the emulator names the instance), or any other.
    expect(await ownObjects('healthcheck/')).toEqual([]);
  }, 90_000);
});

describe('the compile cache of the bin (issue 21)', () => {
  const bare = (tmp: string) => {
    // NODE_COMPILE_CACHE would take precedence over the temporary directory.
    const { NODE_COMPILE_CACHE: _, ...env } = process.env;
    return { ...env, TMPDIR: tmp };
  };

  it('keeps V8 code for the program in a folder under the temporary directory', async () => {
    const tmp = mkdtempSync(join(tmpdir(), 's3h-cc-'));
    try {
      const r = spawnSync(process.execPath, [...GUARD_NODE_ARGS, 'src/cli.ts', 'config'], {
        env: { ...bare(tmp), KB_STORAGE_URI: 's3://bucket/p/', AWS_REGION: 'eu-west-1' },
        encoding: 'utf8',
      });
      expect(r.status, r.stderr).toBe(0);
      const files = readdirSync(join(tmp, 'node-compile-cache'), { recursive: true });
      expect(files.length).toBeGreaterThan(0);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });

  it('runs uncached and says nothing where no folder is writable', async () => {
    const r = spawnSync(process.execPath, [...GUARD_NODE_ARGS, 'src/cli.ts', 'config'], {
      env: {
        ...bare('/proc/nonexistent'),
        KB_STORAGE_URI: 's3://bucket/p/',
        AWS_REGION: 'eu-west-1',
      },
      encoding: 'utf8',
    });
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('"bucket": "bucket"');
  });
});
