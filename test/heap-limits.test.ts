// `serve` started without V8 limits runs under HEAP_FLAGS (same PID, via
// execve); a caller's own flags win. Pure logic, then the real bin.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { freePorts } from '../ground/radosgw/proc.ts';
import { GUARD_NODE_ARGS } from '../ground/shared/network-guard.ts';
import {
  ALLOCATOR_ENV,
  HEAP_FLAGS,
  heapFlagsToAdd,
  isServe,
  withAllocatorEnv,
} from '../src/heap-limits.ts';

describe('heapFlagsToAdd', () => {
  it('adds both limits when the caller set none', () => {
    expect(heapFlagsToAdd([], undefined)).toEqual([...HEAP_FLAGS]);
    expect(heapFlagsToAdd(['--import', 'x.js'], '--enable-source-maps')).toEqual([...HEAP_FLAGS]);
  });

  it("the caller's own flag wins, in either spelling, on the command line or in NODE_OPTIONS", () => {
    expect(heapFlagsToAdd(['--max-old-space-size=200'], undefined)).toEqual([
      '--max-semi-space-size=1',
      '--v8-pool-size=1',
    ]);
    expect(
      heapFlagsToAdd([], '--max_semi_space_size=4 --max-old-space-size=96 --v8-pool-size=4'),
    ).toEqual([]);
    expect(heapFlagsToAdd([...HEAP_FLAGS], undefined)).toEqual([]);
  });
});

describe('withAllocatorEnv', () => {
  it("adds MALLOC_ARENA_MAX=2 unless the caller set it, and keeps the caller's variables", () => {
    expect(withAllocatorEnv({ A: '1' })).toEqual({ A: '1', MALLOC_ARENA_MAX: '2' });
    expect(withAllocatorEnv({ MALLOC_ARENA_MAX: '8' })).toEqual({ MALLOC_ARENA_MAX: '8' });
  });
});

describe('isServe', () => {
  it('serve is the default command, with or without options', () => {
    expect(isServe([])).toBe(true);
    expect(isServe(['serve'])).toBe(true);
    expect(isServe(['--json'])).toBe(true);
  });

  it('other commands, help and arguments the bin refuses are not serve', () => {
    expect(isServe(['check', '--url', 'http://127.0.0.1:1/healthz'])).toBe(false);
    expect(isServe(['diagnose', '--json'])).toBe(false);
    expect(isServe(['serve', '--help'])).toBe(false);
    expect(isServe(['--bogus'])).toBe(false);
  });
});

async function cmdlineOfServe(
  env: Record<string, string>,
): Promise<{ pid: number; argv: string[]; environ: string[] }> {
  const [port = 0] = await freePorts(1);
  const child = spawn(process.execPath, [...GUARD_NODE_ARGS, 'src/cli.ts', 'serve'], {
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: '/nonexistent',
      AWS_EC2_METADATA_SERVICE_ENDPOINT: 'http://127.0.0.1:9',
      S3_HEALTH_CHECKS: 'imds',
      S3_HEALTH_HOST: '127.0.0.1',
      S3_HEALTH_PORT: String(port),
      S3_HEALTH_LOG_LEVEL: 'warn',
      ...env,
    },
    stdio: 'ignore',
  });
  const pid = child.pid ?? 0;
  const exited = new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  try {
    const end = Date.now() + 20_000;
    while ((await fetch(`http://127.0.0.1:${port}/livez`).catch(() => undefined))?.status !== 200) {
      if (Date.now() > end) throw new Error('serve never answered /livez');
      await new Promise((r) => setTimeout(r, 50));
    }
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8')
      .split('\0')
      .filter((a) => a !== '');
    const environ = readFileSync(`/proc/${pid}/environ`, 'utf8')
      .split('\0')
      .filter((a) => a !== '');
    return { pid, argv, environ };
  } finally {
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  }
}

describe('the bin', () => {
  it('serve with no flags runs under HEAP_FLAGS and ALLOCATOR_ENV, in the same process', async () => {
    const { argv, environ } = await cmdlineOfServe({});
    for (const f of HEAP_FLAGS) expect(argv).toContain(f);
    for (const [k, v] of Object.entries(ALLOCATOR_ENV)) expect(environ).toContain(`${k}=${v}`);
    // The preload the caller gave is kept, and the command is the same.
    expect(argv).toContain('--import');
    expect(argv.at(-1)).toBe('serve');
    expect(argv.at(-2)).toMatch(/(^|\/)src\/cli\.ts$/);
  }, 30_000);

  it('NODE_OPTIONS with both limits: no re-exec, the argv is as started', async () => {
    const { argv } = await cmdlineOfServe({
      NODE_OPTIONS: '--max-old-space-size=96 --max-semi-space-size=2 --v8-pool-size=2',
    });
    for (const f of HEAP_FLAGS) expect(argv).not.toContain(f);
  }, 30_000);
});
