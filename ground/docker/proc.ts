// Child processes for the docker ground: run to completion with a deadline,
// wait for a PID to be really gone, find an engine's helpers by command line.
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { killGroup, processAlive, stillRunning } from '../shared/process.ts';

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  timeoutMs?: number;
  input?: string;
}

const OUTPUT_CAP = 4 << 20;

function capped(current: string, chunk: Buffer): string {
  const next = current + chunk.toString('utf8');
  return next.length > OUTPUT_CAP ? next.slice(next.length - OUTPUT_CAP) : next;
}

/** Never rejects on a non-zero exit; a timeout KILLs the process group and yields code 124. */
export function run(argv: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const [cmd, ...args] = argv;
  if (cmd === undefined) return Promise.reject(new Error('run: empty argv'));
  return new Promise((resolve) => {
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    const child = spawn(cmd, args, {
      env: opts.env ?? process.env,
      cwd: opts.cwd,
      stdio: ['pipe', 'pipe', 'pipe'],
      // Own process group, so a timeout also stops what the command started.
      detached: true,
    });
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child.pid, 'SIGKILL');
    }, opts.timeoutMs ?? 120_000);
    child.stdout.on('data', (chunk: Buffer) => {
      stdout = capped(stdout, chunk);
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr = capped(stderr, chunk);
    });
    child.stdin.on('error', () => {
      /* the command may exit before reading its input */
    });
    child.stdin.end(opts.input ?? '');
    child.on('error', (err) => {
      clearTimeout(timer);
      resolve({ code: 127, stdout, stderr: `${stderr}${err.message}\n` });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (timedOut) stderr += `\n[timed out after ${opts.timeoutMs ?? 120_000} ms]\n`;
      resolve({ code: timedOut ? 124 : (code ?? (signal === null ? 1 : 128)), stdout, stderr });
    });
  });
}

/** Like run(), but a non-zero exit throws with the command and its stderr. */
export async function runOk(argv: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const result = await run(argv, opts);
  if (result.code !== 0) {
    const tail = (result.stderr.trim() || result.stdout.trim()).split('\n').slice(-15).join('\n');
    throw new Error(`${argv.join(' ')} exited ${result.code}:\n${tail}`);
  }
  return result;
}

export async function waitGone(
  pid: number,
  timeoutMs: number,
  startTime?: string,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (stillRunning(pid, startTime)) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
  return true;
}

export function signal(pid: number, sig: NodeJS.Signals, startTime?: string): void {
  if (!stillRunning(pid, startTime)) return;
  try {
    process.kill(pid, sig);
  } catch {
    /* exited in between */
  }
}

/**
 * PIDs whose command line mentions `marker`. The marker is a directory unique to
 * one engine, so this finds its containerd and shims and nothing else.
 */
export function pidsMentioning(marker: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid <= 1 || pid === process.pid) continue;
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (cmdline.includes(marker) && processAlive(pid)) found.push(pid);
    } catch {
      /* exited while scanning */
    }
  }
  return found;
}
