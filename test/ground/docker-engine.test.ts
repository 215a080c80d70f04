// The container tier's ground: a dockerd of our own in a network and mount
// namespace of its own, a locally assembled node:24-bookworm-slim, builds with
// both builders, compose v1, and a teardown that leaves the machine as it was.
// No skipping: on a machine that cannot do this, the test fails with the reason.
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type DockerEngine,
  dockerAvailable,
  startDockerEngine,
} from '../../ground/docker/engine.ts';
import { type BaseImageResult, ensureBaseImage } from '../../ground/image/base-image.ts';
import { processAlive } from '../../ground/shared/process.ts';

// dockerd creates these wherever it runs; ours runs on a private /run.
const RUN_DIRS = ['/run/docker', '/run/containerd'];
const COLD_BUILD_TIMEOUT = 15 * 60_000;

function sh(cmd: string, args: string[]): string {
  const result = spawnSync(cmd, args, { encoding: 'utf8', timeout: 30_000 });
  if (result.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${result.stderr}`);
  return result.stdout;
}

/** What dockerd would change in the namespace it runs in, seen from the root namespace. */
function rootNamespaceState() {
  return {
    // Without the header's date and the packet counters, which move on their own.
    iptables: sh('iptables-save', [])
      .split('\n')
      .filter((l) => !l.startsWith('#'))
      .map((l) => l.replace(/\[\d+:\d+\]/g, '[]'))
      .join('\n'),
    links: sh('ip', ['-o', 'link'])
      .split('\n')
      .map((l) => l.split(':')[1]?.trim())
      .filter((n) => n !== undefined && n !== '')
      .sort(),
    routes: sh('ip', ['route']),
    ipForward: readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8'),
  };
}

/** overlay and nsfs mounts of the root mount namespace, but the named namespaces others create. */
function containerMounts(): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter((l) => / - (overlay|nsfs) /.test(l) && !l.includes(' /run/netns/'))
    .map((l) => l.split(' ')[4] ?? '')
    .sort();
}

function netnsNames(): string[] {
  return sh('ip', ['netns', 'list'])
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter((n) => n !== '');
}

function cgroupDirs(parentPrefix: string): string[] {
  const found: string[] = [];
  for (const hierarchy of readdirSync('/sys/fs/cgroup')) {
    try {
      for (const dir of readdirSync(join('/sys/fs/cgroup', hierarchy))) {
        if (dir.startsWith(parentPrefix)) found.push(join(hierarchy, dir));
      }
    } catch {
      /* a file, not a hierarchy */
    }
  }
  return found;
}

const APP = `console.log(JSON.stringify({ uid: process.getuid(), version: process.version, cwd: process.cwd() }));\n`;
const DOCKERFILE = `FROM node:24-bookworm-slim
WORKDIR /app
COPY app.js ./
USER node
CMD ["node", "app.js"]
`;
const COMPOSE = `services:
  app:
    image: s3h-ground-test:buildkit
    init: true
    command: ["node", "-e", "setInterval(() => {}, 1000)"]
    healthcheck:
      test: ["CMD", "node", "-e", "process.exit(0)"]
      interval: 1s
      timeout: 5s
      retries: 30
`;

describe('docker engine in its own namespaces', () => {
  let engine: DockerEngine | undefined;
  let before: ReturnType<typeof rootNamespaceState>;
  let rootMounts: string[];
  let runDirsBefore: boolean[];
  let context: string;

  const running = (): DockerEngine => {
    if (engine === undefined) throw new Error('engine did not start');
    return engine;
  };

  beforeAll(async () => {
    const availability = dockerAvailable();
    if (!availability.ok) throw new Error(`docker engine cannot run here: ${availability.why}`);
    before = rootNamespaceState();
    rootMounts = containerMounts();
    runDirsBefore = RUN_DIRS.map((d) => existsSync(d));
    context = mkdtempSync(join(tmpdir(), 's3h-docker-test-'));
    writeFileSync(join(context, 'app.js'), APP);
    writeFileSync(join(context, 'Dockerfile'), DOCKERFILE);
    writeFileSync(join(context, 'docker-compose.yml'), COMPOSE);
    engine = await startDockerEngine();
    process.stdout.write(`[docker] engine started in ${engine.timings.startMs} ms\n`);
  }, 120_000);

  afterAll(async () => {
    await engine?.stop();
    rmSync(context, { recursive: true, force: true });
  }, 120_000);

  it('runs dockerd outside the root network and mount namespaces', () => {
    const e = running();
    const [dockerd] = e.daemonPids();
    if (dockerd === undefined) throw new Error('no dockerd PID');
    expect(netnsNames()).toContain(e.netns);
    expect(readlinkSync(`/proc/${dockerd}/ns/net`)).not.toBe(readlinkSync('/proc/self/ns/net'));
    expect(readlinkSync(`/proc/${dockerd}/ns/mnt`)).not.toBe(readlinkSync('/proc/self/ns/mnt'));
    expect(sh('ip', ['-n', e.netns, '-o', 'link'])).toContain('docker0');
    expect(rootNamespaceState()).toEqual(before);
    expect(readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(e.stateDir);
  });

  it(
    'provides node:24-bookworm-slim without a registry',
    async () => {
      const e = running();
      const first: BaseImageResult = await ensureBaseImage(e);
      process.stdout.write(`[docker] base image: ${JSON.stringify(first)}\n`);
      expect(first.built).toBe(true);
      const again = await ensureBaseImage(e);
      expect(again).toMatchObject({ built: false, source: 'engine' });

      const run = await e.exec([
        'run',
        '--rm',
        'node:24-bookworm-slim',
        'node',
        '-e',
        'console.log(process.version)',
      ]);
      expect(run.stderr).toBe('');
      expect(run.stdout.trim()).toMatch(/^v24\.\d+\.\d+$/);

      // The official image's shape: its user, its entrypoint, no CA bundle.
      const shape = await e.exec([
        'run',
        '--rm',
        'node:24-bookworm-slim',
        'sh',
        '-c',
        'id node; getent passwd node; npm --version >/dev/null && echo npm-ok; test -e /etc/ssl/certs/ca-certificates.crt && echo has-ca || echo no-ca',
      ]);
      expect(shape.stdout).toContain('uid=1000(node) gid=1000(node)');
      expect(shape.stdout).toContain('/home/node:/bin/bash');
      expect(shape.stdout).toContain('npm-ok');
      expect(shape.stdout).toContain('no-ca');
      // Like the official entrypoint: a leading flag goes to node.
      const flag = await e.exec(['run', '--rm', 'node:24-bookworm-slim', '-p', '6*7']);
      expect(flag.stdout.trim()).toBe('42');
    },
    COLD_BUILD_TIMEOUT,
  );

  for (const builder of ['buildkit', 'legacy'] as const) {
    it(`builds FROM node:24-bookworm-slim with COPY and USER node (${builder})`, async () => {
      const e = running();
      const tag = `s3h-ground-test:${builder}`;
      const built = await e.build(context, tag, join(context, 'Dockerfile'), { builder });
      expect(built.code, built.stderr).toBe(0);
      const run = await e.exec(['run', '--rm', '--init', tag]);
      expect(run.code, run.stderr).toBe(0);
      expect(JSON.parse(run.stdout)).toMatchObject({ uid: 1000, cwd: '/app' });
      expect(JSON.parse(run.stdout).version).toMatch(/^v24\./);
    }, 120_000);
  }

  it('runs docker-compose v1 against the engine until the service is healthy', async () => {
    const e = running();
    const project = 's3hgroundtest';
    const up = await e.compose(['-p', project, 'up', '-d'], { cwd: context });
    try {
      expect(up.code, up.stderr).toBe(0);
      const ps = await e.compose(['-p', project, 'ps', '-q', 'app'], { cwd: context });
      const id = ps.stdout.trim();
      let status = '';
      for (let i = 0; i < 120 && status !== 'healthy'; i++) {
        const inspect = await e.exec(['inspect', '--format', '{{.State.Health.Status}}', id]);
        status = inspect.stdout.trim();
        if (status !== 'healthy') await new Promise((r) => setTimeout(r, 500));
      }
      expect(status).toBe('healthy');
    } finally {
      const down = await e.compose(['-p', project, 'down', '-t', '1'], { cwd: context });
      expect(down.code, down.stderr).toBe(0);
    }
  }, 120_000);

  it('leaves no namespace, daemon, mount, cgroup or rule behind', async () => {
    const e = running();
    const pids = e.daemonPids();
    expect(pids.length).toBe(2);
    await e.stop();
    process.stdout.write(
      `[docker] engine stopped in ${e.timings.stopMs} ms ${JSON.stringify(e.timings.stopPhases)}\n`,
    );
    await e.stop();
    expect(netnsNames()).not.toContain(e.netns);
    for (const pid of pids) expect(processAlive(pid), `PID ${pid}`).toBe(false);
    expect(existsSync(e.stateDir)).toBe(false);
    expect(cgroupDirs(`s3h-docker-${e.stateDir.split('/').pop()}`)).toEqual([]);
    expect(containerMounts()).toEqual(rootMounts);
    expect(readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(e.stateDir);
    expect(RUN_DIRS.map((d) => existsSync(d))).toEqual(runDirsBefore);
    expect(rootNamespaceState()).toEqual(before);
  }, 120_000);
});
