// What the container tier reads back from the engine: `docker inspect` of a
// container (the fields asserted on), `docker events` of a compose project,
// and the processes behind a container as the kernel sees them.
import { readFileSync } from 'node:fs';
import type { DockerEngine } from '../../../ground/docker/engine.ts';

export interface HealthLogEntry {
  Start: string;
  End: string;
  ExitCode: number;
  Output: string;
}

export interface ContainerInspect {
  Id: string;
  Name: string;
  State: {
    Status: string;
    Running: boolean;
    Pid: number;
    ExitCode: number;
    OOMKilled: boolean;
    StartedAt: string;
    FinishedAt: string;
    Health?: { Status: string; FailingStreak: number; Log: HealthLogEntry[] | null };
  };
  Config: {
    User: string;
    Env: string[] | null;
    Hostname: string;
    Labels: Record<string, string>;
    Healthcheck?: { Test: string[] };
  };
  HostConfig: {
    ReadonlyRootfs: boolean;
    Init: boolean | null;
    CapDrop: string[] | null;
    SecurityOpt: string[] | null;
    Tmpfs: Record<string, string> | null;
  };
}

export interface DockerEvent {
  Type: string;
  Action: string;
  Actor: { ID: string; Attributes: Record<string, string> };
  timeNano: number;
}

async function dockerOk(engine: DockerEngine, args: string[], timeoutMs = 60_000) {
  const r = await engine.exec(args, { timeoutMs });
  if (r.code !== 0) throw new Error(`docker ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return r.stdout;
}

export async function inspectContainer(
  engine: DockerEngine,
  idOrName: string,
): Promise<ContainerInspect> {
  const [doc] = JSON.parse(await dockerOk(engine, ['inspect', idOrName])) as ContainerInspect[];
  if (doc === undefined) throw new Error(`no container ${idOrName}`);
  return doc;
}

/** Containers of a compose project, by service name (running or not). */
export async function projectContainers(
  engine: DockerEngine,
  project: string,
): Promise<Map<string, string>> {
  const out = await dockerOk(engine, [
    'ps',
    '-a',
    '--no-trunc',
    '--filter',
    `label=com.docker.compose.project=${project}`,
    '--format',
    '{{.ID}} {{.Label "com.docker.compose.service"}}',
  ]);
  const byService = new Map<string, string>();
  for (const line of out.trim().split('\n').filter(Boolean)) {
    const [id, service] = line.split(' ');
    if (id !== undefined && service !== undefined) byService.set(service, id);
  }
  return byService;
}

/** Container events of a compose project between two instants (seconds since epoch). */
export async function projectEvents(
  engine: DockerEngine,
  project: string,
  sinceSeconds: number,
  untilSeconds: number,
): Promise<DockerEvent[]> {
  const out = await dockerOk(engine, [
    'events',
    '--since',
    String(Math.floor(sinceSeconds)),
    '--until',
    String(Math.ceil(untilSeconds)),
    '--filter',
    'type=container',
    '--filter',
    `label=com.docker.compose.project=${project}`,
    '--format',
    '{{json .}}',
  ]);
  return out
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as DockerEvent);
}

export async function containerLogs(engine: DockerEngine, id: string): Promise<string> {
  const r = await engine.exec(['logs', id], { timeoutMs: 30_000 });
  return `${r.stdout}${r.stderr}`;
}

/** Polls until `probe` returns a value, or throws with the last observation. */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<{ done: true; value: T } | { done: false; seen: string }>,
  timeoutMs: number,
  everyMs = 500,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await probe();
    if (r.done) return r.value;
    if (Date.now() > deadline)
      throw new Error(`${what}: gave up after ${timeoutMs} ms (${r.seen})`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

/** Real and effective uid of a host PID (containers share the kernel's view). */
export function processUids(pid: number): { real: number; effective: number } {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('Uid:'));
  const [real, effective] = (line ?? '').split(/\s+/).slice(1, 3).map(Number);
  if (real === undefined || effective === undefined) throw new Error(`no Uid line for ${pid}`);
  return { real, effective };
}

export function processArgv(pid: number): string[] {
  return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
}

/** Direct children of a host PID (all threads' children). */
export function processChildren(pid: number): number[] {
  const out: number[] = [];
  let tasks: string[] = [];
  try {
    tasks = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/);
  } catch {
    return out;
  }
  for (const t of tasks) if (t !== '') out.push(Number(t));
  return out;
}

export function envOf(c: ContainerInspect): Record<string, string> {
  const env: Record<string, string> = {};
  for (const kv of c.Config.Env ?? []) {
    const i = kv.indexOf('=');
    env[i < 0 ? kv : kv.slice(0, i)] = i < 0 ? '' : kv.slice(i + 1);
  }
  return env;
}
