// A local stand-in for the official node:24-bookworm-slim, because no image
// registry is reachable here: Debian bookworm minbase from the apt mirror, plus
// Node's official binary and npm from the npm registry, imported under the
// official tag so the project's Dockerfile builds against it unchanged.
//
// Same as the official image: Debian bookworm slim; Node in /usr/local/bin
// with nodejs, npm and npx; user and group `node` (1000:1000, /home/node,
// bash); ENTRYPOINT docker-entrypoint.sh, CMD node; PATH; NODE_VERSION.
// No ca-certificates: the official image purges them after downloading Node
// (Node carries its own CA store). Not included: yarn, corepack, Node's C
// headers, bookworm-security updates.
//
// Cached under /var/cache/s3-health, keyed by versions: the debootstrap rootfs
// (slow: about a minute) and the finished image tarball, so a warm run is one
// `docker import`.
import { createHash } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import type { DockerEngine } from '../docker/engine.ts';
import { mountsUnder } from '../docker/mounts.ts';
import { runOk } from '../docker/proc.ts';
import type { ImageConfig } from './buildah.ts';
import { cachePath, cacheSubdir, withCacheLock } from './cache.ts';
import { defaultNodeVersion, nodeArch, stageNode } from './node.ts';
import { addNodeUser, aptMirror, debianArch, debootstrap, SUITE, slim, tarDir } from './rootfs.ts';

export const BASE_IMAGE_TAG = 'node:24-bookworm-slim';

/** Bump when the assembly changes, so cached rootfs and images are rebuilt. */
const RECIPE = 1;

export interface BaseImageOptions {
  tag?: string;
  /** default: the project's `node` dev dependency version */
  nodeVersion?: string;
  /**
   * Debian's name for the platform's architecture (amd64, arm64); default this
   * machine's. Another one is built under emulation (binfmt + qemu-user-static).
   */
  arch?: string;
}

export interface BaseImageResult {
  tag: string;
  /** false when the engine already had the tag */
  built: boolean;
  seconds: number;
  /** engine: tag existed; cache: imported a cached tarball; assembled: built from scratch */
  source: 'engine' | 'cache' | 'assembled';
  nodeVersion?: string;
  npmVersion?: string;
  sizeBytes?: number;
  /** seconds per step: assembly steps when assembled, and the import */
  phases?: Record<string, number>;
}

export interface PreparedImage {
  tarPath: string;
  nodeVersion: string;
  npmVersion: string;
  fromCache: boolean;
  /** seconds per assembly step; empty when taken from the cache */
  phases: Record<string, number>;
}

interface ImageMeta {
  nodeVersion: string;
  npmVersion: string;
}

function removeWorkDir(dir: string): void {
  // debootstrap ran in a private mount namespace, so nothing should be mounted
  // here; never recurse into a live /proc or /dev.
  const mounts = mountsUnder(dir);
  if (mounts.length > 0) throw new Error(`kept ${dir}: still mounted ${mounts.join(', ')}`);
  rmSync(dir, { recursive: true, force: true });
}

async function timed(
  phases: Record<string, number>,
  name: string,
  fn: () => Promise<void>,
): Promise<void> {
  const t0 = performance.now();
  await fn();
  phases[name] = Math.round(performance.now() - t0) / 1000;
}

async function buildRootfsTar(
  work: string,
  out: string,
  mirror: string,
  arch: string,
  phases: Record<string, number>,
): Promise<void> {
  const root = join(work, 'rootfs');
  await timed(phases, 'debootstrap', () => debootstrap(root, mirror, arch));
  await timed(phases, 'rootfs', async () => {
    slim(root);
    await addNodeUser(root);
    await tarDir(root, `${out}.partial`);
    renameSync(`${out}.partial`, out);
  });
}

async function buildImageTar(
  rootfsTar: string,
  work: string,
  out: string,
  nodeVersion: string,
  arch: string,
): Promise<ImageMeta> {
  const staging = join(work, 'staging');
  const { paths, npmVersion } = await stageNode(staging, nodeVersion, nodeArch(arch));
  const partial = `${out}.partial`;
  copyFileSync(rootfsTar, partial);
  await runOk(
    ['tar', '--numeric-owner', '--owner=0', '--group=0', '-rf', partial, '-C', staging, ...paths],
    { timeoutMs: 5 * 60_000 },
  );
  const meta: ImageMeta = { nodeVersion, npmVersion };
  writeFileSync(`${out}.json`, JSON.stringify(meta));
  renameSync(partial, out);
  return meta;
}

function readMeta(tar: string): ImageMeta | undefined {
  if (!existsSync(tar)) return undefined;
  try {
    return JSON.parse(readFileSync(`${tar}.json`, 'utf8')) as ImageMeta;
  } catch {
    return undefined;
  }
}

/** The image as a rootfs tarball in the cache, assembled if missing. Needs no engine. */
export async function prepareBaseImage(opts: BaseImageOptions = {}): Promise<PreparedImage> {
  const nodeVersion = opts.nodeVersion ?? (await defaultNodeVersion());
  const arch = opts.arch ?? (await debianArch());
  const mirror = aptMirror();
  const rootfsKey = createHash('sha256')
    .update(JSON.stringify({ SUITE, variant: 'minbase', arch, mirror, RECIPE }))
    .digest('hex')
    .slice(0, 12);
  const imageTar = cachePath(
    'images',
    `node-${nodeVersion}-${SUITE}-slim-${arch}-${rootfsKey}.tar`,
  );
  const cached = readMeta(imageTar);
  if (cached !== undefined) return { tarPath: imageTar, ...cached, fromCache: true, phases: {} };
  return withCacheLock('base-image', 30 * 60_000, async () => {
    const meanwhile = readMeta(imageTar);
    if (meanwhile !== undefined)
      return { tarPath: imageTar, ...meanwhile, fromCache: true, phases: {} };
    const rootfsTar = cachePath('rootfs', `debian-${SUITE}-minbase-${arch}-${rootfsKey}.tar`);
    const work = mkdtempSync(join(cacheSubdir('tmp'), 'build-'));
    const phases: Record<string, number> = {};
    try {
      if (!existsSync(rootfsTar)) await buildRootfsTar(work, rootfsTar, mirror, arch, phases);
      let meta: ImageMeta | undefined;
      await timed(phases, 'node', async () => {
        meta = await buildImageTar(rootfsTar, work, imageTar, nodeVersion, arch);
      });
      if (meta === undefined) throw new Error('image tarball not assembled');
      return { tarPath: imageTar, ...meta, fromCache: false, phases };
    } finally {
      removeWorkDir(work);
    }
  });
}

/** The official image's config, and a label that says plainly this is not the registry's image. */
export function standInConfig(image: PreparedImage): ImageConfig {
  return {
    env: {
      PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      NODE_VERSION: image.nodeVersion,
    },
    entrypoint: ['docker-entrypoint.sh'],
    cmd: ['node'],
    labels: { 's3-health.base-image': 'local-stand-in', 's3-health.npm-version': image.npmVersion },
  };
}

function importArgs(image: PreparedImage, tag: string): string[] {
  const c = standInConfig(image);
  const changes = [
    ...Object.entries(c.env).map(([k, v]) => `ENV ${k}=${v}`),
    `ENTRYPOINT ${JSON.stringify(c.entrypoint)}`,
    `CMD ${JSON.stringify(c.cmd)}`,
    `LABEL ${Object.entries(c.labels)
      .map(([k, v]) => `${k}=${v}`)
      .join(' ')}`,
  ];
  return ['import', ...changes.flatMap((ch) => ['--change', ch]), image.tarPath, tag];
}

/** Makes `tag` (default node:24-bookworm-slim) exist in the engine; skips everything if it does. */
export async function ensureBaseImage(
  engine: DockerEngine,
  opts: Omit<BaseImageOptions, 'arch'> = {},
): Promise<BaseImageResult> {
  const t0 = performance.now();
  const tag = opts.tag ?? BASE_IMAGE_TAG;
  const seconds = () => Math.round(performance.now() - t0) / 1000;
  const present = await engine.exec(['image', 'inspect', '--format', '{{.Id}}', tag], {
    timeoutMs: 30_000,
  });
  if (present.code === 0) return { tag, built: false, seconds: seconds(), source: 'engine' };
  // This machine's platform only: Debian's dockerd 20.10 imports no other
  // (another architecture's stand-in goes to buildah: ground/image/multiarch.ts).
  const image = await prepareBaseImage(opts);
  const tImport = performance.now();
  const imported = await engine.exec(importArgs(image, tag), { timeoutMs: 5 * 60_000 });
  if (imported.code !== 0)
    throw new Error(`docker import ${tag} failed: ${imported.stderr.trim()}`);
  const size = await engine.exec(['image', 'inspect', '--format', '{{.Size}}', tag], {
    timeoutMs: 30_000,
  });
  return {
    tag,
    built: true,
    seconds: seconds(),
    source: image.fromCache ? 'cache' : 'assembled',
    nodeVersion: image.nodeVersion,
    npmVersion: image.npmVersion,
    sizeBytes: Number(size.stdout.trim()) || undefined,
    phases: { ...image.phases, import: Math.round(performance.now() - tImport) / 1000 },
  };
}
