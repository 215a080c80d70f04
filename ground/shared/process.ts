// What the ground knows about processes it started, read from /proc: whether
// a PID is still the same live process, and how to signal a whole process
// group. Daemons that outlive their parent are reparented to PID 1, which
// reaps slowly, so a zombie counts as gone.
import { accessSync, constants, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';

function statFields(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may hold spaces and parentheses: fields resume after the last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** Start time in clock ticks since boot: tells a PID apart from a reused one. */
export function processStartTime(pid: number): string | undefined {
  return statFields(pid)?.[19];
}

/** Present and not a zombie. `kill -0` would count zombies as alive. */
export function processAlive(pid: number): boolean {
  return stillRunning(pid, undefined);
}

/** Alive, and (given a start time) not a reuse of the PID by another process. */
export function stillRunning(pid: number, startTime: string | undefined): boolean {
  const fields = statFields(pid);
  if (fields === undefined) return false;
  const state = fields[0];
  if (state === 'Z' || state === 'X') return false;
  return startTime === undefined || fields[19] === startTime;
}

/**
 * Signal the process group led by `pid`, so wrappers (npx, shells) go with what
 * they started. When the group is already gone, the leader alone may still be
 * there (a zombie): signal it directly.
 */
export function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      /* already gone */
    }
  }
}

/**
 * SIGTERM to `pid`, SIGKILL if `exited` has not settled after `graceMs`;
 * resolves once it has. A PID already gone is left alone.
 */
export async function terminate(
  pid: number,
  exited: Promise<unknown>,
  graceMs: number,
): Promise<void> {
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  const timer = setTimeout(() => {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // exited in between
    }
  }, graceMs);
  try {
    await exited;
  } finally {
    clearTimeout(timer);
  }
}

/** Whether `bin` is an executable in a PATH directory (as the shell would find it). */
export function onPath(bin: string): boolean {
  for (const dir of (process.env.PATH ?? '/usr/bin:/bin').split(delimiter)) {
    try {
      accessSync(join(dir, bin), constants.X_OK);
      return true;
    } catch {
      // the next directory
    }
  }
  return false;
}
