// The sidecar as the real process (`node src/cli.ts serve`), as a container
// runs it: its output captured for the secret scans, its file descriptors,
// sockets and RSS read from /proc, stopped by PID only.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { createServer } from 'node:net';
import { GUARD_NODE_ARGS } from '../../../ground/shared/network-guard.ts';
import { getText } from './http.ts';

export interface SidecarProcess {
  child: ChildProcess;
  pid: number;
  url: string;
  port: number;
  /** everything written to stdout and stderr so far */
  output(): string;
  /** resolves with the exit code (null when killed by a signal) */
  exited: Promise<number | null>;
  /** sends `signal` and waits for the exit; returns the code and how long it took */
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null; ms: number }>;
  /** a full GC in the sidecar (started with `gcHook`), so heap figures mean what is kept */
  collect(): Promise<void>;
}

// Test-only instrumentation, loaded before the sidecar: SIGUSR2 runs a full GC.
const GC_HOOK = [
  '--expose-gc',
  '--import',
  'data:text/javascript,process.on("SIGUSR2",()=>{globalThis.gc();globalThis.gc()})',
];

export async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const addr = srv.address();
  await new Promise<void>((r) => srv.close(() => r()));
  if (addr === null || typeof addr === 'string') throw new Error('no port');
  return addr.port;
}

/** A clean environment: nothing from the developer's machine reaches the SDK. */
export function baseEnv(): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: '/nonexistent',
    AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/s3-health-test/credentials',
    AWS_CONFIG_FILE: '/nonexistent/s3-health-test/config',
  };
}

const live = new Set<ChildProcess>();

/** Kills (by PID) every sidecar a test file started and left running. */
export async function killAll(): Promise<void> {
  await Promise.all(
    [...live].map(async (c) => {
      if (c.exitCode === null && c.signalCode === null) {
        c.kill('SIGKILL');
        await once(c, 'exit');
      }
    }),
  );
}

export function spawnSidecar(
  env: Record<string, string>,
  port: number,
  extra: { preload?: Record<string, string>; gcHook?: boolean; nodeArgs?: string[] } = {},
): SidecarProcess {
  const nodeArgs = [
    ...GUARD_NODE_ARGS,
    ...(extra.gcHook ? GC_HOOK : []),
    ...(extra.nodeArgs ?? []),
  ];
  const child = spawn(process.execPath, [...nodeArgs, 'src/cli.ts', 'serve'], {
    env: {
      ...baseEnv(),
      ...env,
      ...extra.preload,
      S3_HEALTH_PORT: String(port),
      S3_HEALTH_HOST: '127.0.0.1',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(child);
  let out = '';
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => {
      live.delete(child);
      resolve(code);
    });
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error('sidecar did not start');
  return {
    child,
    pid,
    port,
    url: `http://127.0.0.1:${port}`,
    output: () => out,
    exited,
    async collect() {
      if (!extra.gcHook) throw new Error('sidecar started without the GC hook');
      child.kill('SIGUSR2');
      await new Promise((r) => setTimeout(r, 300));
    },
    async stop(signal = 'SIGTERM') {
      const t0 = Date.now();
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const code = await exited;
      return { code, ms: Date.now() - t0 };
    },
  };
}

/** Waits until /livez answers (the server listens), at most `ms`. */
export async function waitListening(s: SidecarProcess, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    if (s.child.exitCode !== null) throw new Error(`sidecar exited early:\n${s.output()}`);
    const ok = await getText(`${s.url}/livez`, 500).then(
      (a) => a.status === 200,
      () => false,
    );
    if (ok) return;
    if (Date.now() > end) throw new Error(`sidecar not listening after ${ms} ms:\n${s.output()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface ProcResources {
  fds: number;
  sockets: number;
  rssMiB: number;
}

export function resources(pid: number): ProcResources {
  let fds = 0;
  let sockets = 0;
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    fds++;
    try {
      if (readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith('socket:')) sockets++;
    } catch {
      // closed between the listing and the read
    }
  }
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return { fds, sockets, rssMiB: Math.round((rssKb / 1024) * 10) / 10 };
}
