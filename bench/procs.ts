// Child processes of the bench: every one is registered at spawn and
// stopped by PID in `stopAll`, which run.ts calls on success, on failure and
// on SIGINT/SIGTERM. /proc readers give CPU time, RSS and I/O per PID.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { buildSync } from 'esbuild';
import { terminate } from '../ground/shared/process.ts';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));

let guardArgs: readonly string[] | undefined;
/**
 * The metadata network guard every child gets (ground/shared/network-guard.ts),
 * bundled to plain JavaScript once per run: preloaded as TypeScript it made
 * Node load its type stripper, +21 MiB of RSS in every process measured
 * (bare baselines included), which would blur every memory ratio here.
 */
function guardNodeArgs(): readonly string[] {
  if (guardArgs === undefined) {
    const outfile = join(ROOT, 'bench', 'out', 'network-guard.mjs');
    buildSync({
      entryPoints: [join(ROOT, 'ground', 'shared', 'network-guard-preload.ts')],
      bundle: true,
      platform: 'node',
      format: 'esm',
      outfile,
      logLevel: 'error',
    });
    guardArgs = ['--import', pathToFileURL(outfile).href];
  }
  return guardArgs;
}

export interface Proc {
  name: string;
  pid: number;
  child: ChildProcess;
  /** performance.now() just before spawn(): the "process start" of start-up figures. */
  spawnedAt: number;
  exited: Promise<number | null>;
  /** stdout and stderr as received, capped so a chatty child cannot eat the bench's memory. */
  output(): string;
  /** bytes the child wrote to stdout+stderr (its logs), uncapped count. */
  outputBytes(): number;
}

const live = new Set<Proc>();
const MAX_KEEP = 256 * 1024;

/**
 * Spawns `node <args>` with the pinned Node (process.execPath), never npx, in
 * the repo root, behind the metadata network guard (a few ms of start-up, paid
 * by every process the bench compares alike).
 */
export function spawnNode(name: string, args: string[], env: Record<string, string>): Proc {
  const spawnedAt = performance.now();
  const child = spawn(process.execPath, [...guardNodeArgs(), ...args], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (child.pid === undefined) throw new Error(`${name}: spawn failed`);
  let kept = '';
  let bytes = 0;
  const onData = (b: Buffer) => {
    bytes += b.length;
    if (kept.length < MAX_KEEP) kept += b.toString('utf8');
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => resolve(code));
  });
  const proc: Proc = {
    name,
    pid: child.pid,
    child,
    spawnedAt,
    exited,
    output: () => kept,
    outputBytes: () => bytes,
  };
  live.add(proc);
  void exited.then(() => live.delete(proc));
  return proc;
}

/** SIGTERM by PID, SIGKILL after `graceMs`; resolves once the process is gone. Idempotent. */
export async function stopProc(p: Proc, graceMs = 8000): Promise<void> {
  if (p.child.exitCode !== null || p.child.signalCode !== null) return;
  await terminate(p.pid, p.exited, graceMs);
}

export async function stopAll(): Promise<void> {
  await Promise.allSettled([...live].map((p) => stopProc(p)));
}

export function liveCount(): number {
  return live.size;
}

let clkTck: number | undefined;
function ticksPerSecond(): number {
  if (clkTck === undefined) {
    const out = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
    const n = Number(out.stdout.trim());
    clkTck = Number.isFinite(n) && n > 0 ? n : 100;
  }
  return clkTck;
}

/** utime + stime of one process, in seconds (children not included). */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the parenthesised command name, which may itself contain spaces.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(rest[11]);
  const stime = Number(rest[12]);
  return (utime + stime) / ticksPerSecond();
}

export function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /^VmRSS:\s+(\d+) kB/m.exec(status);
  return m?.[1] ? Number(m[1]) * 1024 : Number.NaN;
}

export interface IoCounters {
  /** bytes passed to write-like syscalls: sockets, pipes (logs) and files */
  wchar: number;
  /** bytes this process caused to be sent to storage */
  writeBytes: number;
}

export function ioCounters(pid: number): IoCounters {
  const io = readFileSync(`/proc/${pid}/io`, 'utf8');
  const field = (name: string) => Number(new RegExp(`^${name}: (\\d+)`, 'm').exec(io)?.[1] ?? NaN);
  return { wchar: field('wchar'), writeBytes: field('write_bytes') };
}

/** A port free when asked (the usual race applies; callers bind soon after). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address();
  await new Promise<void>((r) => server.close(() => r()));
  if (addr === null || typeof addr === 'string') throw new Error('no port');
  return addr.port;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Polls `probe` every `everyMs` until it returns a value, or throws after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs: number,
  everyMs = 10,
): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v !== undefined) return v;
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms: ${what}`);
    await sleep(everyMs);
  }
}

/** The minimal base environment of a child: no AWS variables leak in from the bench's shell. */
export function baseEnv(): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? '/root',
  };
}
