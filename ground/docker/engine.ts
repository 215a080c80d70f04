// A docker engine of our own for the container tests, never in the machine's
// root namespaces:
//
//   nsenter --net=/run/netns/NS           its own network namespace (made here, or the
//                                         caller's EC2-like "host"). Not `ip netns exec`:
//                                         it remounts /sys and loses the cgroup mounts
//   unshare --mount --propagation slave   its overlay and nsfs mounts stay out of the
//                                         root mount table and vanish with it
//   mount -t tmpfs … /run                 so do /run/docker and /run/containerd/s, and
//                                         no system containerd can be picked up
//   dockerd --data-root … --exec-root …   own folders, socket, bridge ranges, cgroup
//           --cgroup-parent … …           parent and config file
//
// The socket is a plain file, so clients in the root namespace reach it; ports
// published by containers exist only inside the namespace.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { onExit } from '../shared/exit-hooks.ts';
import { processStartTime } from '../shared/process.ts';
import { clientBinary, docker, engineEnv } from './client.ts';
import { run, runOk, signal } from './proc.ts';
import { type EngineRecord, newRecordOwner, saveRecord } from './registry.ts';
import { reapStaleEngines, type TeardownPhases, teardownEngine } from './teardown.ts';

export type CommandResult = { code: number; stdout: string; stderr: string };

export interface BuildOptions {
  /** default 'buildkit' (20.10 client with DOCKER_BUILDKIT=1); 'legacy': the classic builder */
  builder?: 'buildkit' | 'legacy';
  buildArgs?: Record<string, string>;
  /** a stage of a multi-stage Dockerfile (`--target`) */
  target?: string;
  timeoutMs?: number;
}

export interface DockerEngine {
  socket: string;
  /** unix://… */
  dockerHost: string;
  netns: string;
  /** DOCKER_HOST etc., to merge into the environment of child processes */
  env: NodeJS.ProcessEnv;
  /** the daemon's folders and dockerd.log */
  stateDir: string;
  /** engine start, and stop (with its steps) once it ran */
  readonly timings: { startMs: number; stopMs: number | null; stopPhases?: TeardownPhases };
  /** the docker CLI (Debian's 20.10 client when present); never rejects on a non-zero exit */
  exec(
    args: string[],
    opts?: { timeoutMs?: number; input?: string; env?: NodeJS.ProcessEnv },
  ): Promise<CommandResult>;
  /** docker-compose v1, the only compose on this machine */
  compose(
    args: string[],
    opts?: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number },
  ): Promise<CommandResult>;
  /** `docker build`; dockerfile is a path, relative to the current directory or absolute */
  build(
    contextDir: string,
    tag: string,
    dockerfile?: string,
    opts?: BuildOptions,
  ): Promise<CommandResult>;
  /** last lines of dockerd's log, for error messages */
  logTail(lines?: number): string;
  /** dockerd and, once it runs, its containerd: to check that stop() leaves none */
  daemonPids(): number[];
  /** idempotent; throws if something could not be removed */
  stop(): Promise<void>;
}

export interface EngineOptions {
  /** an existing namespace (a name under /run/netns) to run dockerd in; default: a new one */
  netns?: string;
  /** default 10.254.3.1/24, the range ground/netns/netns.ts leaves free for docker */
  bip?: string;
  /** default base=10.254.16.0/20,size=24 */
  defaultAddressPool?: string;
  startTimeoutMs?: number;
}

const STATE_ROOT = '/var/lib/s3h-docker';
const SYSTEM_CONTAINERD = '/run/containerd/containerd.sock';
const TOOLS: Array<[string, string[]]> = [
  ['dockerd', ['--version']],
  ['containerd', ['--version']],
  ['runc', ['--version']],
  ['nsenter', ['--version']],
  ['unshare', ['--version']],
  ['ip', ['-V']],
  ['iptables', ['--version']],
  ['docker-compose', ['version', '--short']],
];

let toolsChecked: { ok: true } | { ok: false; why: string } | undefined;

function checkTools(): { ok: true } | { ok: false; why: string } {
  for (const [tool, args] of [...TOOLS, [clientBinary(), ['--version']] as [string, string[]]]) {
    const result = spawnSync(tool, args, { stdio: 'ignore', timeout: 20_000 });
    if (result.error !== undefined || result.status !== 0) {
      return {
        ok: false,
        why: `${tool} not found or not working (apt-get install docker.io docker-compose iptables)`,
      };
    }
  }
  return { ok: true };
}

export function dockerAvailable(): { ok: true } | { ok: false; why: string } {
  if (process.platform !== 'linux') return { ok: false, why: `platform is ${process.platform}` };
  if (process.getuid?.() !== 0) return { ok: false, why: 'needs root (uid 0)' };
  // dockerd 20.10 silently uses a running system containerd, outside our namespaces.
  if (existsSync(SYSTEM_CONTAINERD)) {
    return { ok: false, why: `${SYSTEM_CONTAINERD} exists: dockerd would use that containerd` };
  }
  toolsChecked ??= checkTools();
  return toolsChecked;
}

// A test process that exits without stop(): dockerd shuts itself down on
// TERM; the next startDockerEngine() reaps the namespace and folders.
function termOnExit(record: EngineRecord): () => void {
  return onExit(() => {
    if (record.dockerdPid !== undefined) signal(record.dockerdPid, 'SIGTERM', record.dockerdStart);
  });
}

function ping(socket: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ socketPath: socket, path: '/_ping', timeout: 2_000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => {
      req.destroy();
      resolve(false);
    });
    req.end();
  });
}

function tail(file: string, lines: number): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

function readPid(file: string): number | undefined {
  try {
    const pid = Number(readFileSync(file, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function dockerdArgs(record: EngineRecord, opts: EngineOptions): string[] {
  const dir = record.stateDir;
  return [
    '--data-root',
    join(dir, 'data'),
    '--exec-root',
    join(dir, 'exec'),
    '--pidfile',
    join(dir, 'dockerd.pid'),
    '-H',
    `unix://${record.socket}`,
    '--bip',
    opts.bip ?? '10.254.3.1/24',
    '--default-address-pool',
    opts.defaultAddressPool ?? 'base=10.254.16.0/20,size=24',
    '--cgroup-parent',
    record.cgroupParent,
    '--config-file',
    join(dir, 'daemon.json'),
  ];
}

function writeDaemonConfig(stateDir: string): void {
  const config = {
    // Else dockerd 20.10 writes /etc/docker/key.json.
    'deprecated-key-path': join(stateDir, 'key.json'),
    'storage-driver': 'overlay2',
    // Containers still running at shutdown are killed after this many seconds.
    'shutdown-timeout': 3,
  };
  writeFileSync(join(stateDir, 'daemon.json'), `${JSON.stringify(config, null, 2)}\n`);
}

// Launched via a shell only to mount the private /run before exec'ing dockerd:
// the PID we hold is dockerd's throughout (nsenter, unshare and sh all exec).
const MOUNT_RUN_THEN_EXEC = 'mount -t tmpfs -o mode=0755,size=16m s3h-run /run && exec "$@"';

function launch(record: EngineRecord, opts: EngineOptions): { pid: number; exited: () => boolean } {
  const log = openSync(join(record.stateDir, 'dockerd.log'), 'a');
  const child = spawn(
    'nsenter',
    [
      `--net=/run/netns/${record.netns}`,
      '--',
      'unshare',
      '--mount',
      '--propagation',
      'slave',
      '--',
      'sh',
      '-c',
      MOUNT_RUN_THEN_EXEC,
      's3h-dockerd',
      'dockerd',
      ...dockerdArgs(record, opts),
    ],
    { stdio: ['ignore', log, log] },
  );
  closeSync(log);
  let exited = false;
  child.on('exit', () => {
    exited = true;
  });
  child.on('error', () => {
    exited = true;
  });
  // The engine must not keep a test process alive; stop() or the exit hook ends it.
  child.unref();
  if (child.pid === undefined) throw new Error('could not spawn nsenter');
  return { pid: child.pid, exited: () => exited };
}

async function waitReady(socket: string, exited: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await ping(socket))) {
    if (exited()) throw new Error('dockerd exited during start');
    if (Date.now() > deadline) throw new Error(`dockerd not ready after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function createEngine(record: EngineRecord, startMs: number, forget: () => void): DockerEngine {
  const env = engineEnv(record.socket, record.stateDir);
  const timings: DockerEngine['timings'] = { startMs, stopMs: null };
  let stopping: Promise<void> | undefined;
  return {
    socket: record.socket,
    dockerHost: `unix://${record.socket}`,
    netns: record.netns,
    env,
    stateDir: record.stateDir,
    timings,
    exec: (args, opts = {}) => docker(record.socket, record.stateDir, args, opts),
    compose: (args, opts = {}) =>
      run(['docker-compose', ...args], {
        cwd: opts.cwd,
        env: { ...process.env, ...env, ...opts.env },
        timeoutMs: opts.timeoutMs ?? 300_000,
      }),
    build: (contextDir, tag, dockerfile, opts = {}) => {
      const buildkit = (opts.builder ?? 'buildkit') === 'buildkit';
      const args = ['build', '-t', tag];
      if (dockerfile !== undefined) args.push('-f', dockerfile);
      if (buildkit) args.push('--progress=plain');
      if (opts.target !== undefined) args.push('--target', opts.target);
      for (const [k, v] of Object.entries(opts.buildArgs ?? {}))
        args.push('--build-arg', `${k}=${v}`);
      args.push(contextDir);
      return docker(record.socket, record.stateDir, args, {
        timeoutMs: opts.timeoutMs ?? 600_000,
        env: { DOCKER_BUILDKIT: buildkit ? '1' : '0' },
      });
    },
    logTail: (lines = 30) => tail(join(record.stateDir, 'dockerd.log'), lines),
    daemonPids: () => {
      const pids = record.dockerdPid === undefined ? [] : [record.dockerdPid];
      const containerd = readPid(join(record.stateDir, 'exec', 'containerd', 'containerd.pid'));
      return containerd === undefined ? pids : [...pids, containerd];
    },
    stop: () => {
      stopping ??= (async () => {
        const t0 = performance.now();
        forget();
        try {
          timings.stopPhases = await teardownEngine(record);
        } finally {
          timings.stopMs = Math.round(performance.now() - t0);
        }
      })();
      return stopping;
    },
  };
}

export async function startDockerEngine(opts: EngineOptions = {}): Promise<DockerEngine> {
  const availability = dockerAvailable();
  if (!availability.ok) throw new Error(`docker engine unavailable: ${availability.why}`);
  if (opts.netns !== undefined && !existsSync(`/run/netns/${opts.netns}`)) {
    throw new Error(`network namespace ${opts.netns} does not exist`);
  }
  const t0 = performance.now();
  await reapStaleEngines();
  const id = randomBytes(4).toString('hex');
  const stateDir = join(STATE_ROOT, id);
  const record: EngineRecord = {
    id,
    ...newRecordOwner(),
    stateDir,
    socket: join(stateDir, 'docker.sock'),
    netns: opts.netns ?? `s3hd-${id}`,
    createdNetns: opts.netns === undefined,
    cgroupParent: `s3h-docker-${id}`,
  };
  // Recorded before anything exists, so a killed run is always reaped.
  saveRecord(record);
  const forget = termOnExit(record);
  try {
    mkdirSync(stateDir, { recursive: true, mode: 0o700 });
    writeDaemonConfig(stateDir);
    if (record.createdNetns) {
      // Loopback only: dockerd adds its bridge; nothing leads out of the namespace.
      await runOk(['ip', 'netns', 'add', record.netns], { timeoutMs: 10_000 });
      await runOk(['ip', '-n', record.netns, 'link', 'set', 'lo', 'up'], { timeoutMs: 10_000 });
    }
    const daemon = launch(record, opts);
    record.dockerdPid = daemon.pid;
    record.dockerdStart = processStartTime(daemon.pid);
    saveRecord(record);
    try {
      await waitReady(record.socket, daemon.exited, opts.startTimeoutMs ?? 60_000);
    } catch (err) {
      const log = tail(join(stateDir, 'dockerd.log'), 20);
      throw new Error(`${(err as Error).message}\n--- dockerd.log ---\n${log}`);
    }
  } catch (err) {
    forget();
    await teardownEngine(record).catch(() => undefined);
    throw err;
  }
  return createEngine(record, Math.round(performance.now() - t0), forget);
}
