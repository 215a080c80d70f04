// Stops one docker engine and removes everything it created. Every step is
// idempotent and runs even when an earlier one failed; what could not be
// removed is reported in the thrown error.
import { existsSync, rmSync } from 'node:fs';
import { stillRunning } from '../shared/process.ts';
import { docker } from './client.ts';
import { mountsUnder, removeCgroupParent, unmountUnder } from './mounts.ts';
import { pidsMentioning, run, signal, waitGone } from './proc.ts';
import { dropRecord, type EngineRecord, staleRecords } from './registry.ts';

async function removeContainers(record: EngineRecord): Promise<void> {
  const { socket, stateDir } = record;
  const list = await docker(socket, stateDir, ['ps', '-aq'], { timeoutMs: 20_000 });
  const ids = list.stdout.split(/\s+/).filter((s) => s !== '');
  if (list.code !== 0 || ids.length === 0) return;
  await docker(socket, stateDir, ['rm', '-f', '-v', ...ids], { timeoutMs: 60_000 });
}

async function stopDaemon(record: EngineRecord): Promise<string[]> {
  const problems: string[] = [];
  const { dockerdPid: pid, dockerdStart: start } = record;
  if (pid !== undefined && stillRunning(pid, start)) {
    // containerd is dockerd's child and exits with it.
    signal(pid, 'SIGTERM', start);
    if (!(await waitGone(pid, 20_000, start))) {
      signal(pid, 'SIGKILL', start);
      if (!(await waitGone(pid, 5_000, start))) problems.push(`dockerd ${pid} still running`);
    }
  }
  // containerd, shims and docker-proxy mention the engine's own folder.
  let leftovers = pidsMentioning(record.stateDir);
  for (const p of leftovers) signal(p, 'SIGTERM');
  for (const p of leftovers) await waitGone(p, 3_000);
  leftovers = pidsMentioning(record.stateDir);
  for (const p of leftovers) signal(p, 'SIGKILL');
  for (const p of leftovers) {
    if (!(await waitGone(p, 3_000))) problems.push(`process ${p} still running`);
  }
  return problems;
}

async function deleteNetns(record: EngineRecord): Promise<string[]> {
  if (!record.createdNetns || !existsSync(`/run/netns/${record.netns}`)) return [];
  const pids = await run(['ip', 'netns', 'pids', record.netns], { timeoutMs: 10_000 });
  for (const p of pids.stdout.split(/\s+/).filter((s) => s !== '')) {
    const pid = Number(p);
    if (pid !== process.pid) signal(pid, 'SIGKILL');
  }
  const del = await run(['ip', 'netns', 'del', record.netns], { timeoutMs: 10_000 });
  return del.code === 0 ? [] : [`ip netns del ${record.netns}: ${del.stderr.trim()}`];
}

/** Milliseconds per teardown step, for the benchmarks. */
export type TeardownPhases = Record<string, number>;

export async function teardownEngine(record: EngineRecord): Promise<TeardownPhases> {
  const problems: string[] = [];
  const phases: TeardownPhases = {};
  const step = async (name: string, fn: () => Promise<string[] | undefined>) => {
    const t0 = performance.now();
    try {
      problems.push(...((await fn()) ?? []));
    } catch (err) {
      problems.push(`${name}: ${(err as Error).message}`);
    }
    phases[name] = Math.round(performance.now() - t0);
  };
  if (record.dockerdPid !== undefined && stillRunning(record.dockerdPid, record.dockerdStart)) {
    await step('remove containers', async () => {
      await removeContainers(record);
      return undefined;
    });
  }
  await step('stop dockerd', () => stopDaemon(record));
  await step('unmount', async () =>
    (await unmountUnder(record.stateDir)).map((m) => `still mounted: ${m}`),
  );
  await step('cgroups', async () =>
    removeCgroupParent(record.cgroupParent).map((d) => `cgroup busy: ${d}`),
  );
  await step('netns', () => deleteNetns(record));
  await step('state dir', async () => {
    // Never recurse into a folder that still has something mounted below it.
    if (mountsUnder(record.stateDir).length > 0) return [`kept ${record.stateDir}: mounts left`];
    rmSync(record.stateDir, { recursive: true, force: true });
    return [];
  });
  if (problems.length === 0) {
    dropRecord(record.id);
    return phases;
  }
  throw new Error(`docker engine ${record.id} teardown incomplete:\n${problems.join('\n')}`);
}

/** Tears down engines whose owning process died without doing so; returns their ids. */
export async function reapStaleEngines(): Promise<string[]> {
  const reaped: string[] = [];
  for (const record of staleRecords()) {
    try {
      await teardownEngine(record);
      reaped.push(record.id);
    } catch {
      /* left for a later run; it will be retried */
    }
  }
  return reaped;
}
