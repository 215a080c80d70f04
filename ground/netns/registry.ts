// Records which process owns which namespaces, so that namespaces left behind
// by a run that was killed (SIGKILL, timeout) can be removed by a later run
// without touching those of runs still alive.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { processStartTime } from '../shared/process.ts';
import { execTracked, stopPid } from './proc.ts';

export const NAME_PREFIX = 's3h-';
const REGISTRY_DIR = '/run/s3h-netns';
const OWN_NAME = /^s3h-[0-9a-f]{8}-(aws|host|container)$/;

interface Record {
  ownerPid: number;
  ownerStart: string | undefined;
  names: string[];
}

function recordPath(id: string): string {
  return join(REGISTRY_DIR, `${id}.json`);
}

/** Written before any namespace is created, removed after the last is deleted. */
export function register(id: string, names: string[]): void {
  mkdirSync(REGISTRY_DIR, { recursive: true });
  const record: Record = {
    ownerPid: process.pid,
    ownerStart: processStartTime(process.pid),
    names,
  };
  writeFileSync(recordPath(id), JSON.stringify(record));
}

export function unregister(id: string): void {
  rmSync(recordPath(id), { force: true });
}

export async function listNamespaces(): Promise<string[]> {
  const result = await execTracked(['ip', 'netns', 'list'], { timeoutMs: 10_000 });
  return parseNetnsList(result.stdout);
}

function parseNetnsList(text: string): string[] {
  // Lines look like "name (id: 3)" or just "name".
  return text
    .split('\n')
    .map((line) => line.trim().split(' ')[0] ?? '')
    .filter((name) => name !== '');
}

/** PIDs of processes whose network namespace is `name`. */
export async function namespacePids(name: string): Promise<number[]> {
  const result = await execTracked(['ip', 'netns', 'pids', name], { timeoutMs: 10_000 });
  return result.stdout
    .split(/\s+/)
    .filter((s) => s !== '')
    .map(Number)
    .filter((n) => Number.isInteger(n) && n > 0 && n !== process.pid);
}

/** Stop what still runs inside, then delete the namespaces. Missing ones are fine. */
export async function destroyNamespaces(names: readonly string[], graceMs = 2000): Promise<void> {
  const present = new Set(await listNamespaces());
  const existing = names.filter((name) => present.has(name));
  const pids = (await Promise.all(existing.map(namespacePids))).flat();
  await Promise.all(pids.map((pid) => stopPid(pid, graceMs)));
  await Promise.all(
    existing.map(async (name) => {
      const result = await execTracked(['ip', 'netns', 'del', name], { timeoutMs: 10_000 });
      if (result.code !== 0 && !/No such file/.test(result.stderr)) {
        throw new Error(`ip netns del ${name}: ${result.stderr.trim()}`);
      }
    }),
  );
}

/** Last-resort synchronous cleanup for process exit: no waiting, KILL only. */
export function destroyNamespacesSync(names: readonly string[]): void {
  for (const name of names) {
    const pids = spawnSync('ip', ['netns', 'pids', name], { encoding: 'utf8' });
    for (const pid of (pids.stdout ?? '').split(/\s+/).filter((s) => s !== '')) {
      if (Number(pid) === process.pid) continue;
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
    spawnSync('ip', ['netns', 'del', name], { stdio: 'ignore' });
  }
}

function ownerAlive(record: Record): boolean {
  const start = processStartTime(record.ownerPid);
  return start !== undefined && start === record.ownerStart;
}

/**
 * Remove topologies whose owning process is gone, and `s3h-` namespaces that
 * no record claims. Returns the namespace names removed.
 */
export async function reapStaleTopologies(): Promise<string[]> {
  // Namespaces are listed before records are read: a namespace seen here had
  // its record written earlier, so a live run's namespaces are never orphans.
  const namespaces = (await listNamespaces()).filter((name) => OWN_NAME.test(name));
  let files: string[] = [];
  try {
    files = readdirSync(REGISTRY_DIR).filter((f) => f.endsWith('.json'));
  } catch {
    files = [];
  }
  const claimed = new Set<string>();
  const stale: string[] = [];
  const staleIds: string[] = [];
  for (const file of files) {
    let record: Record;
    try {
      record = JSON.parse(readFileSync(join(REGISTRY_DIR, file), 'utf8')) as Record;
    } catch {
      continue;
    }
    if (ownerAlive(record)) {
      for (const name of record.names) claimed.add(name);
    } else {
      stale.push(...record.names);
      staleIds.push(file.slice(0, -'.json'.length));
    }
  }
  const orphans = namespaces.filter((name) => !claimed.has(name));
  const toRemove = [...new Set([...stale.filter((n) => namespaces.includes(n)), ...orphans])];
  await destroyNamespaces(toRemove);
  for (const id of staleIds) unregister(id);
  return toRemove;
}
