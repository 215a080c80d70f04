// A docker engine of our own for the container tests, never in the machine's
// root namespaces:
//
//   nsenter --net=/run/netns/NS            its own network namespace (made here, or
//                                          the caller's EC2-like "host"); not
//                                          `ip netns exec`, which remounts /sys and
//                                          loses the cgroup mounts dockerd needs
//   unshare --mount --propagation slave    its overlay/nsfs mounts stay out of the
//                                          root mount table and vanish with it
//   mount tmpfs on /run                    /run/docker and /run/containerd/s too
//   dockerd --data-root … --exec-root …    own folders, socket, bridge ranges,
//           --cgroup-parent …              cgroup parent and config file
//
// The socket is a plain file, so clients in the root namespace reach it; ports
// published by containers exist only inside the namespace.
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { clientBinary, docker, engineEnv } from './docker-client.ts';
import { processAlive, processStartTime, run, signal } from './docker-proc.ts';
import { type EngineRecord, newRecordOwner, saveRecord } from './docker-registry.ts';
import { reapStaleEngines, teardownEngine } from './docker-teardown.ts';
import { spawn } from 'node:child_process';

export { ensureBaseImage } from './base-image.ts';

export type CommandResult = { code: number; stdout: string; stderr: string };

export interface BuildOptions {
  /** default 'buildkit' (20.10 client, DOCKER_BUILDKIT=1); 'legacy' is the classic builder */
  builder?: 'buildkit' | 'legacy';
  buildArgs?: Record<string, string>;
  timeoutMs?: number;
}

export interface DockerEngine {
  socket: string;
  /** unix://… */
  dockerHost: string;
  netns: string;
  /** DOCKER_HOST etc., to merge into the environment of child processes */
  env: NodeJS.ProcessEnv;
  /** holds the daemon's folders and dockerd.log */
  stateDir: string;
  /** engine start, and stop once it ran */
  readonly timings: { startMs: number; stopMs: number | null };
  exec(
    args: string[],
    opts?: { timeoutMs?: number; input?: string; env?: NodeJS.ProcessEnv },
  ): Promise<CommandResult>;
  /** docker-compose v1 (the only compose on this machine) */
  compose(
    args: string[],
    opts?: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number },
  ): Promise<CommandResult>;
  build(
    contextDir: string,
    tag: string,
    dockerfile?: string,
    opts?: BuildOptions,
  ): Promise<CommandResult>;
  /** last lines of dockerd's log, for error messages */
  logTail(lines?: number): string;
  /** idempotent; throws if something could not be removed */
  stop(): Promise<void>;
}

export interface EngineOptions {
  /** an existing namespace (name under /run/netns) to run dockerd in; default: a new one */
  netns?: string;
  /** default 10.254.3.1/24, the range ground/netns.ts leaves free for docker */
  bip?: string;
  /** default base=10.254.16.0/20,size=24 */
  defaultAddressPool?: string;
  startTimeoutMs?: number;
}

const STATE_ROOT = '/var/lib/s3h-docker';
const SYSTEM_CONTAINERD = '/run/containerd/containerd.sock';
const REQUIRED_TOOLS: Array<[string, string[]]> = [
  ['dockerd', ['--version']],
  ['containerd', ['--version']],
  ['runc', ['--version']],
  ['nsenter', ['--version']],
  ['unshare', ['--version']],
  ['ip', ['-V']],
  ['iptables', ['--version']],
  ['docker-compose', ['version', '--short']],
];

function hasTool(name: string, args: string[]): boolean {
  const { spawnSync } = require_child();
  const result = spawnSync(name, args, { stdio: 'ignore', timeout: 20_000 });
  return result.error === undefined && result.status === 0;
}

function require_child(): typeof import('node:child_process') {
  return childProcess;
}

import * as childProcess from 'node:child_process';
