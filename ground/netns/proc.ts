// Processes started inside network namespaces: spawn, run to completion, stop.
// Every child becomes the leader of its own process group so that wrappers
// such as `npx` can be stopped together with what they started.
import { type ChildProcess, spawn } from 'node:child_process';
import { killGroup, processAlive } from '../shared/process.ts';

export interface SpawnedProcess {
  readonly pid: number;
  /** everything written to stdout so far (tail kept if it grows very large) */
  stdout(): string;
  stderr(): string;
  alive(): boolean;
  /** resolves when the process has exited and been reaped */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** resolves with the first stdout/stderr match; rejects on exit or timeout */
  waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** TERM the process group, KILL it after graceMs; idempotent */
  kill(graceMs?: number): Promise<void>;
}

export interface ExecResult {
  code: number;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  stdout: string;
  stderr: string;
  durationMs: number;
}

const OUTPUT_CAP = 1 << 20;

function appendCapped(current: string, chunk: string): string {
  const next = current + chunk;
  return next.length > OUTPUT_CAP ? next.slice(next.length - OUTPUT_CAP) : next;
}

function groupHasMembers(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function waitUntil(predicate: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (predicate()) return true;
    await sleep(25);
  }
  return predicate();
}

/**
 * TERM a process group (e.g. one found by `ip netns pids`), then KILL it.
 * For PIDs that are not our children, reaping is up to their parent, so a
 * zombie counts as stopped.
 */
export async function stopGroup(pid: number, graceMs = 2000): Promise<void> {
  killGroup(pid, 'SIGTERM');
  const gone = await waitUntil(() => !processAlive(pid) && !groupHasMembers(pid), graceMs);
  if (!gone) {
    killGroup(pid, 'SIGKILL');
    await waitUntil(() => !processAlive(pid), 2000);
  }
}

/** Stop a PID that is not necessarily a group leader. */
export async function stopPid(pid: number, graceMs = 2000): Promise<void> {
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  if (!(await waitUntil(() => !processAlive(pid), graceMs))) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      return;
    }
    await waitUntil(() => !processAlive(pid), 2000);
  }
}

function track(child: ChildProcess): SpawnedProcess {
  const pid = child.pid;
  if (pid === undefined) throw new Error('spawn failed: no pid');
  let out = '';
  let err = '';
  const listeners = new Set<() => void>();
  const notify = () => {
    for (const listener of listeners) listener();
  };
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    out = appendCapped(out, chunk);
    notify();
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    err = appendCapped(err, chunk);
    notify();
  });
  let done = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('close', (code, signal) => {
      done = true;
      notify();
      resolve({ code, signal });
    });
  });
  let killing: Promise<void> | undefined;
  return {
    pid,
    exited,
    stdout: () => out,
    stderr: () => err,
    alive: () => !done && processAlive(pid),
    waitForOutput(pattern, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const match = out.match(pattern) ?? err.match(pattern);
          if (match) finish(() => resolve(match));
          else if (done)
            finish(() =>
              reject(
                new Error(`process ${pid} exited before ${pattern}; stderr: ${err.slice(-500)}`),
              ),
            );
        };
        const timer = setTimeout(
          () => finish(() => reject(new Error(`timeout waiting for ${pattern} from pid ${pid}`))),
          timeoutMs,
        );
        const finish = (settle: () => void) => {
          clearTimeout(timer);
          listeners.delete(check);
          settle();
        };
        listeners.add(check);
        check();
      });
    },
    kill(graceMs = 2000) {
      killing ??= (async () => {
        if (!done) {
          killGroup(pid, 'SIGTERM');
          const timer = new Promise<'timeout'>((resolve) =>
            setTimeout(() => resolve('timeout'), graceMs),
          );
          if ((await Promise.race([exited, timer])) === 'timeout') killGroup(pid, 'SIGKILL');
          await exited;
        }
        // The leader is reaped; members it left behind (e.g. under npx) still share its group.
        if (groupHasMembers(pid)) await stopGroup(pid, graceMs);
      })();
      return killing;
    },
  };
}

export interface SpawnOptions {
  /** replaces the environment, as in child_process; default: this process's */
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

/** Spawn `argv` as the leader of a new process group, output captured. */
export function spawnTracked(argv: readonly string[], opts: SpawnOptions = {}): SpawnedProcess {
  const [cmd, ...args] = argv;
  if (cmd === undefined) throw new Error('empty command');
  const child = spawn(cmd, args, {
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: opts.env ?? process.env,
    cwd: opts.cwd,
  });
  // A failed exec (ENOENT) reports through 'error' and then 'close'.
  child.on('error', () => {});
  return track(child);
}

/** Run `argv` to completion; on timeout the whole group is killed. Never rejects on exit code. */
export async function execTracked(
  argv: readonly string[],
  opts: SpawnOptions & { timeoutMs?: number } = {},
): Promise<ExecResult> {
  const started = performance.now();
  const proc = spawnTracked(argv, opts);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    void proc.kill(500);
  }, opts.timeoutMs ?? 30_000);
  const { code, signal } = await proc.exited;
  clearTimeout(timer);
  return {
    code: code ?? -1,
    signal,
    timedOut,
    stdout: proc.stdout(),
    stderr: proc.stderr(),
    durationMs: performance.now() - started,
  };
}
