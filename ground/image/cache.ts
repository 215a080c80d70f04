// The cache for base-image ingredients, outside the repository so that it
// survives clean checkouts: /var/cache/s3-health (S3H_CACHE_DIR overrides).
// Entries are written under a temporary name and renamed, and one lock keeps
// two test processes from assembling the same thing at once.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { processStartTime, stillRunning } from '../shared/process.ts';

export function cacheDir(): string {
  const dir = process.env.S3H_CACHE_DIR ?? '/var/cache/s3-health';
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** A path inside the cache; its parent folder exists. */
export function cachePath(...parts: string[]): string {
  const path = join(cacheDir(), ...parts);
  mkdirSync(dirname(path), { recursive: true });
  return path;
}

export function cacheSubdir(...parts: string[]): string {
  const dir = join(cacheDir(), ...parts);
  mkdirSync(dir, { recursive: true });
  return dir;
}

function ownerOf(lock: string): { pid: number; start: string } | undefined {
  try {
    const [pid, start] = readFileSync(lock, 'utf8').trim().split(' ');
    return pid === undefined || start === undefined ? undefined : { pid: Number(pid), start };
  } catch {
    return undefined;
  }
}

export async function withCacheLock<T>(
  name: string,
  timeoutMs: number,
  fn: () => Promise<T>,
): Promise<T> {
  const lock = cachePath(`${name}.lock`);
  const me = `${process.pid} ${processStartTime(process.pid) ?? '0'}`;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      writeFileSync(lock, me, { flag: 'wx' });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const owner = ownerOf(lock);
      // A lock whose owner died (or is half-written for over a moment) is stale.
      if (owner === undefined || !stillRunning(owner.pid, owner.start)) {
        await new Promise((r) => setTimeout(r, 200));
        if (JSON.stringify(ownerOf(lock)) === JSON.stringify(owner)) rmSync(lock, { force: true });
        continue;
      }
      if (Date.now() > deadline) throw new Error(`cache lock ${lock} held by PID ${owner.pid}`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  try {
    return await fn();
  } finally {
    try {
      if (readFileSync(lock, 'utf8') === me) rmSync(lock, { force: true });
    } catch {
      /* already gone */
    }
  }
}
