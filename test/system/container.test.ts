// Issue 4: the container tier. The real Dockerfile and the real
// docker-compose.yml on a simulated EC2 host (ground/netns/ec2-sim.ts): dockerd runs
// in the host network namespace, IMDS answers at 169.254.169.254:80 one routed
// hop away (hop limit 2, as the deploy guide asks), radosgw and the STS
// endpoint live on the aws side. The base image is a local stand-in tagged
// node:24-bookworm-slim (ground/image/base-image.ts), so the Dockerfile builds
// unchanged. The only override points the S3 and STS endpoints at the peers.
import { spawnSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DockerComposeEnvironment,
  type StartedDockerComposeEnvironment,
  Wait,
} from 'testcontainers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type DockerEngine,
  dockerAvailable,
  startDockerEngine,
} from '../../ground/docker/engine.ts';
import { run } from '../../ground/docker/proc.ts';
import { ensureBaseImage } from '../../ground/image/base-image.ts';
import { type Ec2Sim, REPO_ROOT, startEc2Sim } from '../../ground/netns/ec2-sim.ts';
import { listNamespaces, netnsAvailable } from '../../ground/netns/netns.ts';
import { radosgwInstalled } from '../../ground/radosgw/radosgw.ts';
import {
  containerLogs,
  envOf,
  inspectContainer,
  processArgv,
  processChildren,
  processUids,
  projectContainers,
  projectEvents,
  waitFor,
} from './support/container-docker.ts';
import {
  cleanCheckout,
  hostNpmCache,
  noRouteOut,
  seedNpmCacheMount,
} from './support/standard-build.ts';
import { makeTlsFixture, TLS_PROBE } from './support/tls-fixture.ts';

const IMAGE = 's3-health:latest';
const CLASSIC_TAG = 's3-health:classic-builder';
const PROJECT = 's3hct';
const BROKEN_PROJECT = 's3hctbroken';
const APP_SERVICES = ['kb', 'chat', 'dramatiq'] as const;
const PROBE_PREFIX = 'healthcheck/';
const STATIC_KEYS = ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN'];
const LIST_OBJECTS = 'test/system/support/list-objects.ts';
const FIGURES_FILE = join(tmpdir(), 's3-health-container-figures.json');
const COLD = 15 * 60_000;
/** Issue 13: the image on node:24-bookworm-slim, at most this many bytes (docker's MB). */
const IMAGE_LIMIT_BYTES = 170e6;
/** CI's offline build: the prepared context, no network in any RUN step. */
const OFFLINE = { target: 'offline', buildArgs: { NODE_FROM: 'context' } } as const;

/** Every reason this machine cannot run the tier; it fails on any, never skips. */
function preflight(): string[] {
  const problems: string[] = [];
  if (process.getuid?.() !== 0) problems.push('needs root (uid 0)');
  const netns = netnsAvailable();
  if (!netns.ok) problems.push(`network namespaces: ${netns.why}`);
  const docker = dockerAvailable();
  if (!docker.ok) problems.push(`docker: ${docker.why}`);
  if (!radosgwInstalled()) problems.push('radosgw/ceph not installed (scripts/install-peers.sh)');
  for (const tool of ['curl', 'openssl', 'apt-get']) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' }).status !== 0)
      problems.push(`${tool} missing`);
  }
  if (!process.version.startsWith('v24.')) problems.push(`Node 24 needed, got ${process.version}`);
  return problems;
}

/** The user's .env.backend: the example with the bucket of this instance filled in. */
/** Fast cycles the sidecar runs under the shipped memory limit (issue 21). */
const OOM_CYCLES = 3000;

/** docker's memory notation (256m, 1g) in bytes. */
function parseMemory(v: string): number {
  const m = /^(\d+)([kmg]?)b?$/i.exec(v.trim());
  if (m === null) throw new Error(`not a memory size: ${v}`);
  const unit = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[(m[2] ?? '').toLowerCase()] ?? 1;
  return Number(m[1]) * unit;
}

/** The proxy's access log, a line a request (the file is shared across namespaces). */
function readProxyLog(file: string): string[] {
  return existsSync(file)
    ? readFileSync(file, 'utf8')
        .split('\n')
        .filter((l) => l.trim() !== '')
    : [];
}

function envBackend(bucket: string): string {
  const example = readFileSync(join(REPO_ROOT, '.env.backend.example'), 'utf8');
  const line = /^KB_STORAGE_URI=.*$/m;
  if (!line.test(example)) throw new Error('.env.backend.example has no KB_STORAGE_URI line');
  return example.replace(line, `KB_STORAGE_URI=s3://${bucket}/kb/`);
}

/** The one override the issue allows: endpoints of the test peers, nothing else. */
function peersOverride(s3Endpoint: string, stsEndpoint: string): string {
  return [
    '# Test peers of the simulated EC2 host (test/system/container.test.ts): endpoints only.',
    '# IMDS needs no override: it answers at 169.254.169.254, as on EC2.',
    'services:',
    '  s3-health:',
    '    environment:',
    `      AWS_ENDPOINT_URL_S3: ${s3Endpoint}`,
    `      AWS_ENDPOINT_URL_STS: ${stsEndpoint}`,
    '      # radosgw has no per-bucket DNS names: path-style URLs on its endpoint.',
    '      S3_HEALTH_S3_FORCE_PATH_STYLE: "true"',
    '',
  ].join('\n');
}

interface ProjectDir {
  dir: string;
  override: string;
}

function projectDir(sim: Ec2Sim): ProjectDir {
  const dir = mkdtempSync(join(tmpdir(), 's3h-compose-'));
  writeFileSync(join(dir, '.env.backend'), envBackend(sim.aws.bucket));
  const override = join(dir, 'docker-compose.peers.yml');
  writeFileSync(override, peersOverride(sim.aws.s3Endpoint, sim.aws.stsEndpoint));
  return { dir, override };
}

/** Compose v1 arguments for the repository's compose file plus the peers override. */
function composeArgs(p: ProjectDir, project: string): string[] {
  const file = join(REPO_ROOT, 'docker-compose.yml');
  return ['-f', file, '-f', p.override, '--project-directory', p.dir, '-p', project];
}

const seconds = (ms: number) => Math.round(ms / 100) / 10;

describe('the s3-health image and docker-compose.yml on a simulated EC2 host', () => {
  let sim: Ec2Sim | undefined;
  let engine: DockerEngine | undefined;
  let project: ProjectDir | undefined;
  let broken: ProjectDir | undefined;
  let composed: StartedDockerComposeEnvironment | undefined;
  let names: string[] = [];
  const tmpDirs: string[] = [];
  const figures: Record<string, number | string> = {};
  /** build arguments the standard target needs here (npm ci --offline when there is no route out) */
  const standardArgs: Record<string, string> = {};

  const s = (): Ec2Sim => {
    if (!sim) throw new Error('the simulated instance did not start');
    return sim;
  };
  const e = (): DockerEngine => {
    if (!engine) throw new Error('the docker engine did not start');
    return engine;
  };
  const p = (): ProjectDir => {
    project ??= projectDir(s());
    return project;
  };
  const containerOf = async (service: string, name = PROJECT): Promise<string> => {
    const id = (await projectContainers(e(), name)).get(service);
    if (id === undefined) throw new Error(`no ${service} container in project ${name}`);
    return id;
  };
  const listProbeObjects = async (): Promise<string[]> => {
    const r = await s().execNode(
      'host',
      [LIST_OBJECTS, '--bucket', s().aws.bucket, '--prefix', PROBE_PREFIX],
      {},
      60_000,
    );
    if (r.code !== 0) throw new Error(`list-objects exited ${r.code}: ${r.stderr}`);
    return (JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as { keys: string[] }).keys;
  };
  /** HTTP from the host namespace, where compose publishes 127.0.0.1:8080. */
  const hostGet = async (path: string): Promise<{ code: number; body: string }> => {
    const r = await s().topology.execIn(
      'host',
      'curl',
      ['-sS', '--max-time', '5', '-w', '\n%{http_code}', `http://127.0.0.1:8080${path}`],
      { timeoutMs: 15_000 },
    );
    const lines = r.stdout.split('\n');
    return { code: Number(lines.pop()), body: lines.join('\n') };
  };

  beforeAll(async () => {
    const problems = preflight();
    // Fail loudly: a silent skip would hide that the container tier never ran.
    if (problems.length > 0) throw new Error(`container tier cannot run: ${problems.join('; ')}`);
    // Hop limit 2: what docs/deploy.md tells the operator to set.
    sim = await startEc2Sim({ hopLimit: 2, bucket: 's3-health-container' });
    names = Object.values(sim.topology.names);
    engine = await startDockerEngine({ netns: sim.topology.names.host });
    // testcontainers and docker-compose find this engine through the environment.
    Object.assign(process.env, engine.env, { TESTCONTAINERS_HOST_OVERRIDE: 'localhost' });
    figures.engineStartMs = engine.timings.startMs;
    figures.awsSideStartMs = sim.aws.startMs;
  }, 300_000);

  afterAll(async () => {
    try {
      for (const [name, dir] of [
        [PROJECT, project],
        [BROKEN_PROJECT, broken],
      ] as const) {
        if (engine && dir) await engine.compose([...composeArgs(dir, name), 'down', '-t', '2']);
      }
    } finally {
      await engine?.stop();
      await sim?.close();
      for (const dir of [project?.dir, broken?.dir, ...tmpDirs]) {
        if (dir) rmSync(dir, { recursive: true, force: true });
      }
    }
    writeFileSync(FIGURES_FILE, `${JSON.stringify(figures, null, 2)}\n`);
    console.log(`container tier figures (also in ${FIGURES_FILE}):\n${JSON.stringify(figures)}`);
    const left = (await listNamespaces()).filter((n) => names.includes(n));
    expect(left, 'namespaces left behind').toEqual([]);
  }, 180_000);

  it('docker-compose config accepts docker-compose.yml with .env.backend.example', async () => {
    const dir = mkdtempSync(join(tmpdir(), 's3h-compose-config-'));
    tmpDirs.push(dir);
    copyFileSync(join(REPO_ROOT, '.env.backend.example'), join(dir, '.env.backend'));
    const args = ['-f', join(REPO_ROOT, 'docker-compose.yml'), '--project-directory', dir];
    const config = await run(['docker-compose', ...args, 'config'], { timeoutMs: 60_000 });
    expect(config.code, config.stderr).toBe(0);
    expect(config.stderr).toBe('');
    const services = await run(['docker-compose', ...args, 'config', '--services'], {
      timeoutMs: 60_000,
    });
    expect(services.stdout.trim().split('\n').sort()).toEqual(
      ['chat', 'dramatiq', 'kb', 's3-health'].sort(),
    );
    // Every app service waits for the sidecar's health; nobody gets static keys.
    expect(config.stdout.match(/condition: service_healthy/g)).toHaveLength(APP_SERVICES.length);
    // (The stand-ins' script names the keys it looks for: only variables count.)
    for (const key of STATIC_KEYS) {
      expect(config.stdout).not.toMatch(new RegExp(`^\\s*-?\\s*${key}\\s*[:=]`, 'm'));
    }
    expect(config.stdout).toContain('read_only: true');
  });

  it(
    'provides the base image under its official name (local stand-in, no registry)',
    async () => {
      const base = await ensureBaseImage(e());
      figures.baseImageSource = base.source;
      figures.baseImageSeconds = base.seconds;
      expect(base.tag).toBe('node:24-bookworm-slim');
    },
    COLD,
  );

  it(
    'builds the real Dockerfile with BuildKit from the prepared context (offline target), under 170 MB',
    async () => {
      const t0 = performance.now();
      const prepared = await run(['bash', 'scripts/prepare-image-context.sh'], {
        cwd: REPO_ROOT,
        timeoutMs: 10 * 60_000,
      });
      expect(prepared.code, `${prepared.stdout}\n${prepared.stderr}`).toBe(0);
      figures.prepareContextSeconds = seconds(performance.now() - t0);

      const t1 = performance.now();
      const built = await e().build(REPO_ROOT, IMAGE, join(REPO_ROOT, 'Dockerfile'), OFFLINE);
      expect(built.code, built.stderr.slice(-4000)).toBe(0);
      figures.buildColdSeconds = seconds(performance.now() - t1);

      // Warm: nothing changed, every layer from the cache.
      const t2 = performance.now();
      const again = await e().build(REPO_ROOT, IMAGE, join(REPO_ROOT, 'Dockerfile'), OFFLINE);
      expect(again.code, again.stderr.slice(-4000)).toBe(0);
      figures.buildWarmSeconds = seconds(performance.now() - t2);
      expect(again.stderr).toMatch(/CACHED/);

      const [image] = JSON.parse((await e().exec(['image', 'inspect', IMAGE])).stdout) as {
        Size: number;
        Config: {
          User: string;
          Entrypoint: string[];
          Cmd: string[];
          Env: string[];
          Healthcheck: { Test: string[] };
        };
      }[];
      if (image === undefined) throw new Error(`no image ${IMAGE}`);
      const [baseImage] = JSON.parse(
        (await e().exec(['image', 'inspect', 'node:24-bookworm-slim'])).stdout,
      ) as { Size: number }[];
      figures.imageSizeMB = Math.round(image.Size / 1e5) / 10;
      figures.baseImageSizeMB = Math.round((baseImage?.Size ?? 0) / 1e5) / 10;
      // The per-layer breakdown, for docs/deploy.md: the root of its own, then the application.
      const history = await e().exec(['history', '--format', '{{.Size}}\t{{.CreatedBy}}', IMAGE]);
      figures.layers = history.stdout
        .trim()
        .split('\n')
        .filter((l) => !l.startsWith('0B'))
        .join(' | ');
      expect(image.Size).toBeLessThanOrEqual(IMAGE_LIMIT_BYTES);
      expect(image.Config.User).toBe('1000:1000');
      expect(image.Config.Healthcheck.Test).toEqual(['CMD', 's3-health', 'check']);
      expect(image.Config.Entrypoint).toEqual(['node', '/app/dist/cli.js']);
      expect(image.Config.Cmd).toEqual(['serve']);
      expect(image.Config.Env).toContain('NODE_USE_SYSTEM_CA=1');
    },
    COLD,
  );

  it('the image holds the bundle and a stripped Node only: no node_modules, npm, corepack, yarn, shell or curl', async () => {
    // No shell in the image: Node itself looks around (read-only root, no network).
    const r = await e().exec([
      'run',
      '--rm',
      '--read-only',
      '--network',
      'none',
      '--entrypoint',
      'node',
      IMAGE,
      '-e',
      `const fs = require('node:fs');
       const found = [];
       const walk = (d) => {
         for (const ent of fs.readdirSync(d, { withFileTypes: true })) {
           const p = d === '/' ? '/' + ent.name : d + '/' + ent.name;
           if (['/proc', '/sys', '/dev'].includes(p)) continue;
           found.push(p);
           if (ent.isDirectory()) walk(p);
         }
       };
       walk('/');
       const named = (re) => found.filter((p) => re.test(p.split('/').pop()));
       const mode = (p) => { const st = fs.statSync(p); return (st.mode & 0o777).toString(8) + ' ' + st.uid; };
       console.log(JSON.stringify({
         files: found.length,
         nodeModules: found.filter((p) => p.includes('node_modules')).length,
         managers: named(/^(npm|npx|corepack|yarn|yarnpkg|pnpm)(\\.c?js)?$/),
         shells: named(/^(sh|bash|dash|ash|busybox|curl|wget|apt|apt-get|dpkg)$/),
         app: fs.readdirSync('/app/dist').sort(),
         certs: fs.readFileSync('/etc/ssl/certs/ca-certificates.crt', 'utf8').match(/BEGIN CERTIFICATE/g).length,
         perms: ['/app', '/app/dist/cli.js', '/app/compile-cache'].map(mode),
         nodeBytes: fs.statSync('/usr/local/bin/node').size,
         namedNativeFrames: process.report.getReport().nativeStack.filter((f) => f.symbol.includes('node::')).length,
       }));`,
    ]);
    expect(r.code, r.stderr).toBe(0);
    const seen = JSON.parse(r.stdout) as {
      files: number;
      nodeModules: number;
      managers: string[];
      shells: string[];
      app: string[];
      certs: number;
      perms: string[];
      nodeBytes: number;
      namedNativeFrames: number;
    };
    expect(seen.nodeModules, 'node_modules in the image').toBe(0);
    expect(seen.managers, 'package managers in the image').toEqual([]);
    expect(seen.shells, 'shells, curl or apt in the image').toEqual([]);
    expect(seen.app).toEqual(['cli.js', 'commands.js', 'licenses.txt']);
    expect(seen.certs).toBeGreaterThan(100);
    // Node stripped (scripts/prepare-image-context.sh: 126.6 MB as npm ships it),
    // and a crash report still names its native frames (the dynamic symbols stay).
    expect(seen.nodeBytes).toBeLessThan(115e6);
    expect(seen.namedNativeFrames).toBeGreaterThan(0);
    figures.nodeBinaryMB = Math.round(seen.nodeBytes / 1e5) / 10;
    figures.imageFiles = seen.files;
    figures.caBundleCertificates = seen.certs;
    // Code owned by root and not writable by the runtime user.
    expect(seen.perms).toEqual(['755 0', '755 0', '755 0']);
  });

  it('Node in the image trusts the system CA bundle (NODE_USE_SYSTEM_CA=1)', async () => {
    // The bundle is Node's own roots written out: every certificate in it is among Node's defaults.
    const roots = await e().exec([
      'run',
      '--rm',
      '--network',
      'none',
      '--entrypoint',
      'node',
      IMAGE,
      '-e',
      `const { X509Certificate } = require('node:crypto');
       const fp = (pem) => new X509Certificate(pem).fingerprint256;
       const bundle = require('node:fs').readFileSync('/etc/ssl/certs/ca-certificates.crt', 'utf8')
         .match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g);
       const trusted = new Set(require('node:tls').getCACertificates('default').map(fp));
       console.log(JSON.stringify({ bundle: bundle.length, untrusted: bundle.filter((c) => !trusted.has(fp(c))).length }));`,
    ]);
    expect(roots.code, roots.stderr).toBe(0);
    const coverage = JSON.parse(roots.stdout) as { bundle: number; untrusted: number };
    expect(coverage.bundle).toBeGreaterThan(100);
    expect(coverage.untrusted).toBe(0);

    // A root Node does not carry, placed in the system bundle: trusted only
    // through NODE_USE_SYSTEM_CA (a real TLS handshake inside the container).
    const tls = makeTlsFixture();
    tmpDirs.push(tls.dir);
    const handshake = async (extra: string[]) => {
      const r = await e().exec([
        'run',
        '--rm',
        '--read-only',
        '--network',
        'none',
        '-v',
        `${tls.dir}:/tls:ro`,
        '-v',
        `${join(tls.dir, tls.files.caCert)}:/etc/ssl/certs/ca-certificates.crt:ro`,
        ...extra,
        '--entrypoint',
        'node',
        IMAGE,
        '-e',
        TLS_PROBE,
      ]);
      expect(r.code, r.stderr).toBe(0);
      return JSON.parse(r.stdout) as { trusted: boolean; code?: string };
    };
    expect(await handshake([])).toMatchObject({ trusted: true });
    const without = await handshake(['-e', 'NODE_USE_SYSTEM_CA=0']);
    expect(without.trusted).toBe(false);
    expect(without.code).toMatch(/UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT/);
  });

  it(
    'the classic builder (docker-compose v1 build) builds the same Dockerfile (offline target)',
    async () => {
      const t0 = performance.now();
      const built = await e().build(REPO_ROOT, CLASSIC_TAG, join(REPO_ROOT, 'Dockerfile'), {
        builder: 'legacy',
        ...OFFLINE,
      });
      expect(built.code, built.stderr.slice(-4000)).toBe(0);
      figures.buildClassicColdSeconds = seconds(performance.now() - t0);
      const help = await e().exec(['run', '--rm', '--read-only', CLASSIC_TAG, '--help']);
      expect(help.code, help.stderr).toBe(0);
      expect(help.stdout).toContain('usage: s3-health');
      await e().exec(['rmi', CLASSIC_TAG]);
    },
    COLD,
  );

  it(
    'the standard target (`docker build .`: npm ci + build in a builder stage) builds, from the registry or from a filled npm cache',
    async () => {
      const tag = 's3-health:standard';
      const why = await noRouteOut(e().netns);
      const buildArgs: Record<string, string> = {};
      if (why === undefined) {
        figures.standardBuild = 'npm ci from the registry';
      } else {
        // Loud on purpose: this tier cannot build the standard path as a user's machine does.
        console.warn(
          `\n*** container tier: the standard build's npm ci cannot reach the registry here: ${why}.\n*** Building the same target with npm ci --offline against the Dockerfile's npm cache mount, filled from an npm cache the host filled from the registry.\n`,
        );
        const t0 = performance.now();
        const cache = await hostNpmCache(REPO_ROOT);
        await seedNpmCacheMount(e(), cache.dir, 'node:24-bookworm-slim');
        figures.npmCacheSeconds = seconds(performance.now() - t0);
        figures.standardBuild = `npm ci --offline from a filled cache (no route: ${why})`;
        buildArgs.NPM_CONFIG_OFFLINE = 'true';
      }
      Object.assign(standardArgs, buildArgs);
      const t1 = performance.now();
      const built = await e().build(REPO_ROOT, tag, join(REPO_ROOT, 'Dockerfile'), {
        buildArgs,
        timeoutMs: 20 * 60_000,
      });
      expect(built.code, built.stderr.slice(-4000)).toBe(0);
      figures.buildStandardSeconds = seconds(performance.now() - t1);
      // The builder stage really ran npm ci and the build (not the prepared context).
      expect(built.stderr).toMatch(/\[build \d+\/\d+\] RUN --mount=type=cache.*npm ci/);
      expect(built.stderr).toMatch(/\[build \d+\/\d+\] RUN npm run build/);
      const [image] = JSON.parse((await e().exec(['image', 'inspect', tag])).stdout) as {
        Size: number;
        Config: { User: string; Healthcheck: { Test: string[] } };
      }[];
      figures.imageStandardSizeMB = Math.round((image?.Size ?? 0) / 1e5) / 10;
      expect(image?.Size).toBeLessThanOrEqual(IMAGE_LIMIT_BYTES);
      expect(image?.Config.User).toBe('1000:1000');
      expect(image?.Config.Healthcheck.Test).toEqual(['CMD', 's3-health', 'check']);
      const help = await e().exec([
        'run',
        '--rm',
        '--read-only',
        '--network',
        'none',
        tag,
        '--help',
      ]);
      expect(help.code, help.stderr).toBe(0);
      expect(help.stdout).toContain('usage: s3-health');
      await e().exec(['rmi', tag]);
    },
    30 * 60_000,
  );

  it(
    "`docker-compose build` builds the compose file's s3-health (context ., the standard target) with BuildKit",
    async () => {
      // Compose v1 builds with BuildKit through the docker CLI when asked; the
      // 20.10 client (/usr/bin) is the one with BuildKit here. `build: .` is
      // the project directory: a clean checkout of the working tree, with the
      // user's .env.backend. The image it tags (s3-health:latest) is the one
      // the compose tests below run.
      const clone = await cleanCheckout(REPO_ROOT);
      tmpDirs.push(clone);
      expect(existsSync(join(clone, 'node_modules')) || existsSync(join(clone, 'build'))).toBe(
        false,
      );
      writeFileSync(join(clone, '.env.backend'), envBackend(s().aws.bucket));
      const args = Object.entries(standardArgs).flatMap(([k, v]) => ['--build-arg', `${k}=${v}`]);
      const t0 = performance.now();
      const built = await e().compose(
        ['--project-directory', clone, '-p', PROJECT, 'build', ...args, 's3-health'],
        {
          cwd: clone,
          env: {
            COMPOSE_DOCKER_CLI_BUILD: '1',
            DOCKER_BUILDKIT: '1',
            PATH: `/usr/bin:${process.env.PATH ?? ''}`,
          },
          timeoutMs: 20 * 60_000,
        },
      );
      expect(built.code, built.stderr.slice(-4000)).toBe(0);
      figures.composeBuildSeconds = seconds(performance.now() - t0);
      const out = built.stdout + built.stderr;
      expect(out).toMatch(/\[build \d+\/\d+\] RUN --mount=type=cache.*npm ci/);
      expect(out).toMatch(/\[standard \d+\/\d+\] COPY --from=app-standard/);
      const [image] = JSON.parse((await e().exec(['image', 'inspect', IMAGE])).stdout) as {
        Size: number;
      }[];
      expect(image?.Size).toBeLessThanOrEqual(IMAGE_LIMIT_BYTES);
    },
    20 * 60_000,
  );

  it('compose up: the sidecar turns healthy, and only then do kb, chat and dramatiq start', async () => {
    const dir = p();
    const t0 = Date.now();
    composed = await new DockerComposeEnvironment(REPO_ROOT, ['docker-compose.yml', dir.override])
      .withProjectName(PROJECT)
      .withClientOptions({
        // Compose v1 is the only compose here; the relative paths in the
        // compose file (env_file) resolve against the test's project directory.
        executable: { standalone: true, executablePath: 'docker-compose' },
        composeOptions: ['--project-directory', dir.dir],
      })
      .withWaitStrategy(`${PROJECT}_s3-health_1`, Wait.forHealthCheck())
      .withDefaultWaitStrategy(Wait.forLogMessage(/stand-in started/))
      .withStartupTimeout(150_000)
      .up();
    const tUp = Date.now();
    figures.composeUpSeconds = seconds(tUp - t0);

    const events = await projectEvents(e(), PROJECT, t0 / 1000 - 1, Date.now() / 1000 + 1);
    const sidecarId = await containerOf('s3-health');
    const at = (id: string, action: string) =>
      events.find((ev) => ev.Actor.ID === id && ev.Action === action)?.timeNano;
    const sidecarStart = at(sidecarId, 'start');
    const healthy = at(sidecarId, 'health_status: healthy');
    if (sidecarStart === undefined || healthy === undefined)
      throw new Error(`no start/healthy event: ${JSON.stringify(events.map((ev) => ev.Action))}`);
    figures.upToHealthySeconds = seconds(healthy / 1e6 - t0);
    figures.startToHealthySeconds = seconds((healthy - sidecarStart) / 1e6);
    for (const service of APP_SERVICES) {
      const id = await containerOf(service);
      const started = at(id, 'start');
      expect(started, `${service} start event`).toBeDefined();
      expect(started, `${service} started before s3-health was healthy`).toBeGreaterThan(healthy);
      // testcontainers' handle on the service is the very container compose started.
      expect(composed.getContainer(`${PROJECT}_${service}_1`).getId()).toBe(id);
    }
  }, 180_000);

  it('docker inspect shows the healthcheck passing through `s3-health check`', async () => {
    const c = await inspectContainer(e(), await containerOf('s3-health'));
    expect(c.State.Health?.Status).toBe('healthy');
    expect(c.State.Health?.FailingStreak).toBe(0);
    const last = c.State.Health?.Log?.at(-1);
    expect(last?.ExitCode).toBe(0);
    expect(last?.Output).toMatch(/^200 \{/);
    expect(c.Config.Healthcheck?.Test).toEqual(['CMD', 's3-health', 'check']);

    const health = await hostGet('/healthz');
    expect(health.code).toBe(200);
    const doc = JSON.parse(health.body) as { status: string; serviceId: string };
    expect(doc.status).toBe('pass');
    expect(doc.serviceId).toBe(c.Config.Hostname);
    const metrics = await hostGet('/metrics');
    expect(metrics.body).toMatch(/^s3_health_up 1$/m);
    expect(metrics.body).toMatch(/^s3_health_check_success\{check="s3"\} 1$/m);
  });

  it('runs as a non-root user on a read-only root, without capabilities, under an init', async () => {
    const id = await containerOf('s3-health');
    const c = await inspectContainer(e(), id);
    expect(c.Config.User).toBe('1000:1000');
    expect(c.HostConfig.ReadonlyRootfs).toBe(true);
    expect(c.HostConfig.Init).toBe(true);
    expect(c.HostConfig.CapDrop).toContain('ALL');
    expect(c.HostConfig.SecurityOpt).toContain('no-new-privileges:true');

    // As the kernel sees them: the init as PID 1, Node as its child, both uid 1000.
    const init = c.State.Pid;
    expect(processArgv(init)[0]).toMatch(/docker-init$/);
    const [node] = processChildren(init);
    if (node === undefined) throw new Error('the init has no child');
    expect(processArgv(node)).toEqual(['node', '/app/dist/cli.js', 'serve']);
    for (const pid of [init, node])
      expect(processUids(pid)).toEqual({ real: 1000, effective: 1000 });

    // Even root cannot write the root filesystem; /tmp is the tmpfs.
    const write = await e().exec([
      'exec',
      '-u',
      '0',
      id,
      'node',
      '-e',
      `const fs = require('node:fs');
       try { fs.writeFileSync('/written', 'x'); console.log('root-written'); } catch (e) { console.log(e.code); }
       fs.writeFileSync('/tmp/ok', 'x'); console.log('tmp-ok');`,
    ]);
    expect(write.stdout).toContain('EROFS');
    expect(write.stdout).toContain('tmp-ok');
  });

  it('no container has AWS keys in its environment; the app stand-ins saw none', async () => {
    for (const service of ['s3-health', ...APP_SERVICES]) {
      const c = await inspectContainer(e(), await containerOf(service));
      const env = envOf(c);
      for (const key of STATIC_KEYS) expect(env[key], `${service} has ${key}`).toBeUndefined();
      expect(env.AWS_REGION).toBe('eu-west-1');
      expect(env.KB_STORAGE_URI).toBe(`s3://${s().aws.bucket}/kb/`);
      if (service !== 's3-health') {
        const logs = await containerLogs(e(), c.Id);
        expect(logs).toContain(`${service} stand-in started`);
        expect(logs).toContain('static keys: none');
      }
    }
    const verbose = await hostGet('/healthz?verbose');
    expect(verbose.body).toContain('[+]environment ok');
  });

  it('SIGTERM (docker stop): exit code 0 well before the kill, no probe object left', async () => {
    const id = await containerOf('s3-health');
    const t0 = performance.now();
    // A generous timeout: exit code 0 (not 137) is what proves SIGTERM was handled.
    const stop = await e().exec(['stop', '-t', '30', id], { timeoutMs: 60_000 });
    figures.stopWithInitSeconds = seconds(performance.now() - t0);
    expect(stop.code, stop.stderr).toBe(0);
    const c = await inspectContainer(e(), id);
    expect(c.State.Running).toBe(false);
    expect(c.State.OOMKilled).toBe(false);
    expect(c.State.ExitCode).toBe(0);
    const logs = await containerLogs(e(), id);
    expect(logs).toContain('shutting down');
    expect(logs).toContain('"msg":"stopped"');
    expect(await listProbeObjects()).toEqual([]);
  });

  /** `docker run` arguments of a sidecar on the compose network, pointed at the sim's plain-HTTP peers. */
  const onSimPeers = (dir: ProjectDir): string[] => [
    '--network',
    `${PROJECT}_default`,
    '--env-file',
    join(dir.dir, '.env.backend'),
    '-e',
    `AWS_ENDPOINT_URL_S3=${s().aws.s3Endpoint}`,
    '-e',
    `AWS_ENDPOINT_URL_STS=${s().aws.stsEndpoint}`,
    '-e',
    'S3_HEALTH_S3_FORCE_PATH_STYLE=true',
  ];

  it('through the egress proxy to S3 over HTTPS, the CA mounted as docs/deploy.md says', async () => {
    const dir = p();
    const aws = s().aws;
    const diagnoseThroughProxy = (extra: string[]) =>
      e().exec([
        'run',
        '--rm',
        '--read-only',
        '--network',
        `${PROJECT}_default`,
        '--env-file',
        join(dir.dir, '.env.backend'),
        ...extra,
        '-e',
        `HTTPS_PROXY=${aws.proxyUrl}`,
        '-e',
        'NO_PROXY=169.254.169.254,localhost,127.0.0.1',
        '-e',
        `AWS_ENDPOINT_URL_S3=${aws.s3TlsEndpoint}`,
        '-e',
        `AWS_ENDPOINT_URL_STS=${aws.stsEndpoint}`,
        '-e',
        'S3_HEALTH_S3_FORCE_PATH_STYLE=true',
        IMAGE,
        'diagnose',
        '--json',
      ]);
    const before = readProxyLog(aws.proxyLog).length;
    const r = await diagnoseThroughProxy([
      '-v',
      `${aws.caFile}:/etc/s3-health/ca.pem:ro`,
      '-e',
      'NODE_EXTRA_CA_CERTS=/etc/s3-health/ca.pem',
    ]);
    const doc = JSON.parse(r.stdout) as {
      checks: { check: string; status: string; reason?: string }[];
    };
    const byCheck = Object.fromEntries(
      doc.checks.map((c) => [c.check, `${c.status}${c.reason ? `:${c.reason}` : ''}`]),
    );
    expect(byCheck, r.stderr).toMatchObject({ imds: 'pass', credentials: 'pass', s3: 'pass' });
    expect(r.code).toBeLessThanOrEqual(1);
    // The image's S3 traffic went through the proxy: CONNECTs to rgw's TLS port, answered 200.
    const tlsHostPort = new URL(aws.s3TlsEndpoint).host;
    const tunnels = readProxyLog(aws.proxyLog)
      .slice(before)
      .filter((l) => l.includes(`CONNECT ${tlsHostPort}`));
    expect(tunnels.length).toBeGreaterThan(0);
    for (const t of tunnels) expect(t).toMatch(/TCP_TUNNEL\/200/);
    // Without the CA the same run fails on TLS, named.
    const untrusted = await diagnoseThroughProxy([]);
    expect(untrusted.code).toBe(2);
    expect(untrusted.stdout).toContain('tls_untrusted');
  });

  it(
    `under the compose file's own mem_limit, ${OOM_CYCLES} fast cycles: never OOM-killed, the cgroup's peak below the limit`,
    async () => {
      const dir = p();
      const limit = /^\s*mem_limit:\s*(\S+)\s*$/m.exec(
        readFileSync(join(REPO_ROOT, 'docker-compose.yml'), 'utf8'),
      )?.[1];
      expect(limit, 'docker-compose.yml sets mem_limit').toBeDefined();
      const name = `${PROJECT}-oom`;
      const started = await e().exec([
        'run',
        '-d',
        '--name',
        name,
        '--read-only',
        '--memory',
        limit ?? '',
        '--memory-swap',
        limit ?? '',
        ...onSimPeers(dir),
        '-e',
        'S3_HEALTH_INTERVAL_SECONDS=0.1',
        '-e',
        'S3_HEALTH_TIMEOUT_SECONDS=0.1',
        '-e',
        'S3_HEALTH_LOG_LEVEL=warn',
        IMAGE,
      ]);
      expect(started.code, started.stderr).toBe(0);
      const id = started.stdout.trim();
      const inContainer = async (js: string) =>
        (await e().exec(['exec', id, 'node', '-e', js])).stdout.trim();
      try {
        const t0 = performance.now();
        const cycles = await waitFor(
          `${OOM_CYCLES} cycles`,
          async () => {
            const state = (await inspectContainer(e(), id)).State;
            if (!state.Running) {
              throw new Error(
                `the sidecar stopped (exit ${state.ExitCode}, OOMKilled ${state.OOMKilled}): ${await containerLogs(e(), id)}`,
              );
            }
            const n = Number(
              await inContainer(
                "fetch('http://127.0.0.1:8080/metrics').then((r) => r.text()).then((t) => console.log(/^s3_health_cycles_total (\\d+)/m.exec(t)?.[1] ?? 0), () => console.log(0))",
              ),
            );
            return n >= OOM_CYCLES ? { done: true, value: n } : { done: false, seen: String(n) };
          },
          15 * 60_000,
          5_000,
        );
        // cgroup v2 names it memory.peak; v1 (this machine's hybrid hierarchy) max_usage_in_bytes.
        const peak = Number(
          await inContainer(
            "const fs = require('node:fs'); for (const f of ['/sys/fs/cgroup/memory.peak', '/sys/fs/cgroup/memory/memory.max_usage_in_bytes']) { try { console.log(fs.readFileSync(f, 'utf8').trim()); process.exit(0); } catch {} } console.log(0);",
          ),
        );
        const c = await inspectContainer(e(), id);
        figures.oomCycles = cycles;
        figures.oomSeconds = seconds(performance.now() - t0);
        figures.oomPeakMiB = Math.round(peak / 1048576);
        figures.oomLimit = limit ?? '';
        expect(c.State.OOMKilled).toBe(false);
        expect(c.State.Running).toBe(true);
        expect(peak).toBeGreaterThan(0);
        expect(peak).toBeLessThan(parseMemory(limit ?? '0'));
      } finally {
        await e().exec(['rm', '-f', id]);
      }
    },
    20 * 60_000,
  );

  it('without an init, Node as PID 1 handles SIGTERM too (docker run, no --init)', async () => {
    const dir = p();
    const name = `${PROJECT}-pid1`;
    const started = await e().exec([
      'run',
      '-d',
      '--name',
      name,
      '--read-only',
      '--tmpfs',
      '/tmp',
      ...onSimPeers(dir),
      IMAGE,
    ]);
    expect(started.code, started.stderr).toBe(0);
    const id = started.stdout.trim();
    try {
      const c = await inspectContainer(e(), id);
      expect(processArgv(c.State.Pid)).toEqual(['node', '/app/dist/cli.js', 'serve']);
      expect(processUids(c.State.Pid).effective).toBe(1000);
      // Stop as soon as it serves: the first probe cycle is most likely in flight.
      await waitFor(
        'the sidecar listening',
        async () => {
          const r = await e().exec([
            'exec',
            id,
            's3-health',
            'check',
            '--url',
            'http://127.0.0.1:8080/livez',
          ]);
          return r.code === 0
            ? { done: true, value: null }
            : { done: false, seen: r.stdout.trim() };
        },
        60_000,
        200,
      );
      const t0 = performance.now();
      const stop = await e().exec(['stop', '-t', '30', id], { timeoutMs: 60_000 });
      figures.stopAsPid1Seconds = seconds(performance.now() - t0);
      expect(stop.code, stop.stderr).toBe(0);
      const after = await inspectContainer(e(), id);
      expect(after.State.ExitCode).toBe(0);
      expect(await containerLogs(e(), id)).toContain('"msg":"stopped"');
      expect(await listProbeObjects()).toEqual([]);
    } finally {
      await e().exec(['rm', '-f', id]);
    }
  });

  it('compose down removes every container of the project', async () => {
    await composed?.down({ timeout: 10_000 });
    composed = undefined;
    expect([...(await projectContainers(e(), PROJECT)).keys()]).toEqual([]);
    expect(await listProbeObjects()).toEqual([]);
  }, 120_000);

  it('hop limit 1 with HttpTokens required: the sidecar turns unhealthy and the app never starts', async () => {
    broken = projectDir(s());
    await s().topology.setHopLimit(1);
    await s().setTokensRequired(true);
    try {
      const up = await e().compose([...composeArgs(broken, BROKEN_PROJECT), 'up', '-d'], {
        timeoutMs: 240_000,
      });
      expect(up.code).not.toBe(0);
      expect(up.stderr).toMatch(/is unhealthy/);
      const sidecar = await inspectContainer(e(), await containerOf('s3-health', BROKEN_PROJECT));
      expect(sidecar.State.Health?.Status).toBe('unhealthy');
      expect(sidecar.State.Health?.Log?.at(-1)?.Output).toMatch(/^503 /);
      const verbose = await hostGet('/healthz?verbose');
      expect(verbose.code).toBe(503);
      expect(verbose.body).toContain('imds_hop_limit_tokens_required');
      for (const service of APP_SERVICES) {
        const id = (await projectContainers(e(), BROKEN_PROJECT)).get(service);
        if (id === undefined) continue; // never even created
        const c = await inspectContainer(e(), id);
        expect(c.State.StartedAt, `${service} ran`).toMatch(/^0001-01-01/);
      }
    } finally {
      await s().setTokensRequired(false);
      await s().topology.setHopLimit(2);
      await e().compose([...composeArgs(broken, BROKEN_PROJECT), 'down', '-t', '2']);
    }
  }, 300_000);
});
