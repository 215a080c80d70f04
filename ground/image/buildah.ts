// Debian's buildah with a store of its own, for the multi-platform image: one
// build per platform from the project's Dockerfile (RUN steps of the other
// architecture under QEMU), joined into one OCI image index, written out as an
// oci-archive a user pushes with the tool of their choice. buildah and not the
// docker engine: Debian's dockerd 20.10 keeps one image per name, takes no
// platform on import, and its BuildKit then looks for the other platform's
// base in a registry.
//
// The store lives under /var/lib/s3h-buildah/<id> (its run state under
// /run/s3h-buildah/<id>) and is removed, mounts first, by close(). Beside it,
// <id>.owner names the process that opened it, so a store left by a run that
// was killed is removed by the next one (never one whose owner still runs).
import { randomUUID } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { unmountUnder } from '../docker/mounts.ts';
import { type RunResult, run } from '../docker/proc.ts';
import { onPath, processStartTime, stillRunning } from '../shared/process.ts';

const STORE_ROOT = '/var/lib/s3h-buildah';
const RUN_ROOT = '/run/s3h-buildah';

/** What an image's config says beyond its layers (the subset the stand-in base sets). */
export interface ImageConfig {
  env: Record<string, string>;
  entrypoint: string[];
  cmd: string[];
  labels: Record<string, string>;
}

export interface PlatformBuild {
  /** Debian's arch name: amd64, arm64 */
  arch: string;
  contextDir: string;
  dockerfile: string;
  target: string;
  buildArgs: Record<string, string>;
  /** the image's own name in the store */
  tag: string;
  /** the index (manifest list) the image joins */
  manifest: string;
  timeoutMs?: number;
}

export interface Buildah {
  root: string;
  runRoot: string;
  /** buildah with this store; never rejects on a non-zero exit */
  exec(args: string[], timeoutMs?: number): Promise<RunResult>;
  /** A root filesystem tarball as a one-layer image of `arch`, named `tag`. */
  importRootfs(tar: string, tag: string, arch: string, config: ImageConfig): Promise<void>;
  build(b: PlatformBuild): Promise<RunResult>;
  /** The index and every image in it, as an oci-archive at `file` (tag `latest`). */
  pushArchive(manifest: string, file: string): Promise<void>;
  /** A working container of `image`, mounted: its root filesystem at `path`. */
  mount(image: string): Promise<{ path: string; container: string }>;
  close(): Promise<void>;
}

async function ok(r: Promise<RunResult>, what: string): Promise<string> {
  const res = await r;
  if (res.code !== 0) throw new Error(`buildah ${what} exited ${res.code}: ${res.stderr.trim()}`);
  return res.stdout.trim();
}

export function buildahAvailable(): { ok: true } | { ok: false; why: string } {
  const found = onPath('buildah');
  return found
    ? { ok: true }
    : { ok: false, why: 'buildah is not installed (apt-get install buildah)' };
}

async function removeStore(id: string): Promise<void> {
  const root = join(STORE_ROOT, id);
  const runRoot = join(RUN_ROOT, id);
  const stuck = [...(await unmountUnder(root)), ...(await unmountUnder(runRoot))];
  if (stuck.length > 0) throw new Error(`buildah store ${root}: still mounted ${stuck}`);
  rmSync(root, { recursive: true, force: true });
  rmSync(runRoot, { recursive: true, force: true });
  rmSync(join(STORE_ROOT, `${id}.owner`), { force: true });
}

/** Stores whose owner is gone (killed before close()); returns their ids. */
async function reapStaleStores(): Promise<string[]> {
  let names: string[];
  try {
    names = readdirSync(STORE_ROOT);
  } catch {
    return [];
  }
  const reaped: string[] = [];
  for (const name of names.filter((n) => n.endsWith('.owner'))) {
    const id = name.slice(0, -'.owner'.length);
    const [pid, start] = readFileSync(join(STORE_ROOT, name), 'utf8').trim().split(' ');
    if (stillRunning(Number(pid), start)) continue;
    await removeStore(id);
    reaped.push(id);
  }
  return reaped;
}

export async function openBuildah(): Promise<Buildah> {
  await reapStaleStores();
  const id = randomUUID().slice(0, 8);
  const root = join(STORE_ROOT, id);
  const runRoot = join(RUN_ROOT, id);
  mkdirSync(root, { recursive: true });
  mkdirSync(runRoot, { recursive: true });
  writeFileSync(
    join(STORE_ROOT, `${id}.owner`),
    `${process.pid} ${processStartTime(process.pid) ?? '0'}\n`,
  );
  const base = ['buildah', '--root', root, '--runroot', runRoot, '--storage-driver', 'overlay'];
  const exec = (args: string[], timeoutMs = 120_000) =>
    run([...base, ...args], { timeoutMs, env: { ...process.env, BUILDAH_ISOLATION: 'chroot' } });
  const containers: string[] = [];
  let closed: Promise<void> | undefined;
  return {
    root,
    runRoot,
    exec,
    async importRootfs(tar, tag, arch, config) {
      const c = await ok(
        exec(['from', '--arch', arch, '--os', 'linux', 'scratch']),
        'from scratch',
      );
      try {
        await ok(exec(['add', c, tar, '/'], 10 * 60_000), 'add');
        const args = ['config', '--arch', arch, '--os', 'linux'];
        for (const [k, v] of Object.entries(config.env)) args.push('--env', `${k}=${v}`);
        for (const [k, v] of Object.entries(config.labels)) args.push('--label', `${k}=${v}`);
        args.push('--entrypoint', JSON.stringify(config.entrypoint));
        args.push('--cmd', JSON.stringify(config.cmd));
        await ok(exec([...args, c]), 'config');
        await ok(exec(['commit', '--quiet', c, tag], 10 * 60_000), 'commit');
      } finally {
        await exec(['rm', c]);
      }
    },
    build(b) {
      const args = [
        'build',
        '--platform',
        `linux/${b.arch}`,
        // The offline target reads nothing from the network.
        '--network',
        'none',
        '--target',
        b.target,
        '--manifest',
        b.manifest,
        '--tag',
        b.tag,
        '--file',
        b.dockerfile,
      ];
      for (const [k, v] of Object.entries(b.buildArgs)) args.push('--build-arg', `${k}=${v}`);
      return exec([...args, b.contextDir], b.timeoutMs ?? 15 * 60_000);
    },
    async pushArchive(manifest, file) {
      rmSync(file, { force: true });
      await ok(
        exec(
          ['manifest', 'push', '--all', '--format', 'oci', manifest, `oci-archive:${file}:latest`],
          10 * 60_000,
        ),
        'manifest push',
      );
    },
    async mount(image) {
      const container = await ok(exec(['from', '--pull-never', image]), `from ${image}`);
      containers.push(container);
      const path = await ok(exec(['mount', container]), 'mount');
      return { path, container };
    },
    close() {
      closed ??= (async () => {
        for (const c of containers) await exec(['umount', c]);
        await exec(['rm', '--all']);
        await exec(['rmi', '--all', '--force'], 5 * 60_000);
        await removeStore(id);
      })();
      return closed;
    },
  };
}
