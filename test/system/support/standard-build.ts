// The Dockerfile's standard target (`docker build .`: npm ci + npm run build
// in a builder stage) needs the npm registry inside the build. The tier's
// engine lives in a network namespace with no route out (by design: test
// traffic stays inside the namespaces the run created), so this checks the
// route, and where there is none it builds the same target with
// `npm ci --offline` (build argument NPM_CONFIG_OFFLINE=true) against the
// Dockerfile's own npm cache mount, filled beforehand from an npm cache that
// the host filled from the registry, as `npm ci` does for a package install.
import { createHash } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { DockerEngine } from '../../../ground/docker/engine.ts';
import { run } from '../../../ground/docker/proc.ts';
import { cacheSubdir, withCacheLock } from '../../../ground/image/cache.ts';

/** The `id` of the npm cache mount in the Dockerfile's build stage. */
const NPM_CACHE_ID = 's3-health-npm';

/** Why the engine's namespace cannot reach a registry, or undefined when it has a route out. */
export async function noRouteOut(netns: string): Promise<string | undefined> {
  const r = await run(['ip', '-n', netns, 'route', 'show', 'default'], { timeoutMs: 10_000 });
  if (r.code !== 0) return `cannot read the routes of namespace ${netns}: ${r.stderr.trim()}`;
  if (r.stdout.trim() !== '') return undefined;
  return `the docker engine's network namespace ${netns} has no default route: nothing in it reaches the npm registry (the tier keeps its traffic inside the namespaces it creates)`;
}

/**
 * An npm cache holding every package of package-lock.json, filled on the host
 * by `npm ci --prefer-offline` (from the registry the first time) and kept
 * under /var/cache/s3-health, keyed by the lockfile.
 */
export async function hostNpmCache(repoRoot: string): Promise<{ dir: string; filled: boolean }> {
  const lock = readFileSync(join(repoRoot, 'package-lock.json'));
  const key = createHash('sha256').update(lock).digest('hex').slice(0, 12);
  const dir = cacheSubdir('npm-ci', key);
  const stamp = join(dir, '.complete');
  if (existsSync(stamp)) return { dir, filled: false };
  return withCacheLock(`npm-ci-${key}`, 20 * 60_000, async () => {
    if (existsSync(stamp)) return { dir, filled: false };
    const work = mkdtempSync(join(tmpdir(), 's3h-npm-ci-'));
    try {
      for (const f of ['package.json', 'package-lock.json'])
        copyFileSync(join(repoRoot, f), join(work, f));
      const r = await run(
        [
          'npm',
          'ci',
          '--cache',
          dir,
          '--prefer-offline',
          '--ignore-scripts',
          '--no-audit',
          '--no-fund',
          '--loglevel=error',
        ],
        { cwd: work, timeoutMs: 15 * 60_000 },
      );
      if (r.code !== 0) throw new Error(`npm ci to fill the npm cache failed: ${r.stderr}`);
      writeFileSync(stamp, `${new Date().toISOString()}\n`);
      return { dir, filled: true };
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });
}

/** Copies the host's npm cache into the engine's BuildKit cache mount that the Dockerfile's npm ci uses. */
export async function seedNpmCacheMount(
  engine: DockerEngine,
  cacheDir: string,
  baseImage: string,
): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 's3h-npm-seed-'));
  try {
    const dockerfile = join(dir, 'Dockerfile');
    writeFileSync(
      dockerfile,
      [
        `FROM ${baseImage}`,
        `RUN --mount=type=cache,id=${NPM_CACHE_ID},target=/root/.npm,sharing=locked \\`,
        '    --mount=type=bind,target=/seed \\',
        '    cp -a /seed/. /root/.npm/',
        '',
      ].join('\n'),
    );
    const r = await engine.build(cacheDir, 's3h-npm-seed:latest', dockerfile, {
      timeoutMs: 15 * 60_000,
    });
    if (r.code !== 0)
      throw new Error(`seeding the npm cache mount failed: ${r.stderr.slice(-3000)}`);
    await engine.exec(['rmi', 's3h-npm-seed:latest']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * What a clean clone of the working tree holds: the tracked and the untracked,
 * not ignored files (no node_modules, dist or build/), copied to a new folder,
 * so `docker compose up --build` runs from there exactly as from a clone.
 */
export async function cleanCheckout(repoRoot: string): Promise<string> {
  const r = await run(['git', '-C', repoRoot, 'ls-files', '-z', '-co', '--exclude-standard'], {
    timeoutMs: 60_000,
  });
  if (r.code !== 0) throw new Error(`git ls-files failed: ${r.stderr}`);
  const dir = mkdtempSync(join(tmpdir(), 's3h-clone-'));
  for (const file of r.stdout.split('\0')) {
    if (file === '' || !existsSync(join(repoRoot, file))) continue;
    mkdirSync(dirname(join(dir, file)), { recursive: true });
    copyFileSync(join(repoRoot, file), join(dir, file));
  }
  return dir;
}
