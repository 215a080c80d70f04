// The s3-health image for linux/amd64 and linux/arm64 under one name: the
// Dockerfile's offline target built once per platform with buildah, joined
// into one OCI image index, written as an oci-archive (scripts/build-multiarch.ts
// for users, test/system/multiarch.test.ts for CI).
import { join } from 'node:path';
import { run } from '../docker/proc.ts';
import { prepareBaseImage, standInConfig } from './base-image.ts';
import type { Buildah } from './buildah.ts';

export const PLATFORMS = ['amd64', 'arm64'] as const;
export type Arch = (typeof PLATFORMS)[number];

export const MANIFEST = 'localhost/s3-health:multiarch';
const OFFICIAL_BASE = 'docker.io/library/node:24-bookworm-slim';

export interface MultiArchOptions {
  repoRoot: string;
  /** the oci-archive to write */
  out: string;
  /**
   * local: the stand-in for node:24-bookworm-slim assembled here per platform
   * (debootstrap, the other architecture under QEMU; cached); registry: the
   * official image, pulled by buildah for each platform.
   */
  base: 'local' | 'registry';
  log?: (line: string) => void;
}

export interface PlatformResult {
  arch: Arch;
  tag: string;
  baseSeconds: number;
  buildSeconds: number;
}

/** One entry of the index as written, with its image's layers. */
export interface IndexEntry {
  platform: string;
  digest: string;
  /** compressed, as pushed */
  layers: { digest: string; bytes: number }[];
  /** the image's environment (`KEY=value`), as a runtime gives it to the process */
  env: string[];
}

export function imageTag(arch: Arch): string {
  return `localhost/s3-health:${arch}`;
}

const seconds = (t0: number) => Math.round(performance.now() - t0) / 1000;

/** Builds both platforms into the store and writes the index as an oci-archive. */
export async function buildMultiArch(b: Buildah, o: MultiArchOptions): Promise<PlatformResult[]> {
  const log = o.log ?? (() => {});
  const prep = await run(
    ['bash', 'scripts/prepare-image-context.sh', PLATFORMS.map((a) => `linux/${a}`).join(',')],
    { cwd: o.repoRoot, timeoutMs: 10 * 60_000 },
  );
  if (prep.code !== 0) throw new Error(`prepare-image-context.sh: ${prep.stderr.trim()}`);
  const results: PlatformResult[] = [];
  for (const arch of PLATFORMS) {
    const t0 = performance.now();
    let base = OFFICIAL_BASE;
    if (o.base === 'local') {
      log(`${arch}: the local stand-in for node:24-bookworm-slim`);
      const image = await prepareBaseImage({ arch });
      base = `localhost/node:24-bookworm-slim-${arch}`;
      await b.importRootfs(image.tarPath, base, arch, standInConfig(image));
    }
    const baseSeconds = seconds(t0);
    const t1 = performance.now();
    log(`${arch}: building the offline target`);
    const built = await b.build({
      arch,
      contextDir: o.repoRoot,
      dockerfile: join(o.repoRoot, 'Dockerfile'),
      target: 'offline',
      buildArgs: { NODE_IMAGE: base, NODE_FROM: 'context' },
      tag: imageTag(arch),
      manifest: MANIFEST,
    });
    if (built.code !== 0)
      throw new Error(`buildah build linux/${arch}: ${built.stderr.slice(-3000)}`);
    results.push({ arch, tag: imageTag(arch), baseSeconds, buildSeconds: seconds(t1) });
  }
  log(`writing ${o.out}`);
  await b.pushArchive(MANIFEST, o.out);
  return results;
}

interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: { os: string; architecture: string; variant?: string };
}

async function member(archive: string, path: string): Promise<string> {
  const r = await run(['tar', '-xOf', archive, path], { timeoutMs: 60_000 });
  if (r.code !== 0) throw new Error(`${archive}: no ${path}: ${r.stderr.trim()}`);
  return r.stdout;
}

const blob = (archive: string, digest: string) =>
  member(archive, `blobs/${digest.replace(':', '/')}`);

/** The index of an oci-archive, followed to each image's manifest and config. */
export async function readIndex(archive: string): Promise<IndexEntry[]> {
  const top = JSON.parse(await member(archive, 'index.json')) as { manifests: Descriptor[] };
  const out: IndexEntry[] = [];
  for (const d of top.manifests) {
    const doc = JSON.parse(await blob(archive, d.digest)) as {
      manifests?: Descriptor[];
      layers?: Descriptor[];
      config?: Descriptor;
    };
    // index.json names the image index, which names one manifest per platform.
    for (const m of doc.manifests ?? [d]) {
      const manifest = JSON.parse(await blob(archive, m.digest)) as {
        layers: Descriptor[];
        config: Descriptor;
      };
      const config = JSON.parse(await blob(archive, manifest.config.digest)) as {
        config?: { Env?: string[] };
      };
      out.push({
        platform: m.platform ? `${m.platform.os}/${m.platform.architecture}` : 'unknown',
        digest: m.digest,
        layers: manifest.layers.map((l) => ({ digest: l.digest, bytes: l.size })),
        env: config.config?.Env ?? [],
      });
    }
  }
  return out;
}
