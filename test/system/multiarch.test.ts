// Issue 19: one image name for linux/amd64 and linux/arm64. Both images are
// built from the project's Dockerfile with buildah (the arm64 RUN steps under
// QEMU), joined into one OCI image index; then the arm64 image's own root runs
// its own aarch64 Node under qemu-aarch64 (binfmt, F flag), chrooted, as the
// image's user, against the local ground over HTTPS: a healthy check, an
// AccessDenied on PUT with its reason and fix, SIGTERM. Timings under QEMU say
// nothing about a Graviton host; they are recorded, never asserted.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import {
  closeSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../ground/docker/proc.ts';
import { type Ground, startGround } from '../../ground/ground.ts';
import { ensureEmulation } from '../../ground/image/binfmt.ts';
import { type Buildah, buildahAvailable, openBuildah } from '../../ground/image/buildah.ts';
import {
  buildMultiArch,
  type IndexEntry,
  imageTag,
  type PlatformResult,
  readIndex,
} from '../../ground/image/multiarch.ts';
import { REPO_ROOT } from '../../ground/netns/ec2-sim.ts';
import { adminS3, denyActions, withProbeRole } from '../../ground/radosgw/info.ts';
import { freePorts } from '../../ground/radosgw/proc.ts';
import { type Radosgw, startRadosgw } from '../../ground/radosgw/radosgw.ts';

const FIGURES_FILE = join(tmpdir(), 's3-health-multiarch-figures.json');
const PROBE_PREFIX = 'healthcheck/';
/** the ELF header's e_machine for AArch64 */
const EM_AARCH64 = 183;

const seconds = (ms: number) => Math.round(ms / 100) / 10;

/**
 * Runs `argv` inside `root` as the image's user (1000:1000), with the image's
 * environment: a private mount namespace gives it /proc and /dev, and dies
 * with it. The network namespace is this one, where the ground listens on
 * loopback. exec keeps one PID from `unshare` to Node, so a signal sent to
 * the child reaches Node itself.
 */
function inRoot(root: string, argv: string[], env: Record<string, string>): ChildProcess {
  const script =
    'r=$1; shift; mkdir -p "$r/proc" "$r/dev" && mount -t proc proc "$r/proc" && mount --rbind /dev "$r/dev" && exec /usr/sbin/chroot --userspec=1000:1000 "$r" "$@"';
  return spawn(
    'unshare',
    ['--mount', '--propagation', 'private', '--', 'sh', '-c', script, 'sh', root, ...argv],
    { env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
}

async function runInRoot(
  root: string,
  argv: string[],
  env: Record<string, string>,
  timeoutMs = 120_000,
): Promise<{ code: number | null; stdout: string; stderr: string; ms: number }> {
  const t0 = performance.now();
  const child = inRoot(root, argv, env);
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const [code] = (await once(child, 'exit')) as [number | null];
  clearTimeout(timer);
  return { code, stdout, stderr, ms: performance.now() - t0 };
}

function elfMachine(file: string): number {
  const fd = openSync(file, 'r');
  try {
    const header = Buffer.alloc(20);
    readSync(fd, header, 0, 20, 0);
    return header.readUInt16LE(18);
  } finally {
    closeSync(fd);
  }
}

describe('one image name for linux/amd64 and linux/arm64 (arm64 run under QEMU)', () => {
  let buildah: Buildah | undefined;
  let rgw: Radosgw | undefined;
  let ground: Ground | undefined;
  let denied: Ground | undefined;
  let root = '';
  let imageEnv: Record<string, string> = {};
  let built: PlatformResult[] = [];
  let index: IndexEntry[] = [];
  const work = mkdtempSync(join(tmpdir(), 's3h-multiarch-'));
  const archive = join(work, 's3-health.oci.tar');
  const figures: Record<string, unknown> = {};

  const b = (): Buildah => {
    if (!buildah) throw new Error('buildah did not start');
    return buildah;
  };
  /** The image's own environment plus a ground's, its CA copied into the root. */
  const envFor = (g: Ground, extra: Record<string, string> = {}): Record<string, string> => {
    const ca = g.env.NODE_EXTRA_CA_CERTS;
    if (ca === undefined) throw new Error('the ground is not on HTTPS');
    copyFileSync(ca, join(root, 'tmp', 'ground-ca.pem'));
    return {
      ...imageEnv,
      ...g.env,
      NODE_EXTRA_CA_CERTS: '/tmp/ground-ca.pem',
      S3_HEALTH_HOST: '127.0.0.1',
      S3_HEALTH_LOG_LEVEL: 'warn',
      ...extra,
    };
  };

  beforeAll(async () => {
    // Loud on purpose: a tier that cannot run must not pass.
    const tools = buildahAvailable();
    if (!tools.ok) throw new Error(`multi-arch tier cannot run: ${tools.why}`);
    const emulation = await ensureEmulation('arm64');
    if (!emulation.ok) throw new Error(`multi-arch tier cannot run arm64 here: ${emulation.why}`);
    figures.binfmt = `${emulation.handler} flags ${emulation.flags}`;
    buildah = await openBuildah();
    const t0 = performance.now();
    built = await buildMultiArch(b(), { repoRoot: REPO_ROOT, out: archive, base: 'local' });
    figures.buildSeconds = seconds(performance.now() - t0);
    figures.platforms = built;
    index = await readIndex(archive);
    figures.archiveMB = Math.round(statSync(archive).size / 1e5) / 10;
    // Unpacked, as a host stores each image.
    const sizes = await b().exec(['images', '--format', '{{.Name}}:{{.Tag}} {{.Size}}']);
    figures.imageSizes = sizes.stdout
      .trim()
      .split('\n')
      .filter((l) => l.includes('s3-health:'));
    const mounted = await b().mount(imageTag('arm64'));
    root = mounted.path;
    const arm64 = index.find((e) => e.platform === 'linux/arm64');
    imageEnv = Object.fromEntries(
      (arm64?.env ?? []).map((kv) => {
        const i = kv.indexOf('=');
        return [kv.slice(0, i), kv.slice(i + 1)];
      }),
    );
    rgw = await startRadosgw();
    const info = await withProbeRole(rgw);
    ground = await startGround(info, { bucket: 's3-health-arm64' });
    denied = await startGround(info, {
      bucket: 's3-health-arm64-denied',
      sessionPolicy: denyActions(['s3:PutObject']),
    });
  }, 900_000);

  afterAll(async () => {
    try {
      await ground?.close();
      await denied?.close();
      await rgw?.stop();
    } finally {
      await buildah?.close();
      rmSync(work, { recursive: true, force: true });
      writeFileSync(FIGURES_FILE, `${JSON.stringify(figures, null, 2)}\n`);
      console.log(`multi-arch tier figures (also in ${FIGURES_FILE}):\n${JSON.stringify(figures)}`);
    }
  }, 300_000);

  it('writes one OCI image index naming linux/amd64 and linux/arm64, one image each', () => {
    expect(index.map((e) => e.platform).sort()).toEqual(['linux/amd64', 'linux/arm64']);
    expect(new Set(index.map((e) => e.digest)).size).toBe(2);
    for (const e of index) expect(e.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    // Per platform, compressed as pushed: the root of its own (Node, its
    // libraries, env, CA bundle), then /app (the bundle and its compile cache).
    figures.index = index.map((e) => ({
      platform: e.platform,
      digest: e.digest,
      layersMB: e.layers.map((l) => Math.round(l.bytes / 1e5) / 10),
    }));
    for (const e of index) expect(e.layers).toHaveLength(2);
    // The runtime's limits travel with each image.
    for (const e of index) expect(e.env).toContain('MALLOC_ARENA_MAX=2');
  });

  it('the archive is one a user pushes with another tool: skopeo reads the index and copies both images', async () => {
    const raw = await run(['skopeo', 'inspect', '--raw', `oci-archive:${archive}`], {
      timeoutMs: 60_000,
    });
    expect(raw.code, raw.stderr).toBe(0);
    const top = JSON.parse(raw.stdout) as {
      mediaType?: string;
      manifests: { platform?: { architecture: string } }[];
    };
    expect(top.manifests.map((m) => m.platform?.architecture).sort()).toEqual(['amd64', 'arm64']);
    // What `skopeo copy --all … docker://REGISTRY/…` does, into a local OCI layout instead.
    const copied = await run(
      ['skopeo', 'copy', '--all', `oci-archive:${archive}`, `oci:${join(work, 'layout')}:latest`],
      { timeoutMs: 120_000 },
    );
    expect(copied.code, copied.stderr).toBe(0);
    figures.indexMediaType = top.mediaType;
  }, 180_000);

  it('the arm64 image holds an aarch64 Node, stripped, that reports arm64', async () => {
    const node = join(root, 'usr', 'local', 'bin', 'node');
    expect(elfMachine(node)).toBe(EM_AARCH64);
    expect(statSync(node).size).toBeLessThan(115e6);
    figures.arm64NodeMB = Math.round(statSync(node).size / 1e5) / 10;
    // The compile cache was warmed at build time by this aarch64 Node, under QEMU.
    const cache = readdirSync(join(root, 'app', 'compile-cache'), { recursive: true });
    expect(cache.length).toBeGreaterThan(0);
    const r = await runInRoot(
      root,
      ['node', '-p', 'process.arch + " " + process.version'],
      imageEnv,
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toMatch(/^arm64 v24\./);
    figures.nodeStartUnderQemuSeconds = seconds(r.ms);
  });

  it('serve on arm64: healthy, `s3-health check` exits 0, build_info says linux/arm64; SIGTERM exits 0 and leaves no object', async () => {
    const g = ground;
    if (!g) throw new Error('no ground');
    const [port = 0] = await freePorts(1);
    const env = envFor(g, {
      S3_HEALTH_PORT: String(port),
      S3_HEALTH_INTERVAL_SECONDS: '5',
      S3_HEALTH_TIMEOUT_SECONDS: '5',
    });
    const t0 = performance.now();
    const serve = inRoot(root, ['node', '/app/dist/cli.js', 'serve'], env);
    let out = '';
    serve.stderr?.on('data', (d: Buffer) => {
      out += d.toString();
    });
    const exited = once(serve, 'exit') as Promise<[number | null, string | null]>;
    try {
      let status = 0;
      const deadline = Date.now() + 120_000;
      while (status !== 200) {
        if (Date.now() > deadline) throw new Error(`never healthy under QEMU: ${out.slice(-2000)}`);
        if (serve.exitCode !== null) throw new Error(`serve exited: ${out.slice(-2000)}`);
        await new Promise((r) => setTimeout(r, 500));
        status =
          (await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => undefined))?.status ?? 0;
      }
      figures.spawnToHealthyUnderQemuSeconds = seconds(performance.now() - t0);
      // The image's HEALTHCHECK: the `s3-health` link, through the root's /usr/bin/env.
      const check = await runInRoot(
        root,
        ['s3-health', 'check', '--url', `http://127.0.0.1:${port}/healthz`],
        imageEnv,
      );
      expect(check.code, check.stdout + check.stderr).toBe(0);
      expect(check.stdout).toMatch(/^200 /);
      figures.checkUnderQemuSeconds = seconds(check.ms);
      const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      expect(metrics).toMatch(/^s3_health_build_info\{[^}]*platform="linux\/arm64"[^}]*\} 1$/m);
      const cycles = Number(/^s3_health_cycles_total (\d+)/m.exec(metrics)?.[1]);
      expect(cycles).toBeGreaterThan(0);
    } finally {
      const t1 = performance.now();
      serve.kill('SIGTERM');
      const [code] = await exited;
      figures.sigtermExitUnderQemuSeconds = seconds(performance.now() - t1);
      expect(code, out.slice(-2000)).toBe(0);
    }
    const s3 = adminS3(g.rgw);
    try {
      const left = await s3.send(
        new ListObjectsV2Command({ Bucket: g.bucket, Prefix: PROBE_PREFIX }),
      );
      expect((left.Contents ?? []).map((o) => o.Key)).toEqual([]);
    } finally {
      s3.destroy();
    }
  }, 300_000);

  it('a buildah store left by a killed run is removed by the next run, mounts first', async () => {
    // The owner file names a PID that is not running (pid_max is below 2^22).
    const stale = '/var/lib/s3h-buildah/stale000';
    mkdirSync(join(stale, 'overlay'), { recursive: true });
    writeFileSync('/var/lib/s3h-buildah/stale000.owner', '4194304 0\n');
    const next = await openBuildah();
    try {
      expect(existsSync(stale)).toBe(false);
      expect(existsSync('/var/lib/s3h-buildah/stale000.owner')).toBe(false);
      // The store of this run (its owner alive) is left alone.
      expect(existsSync(b().root)).toBe(true);
    } finally {
      await next.close();
    }
    expect(existsSync(next.root)).toBe(false);
  });

  it('diagnose on arm64: an AccessDenied on PUT is reported with its reason and a fix naming the bucket', async () => {
    const g = denied;
    if (!g) throw new Error('no ground');
    const r = await runInRoot(
      root,
      ['node', '/app/dist/cli.js', 'diagnose', '--json'],
      envFor(g, { S3_HEALTH_TIMEOUT_SECONDS: '20' }),
      240_000,
    );
    figures.diagnoseUnderQemuSeconds = seconds(r.ms);
    expect(r.code, r.stderr).toBe(2);
    const report = JSON.parse(r.stdout) as {
      status: string;
      checks: {
        check: string;
        reason?: string;
        remediation?: { title: string; cause: string; fix: unknown };
      }[];
    };
    expect(report.status).toBe('fail');
    const s3 = report.checks.find((c) => c.check === 's3');
    expect(s3?.reason).toBe('s3_access_denied');
    expect(s3?.remediation?.title).toContain('s3:PutObject');
    const fix = JSON.stringify(s3?.remediation?.fix);
    expect(fix).toContain('s3:PutObject');
    expect(fix).toContain(`arn:aws:s3:::${g.bucket}`);
  }, 300_000);
});
