// Process plumbing for the radosgw ground: long-lived daemons write to files
// (a pipe held by a daemon would keep the caller's stdio open), short-lived
// tools are captured, everything is stopped by PID.
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { onExit } from '../shared/exit-hooks.ts';
import { terminate } from '../shared/process.ts';

export interface Daemon {
  name: string;
  pid: number;
  logFile: string;
  /** Resolves with the exit code (or signal name) once the process is reaped. */
  exited: Promise<string>;
  alive(): boolean;
}

export function spawnDaemon(
  name: string,
  cmd: string,
  args: readonly string[],
  opts: { logFile: string; env: NodeJS.ProcessEnv; cwd: string },
): Daemon {
  const fd = openSync(opts.logFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn(cmd, args, { stdio: ['ignore', fd, fd], env: opts.env, cwd: opts.cwd });
  } finally {
    closeSync(fd);
  }
  const pid = child.pid;
  if (pid === undefined) throw new Error(`${name}: spawn ${cmd} failed`);
  // A crashed or killed test worker must not leave daemons behind.
  const forget = onExit(() => {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  });
  let running = true;
  const exited = new Promise<string>((resolve) => {
    child.once('exit', (code, signal) => {
      running = false;
      forget();
      resolve(signal ?? String(code));
    });
    child.once('error', (err) => {
      running = false;
      forget();
      resolve(`error: ${err.message}`);
    });
  });
  return { name, pid, logFile: opts.logFile, exited, alive: () => running };
}

/** TERM, then KILL after `graceMs`; resolves once the process is reaped. */
export async function stopDaemon(d: Daemon, graceMs = 5000): Promise<void> {
  if (d.alive()) await terminate(d.pid, d.exited, graceMs);
}

export interface ToolResult {
  stdout: string;
  stderr: string;
}

export class ToolError extends Error {
  readonly stdout: string;
  readonly stderr: string;
  constructor(message: string, out: ToolResult) {
    super(message);
    this.name = 'ToolError';
    this.stdout = out.stdout;
    this.stderr = out.stderr;
  }
}

/** Runs a short-lived command to completion; rejects on non-zero exit or timeout. */
export function runTool(
  cmd: string,
  args: readonly string[],
  opts: {
    env: NodeJS.ProcessEnv;
    cwd: string;
    input?: string;
    timeoutMs?: number;
    signal?: AbortSignal;
  },
): Promise<ToolResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: opts.env,
      cwd: opts.cwd,
      timeout: opts.timeoutMs ?? 60_000,
      killSignal: 'SIGKILL',
      ...(opts.signal === undefined ? {} : { signal: opts.signal }),
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => {
      stdout += s;
    });
    child.stderr.setEncoding('utf8').on('data', (s: string) => {
      stderr += s;
    });
    child.once('error', (err) =>
      reject(new ToolError(`${cmd}: ${err.message}`, { stdout, stderr })),
    );
    child.once('close', (code, signal) => {
      if (code === 0) return resolve({ stdout, stderr });
      const how = signal ? `killed by ${signal}` : `exit ${code}`;
      reject(
        new ToolError(
          `${cmd} ${args.slice(0, 4).join(' ')}: ${how}: ${stderr.trim().slice(-2000)}`,
          {
            stdout,
            stderr,
          },
        ),
      );
    });
    child.stdin.end(opts.input ?? '');
  });
}

/**
 * Distinct free loopback ports: all are held open together so the kernel
 * cannot hand the same one out twice, then released for the daemons.
 */
export async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
          const s = createServer();
          s.once('error', reject);
          s.listen(0, '127.0.0.1', () => resolve(s));
        }),
    ),
  );
  const ports = servers.map((s) => {
    const a = s.address();
    if (a === null || typeof a === 'string') throw new Error('no port');
    return a.port;
  });
  await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
  return ports;
}

/** Polls `url` until any HTTP answer arrives; fails early if `alive()` turns false. */
export async function waitForHttp(
  url: string,
  opts: { timeoutMs: number; alive: () => boolean; what: string },
): Promise<void> {
  const deadline = Date.now() + opts.timeoutMs;
  for (;;) {
    if (!opts.alive()) throw new Error(`${opts.what} exited before answering on ${url}`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      throw new Error(`${opts.what} did not answer on ${url} within ${opts.timeoutMs} ms`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The last `lines` lines of a file, for error messages ('' if unreadable). */
export function tail(file: string, lines = 15): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}
