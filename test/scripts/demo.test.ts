// `npm run demo` as a user runs it: it stops everything it started, whether
// the user stops it or the sidecar stops on its own (a bad configuration).
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { freePorts } from '../../ground/radosgw/proc.ts';

/** Runs the demo in a process group of its own; resolves with its exit and whether the group is empty after. */
async function demo(
  env: Record<string, string>,
  whenUp?: (out: () => string, demoPid: number) => Promise<void>,
): Promise<{ code: number | null; out: string; leftInGroup: boolean }> {
  const [port = 0, control = 0] = await freePorts(2);
  const child = spawn(process.execPath, ['scripts/demo.ts'], {
    env: {
      ...process.env,
      S3_HEALTH_PORT: String(port),
      DEMO_CONTROL_PORT: String(control),
      ...env,
    },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const exited = once(child, 'exit') as Promise<[number | null]>;
  const pgid = child.pid ?? 0;
  const killer = setTimeout(() => process.kill(-pgid, 'SIGKILL'), 90_000);
  try {
    if (whenUp) await whenUp(() => out, pgid);
    const [code] = await exited;
    // radosgw and ceph run in the demo's process group: nothing may outlive it.
    await new Promise((r) => setTimeout(r, 500));
    let leftInGroup = true;
    try {
      process.kill(-pgid, 0);
    } catch {
      leftInGroup = false;
    }
    return { code, out, leftInGroup };
  } finally {
    clearTimeout(killer);
    try {
      process.kill(-pgid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
}

describe('npm run demo', () => {
  it('the sidecar refusing its configuration stops the demo and its peers (no hang)', async () => {
    // An interval shorter than the demo's 3 s timeout is refused (exit 78).
    const r = await demo({ S3_HEALTH_INTERVAL_SECONDS: '0.2' });
    expect(r.out).toContain('invalid configuration');
    expect(r.code).toBe(78);
    expect(r.leftInGroup).toBe(false);
  }, 120_000);

  it('SIGTERM stops the sidecar, the ground and radosgw, exit 0', async () => {
    const r = await demo({}, async (out, demoPid) => {
      const deadline = Date.now() + 60_000;
      while (!out().includes('[demo] s3-health on')) {
        if (Date.now() > deadline) throw new Error(`the demo never came up: ${out()}`);
        await new Promise((res) => setTimeout(res, 200));
      }
      // The demo only: what it started must go because it stops it.
      process.kill(demoPid, 'SIGTERM');
    });
    expect(r.code, r.out.slice(-2000)).toBe(0);
    expect(r.leftInGroup).toBe(false);
  }, 120_000);
});
