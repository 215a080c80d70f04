// A simulated EC2 instance for system tests: the three-namespace topology of
// ground/netns/netns.ts with the AWS side (IMDS on 169.254.169.254:80, a real
// radosgw and the STS endpoint on the peer address) running in the aws
// namespace. Processes in the host and container namespaces reach IMDS at
// its real default address, with no endpoint override, as on EC2.
//
// Reusable by a docker variant: start dockerd in `topology.paths.host` and
// give the containers `env()`; everything else stays the same.
import { readlinkSync, rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ImdsCounters, ImdsState } from '../imds/emulator.ts';
import { onExit } from '../shared/exit-hooks.ts';
import { FORBIDDEN_NETNS_ENV, GUARD_NODE_ARGS } from '../shared/network-guard.ts';
import type { AppSdkOutcome } from './app-sdk-probe.ts';
import type { Ec2AwsSideInfo } from './ec2-aws-side.ts';
import {
  createTopology,
  type ExecResult,
  type Role,
  type SpawnedProcess,
  type Topology,
} from './netns.ts';

export type { AppSdkOutcome } from './app-sdk-probe.ts';
export type { Ec2AwsSideInfo } from './ec2-aws-side.ts';

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const AWS_SIDE = fileURLToPath(new URL('./ec2-aws-side.ts', import.meta.url));
const APP_PROBE = fileURLToPath(new URL('./app-sdk-probe.ts', import.meta.url));

export interface Ec2Sim {
  topology: Topology;
  aws: Ec2AwsSideInfo;
  /**
   * The environment of a process on this instance: nothing from this
   * machine that steers the SDK, IMDS at its default address, S3 and STS
   * endpoints pointing at the local peers, plus `extra`.
   */
  env(extra?: Record<string, string>): NodeJS.ProcessEnv;
  setTokensRequired(required: boolean): Promise<void>;
  imdsState(): Promise<ImdsState>;
  imdsCounters(): Promise<ImdsCounters>;
  resetImdsCounters(): Promise<void>;
  /** ground/netns/app-sdk-probe.ts in a namespace: what the app's own SDK gets */
  runAppProbe(ns: Role, extraEnv?: Record<string, string>): Promise<AppSdkOutcome>;
  /** Node 24 (this process's binary) running `args` inside a namespace, cwd = repo root */
  execNode(
    ns: Role,
    args: string[],
    extraEnv?: Record<string, string>,
    timeoutMs?: number,
  ): Promise<ExecResult>;
  spawnNode(ns: Role, args: string[], extraEnv?: Record<string, string>): Promise<SpawnedProcess>;
  /** stop the AWS side, every process in the namespaces, delete them and the work dir; idempotent */
  close(): Promise<void>;
}

export interface Ec2SimOptions {
  /** initial TTL of the token PUT's answer (default 1, EC2's default) */
  hopLimit?: number | null;
  bucket?: string;
  /** how long the AWS side may take to start (radosgw dominates) */
  startTimeoutMs?: number;
  /**
   * Show the instance id as a Nitro instance does, in DMI `board_asset_tag`,
   * to the Node processes of the host and container namespaces: each runs in
   * a private mount namespace with a tmpfs over /sys/devices/virtual holding
   * the file (this VM has no DMI, and nothing outside that process sees it).
   */
  dmiAssetTag?: boolean;
}

/** `unshare` then `sh`: the tmpfs and the file, then exec the command given after the id. */
const DMI_SCRIPT = [
  'mount -t tmpfs -o size=64k,mode=0755 s3h-dmi /sys/devices/virtual',
  'mkdir -p /sys/devices/virtual/dmi/id',
  'printf "%s\\n" "$1" > /sys/devices/virtual/dmi/id/board_asset_tag',
  'shift',
  'exec "$@"',
].join(' && ');

/** The command and arguments that run `argv` with the DMI asset tag `id` in a private mount namespace. */
function withDmi(id: string, argv: string[]): [string, string[]] {
  return [
    'unshare',
    ['--mount', '--propagation', 'private', '--', 'sh', '-c', DMI_SCRIPT, 'sh', id, ...argv],
  ];
}

/** The parent's network namespace: the one place the SDK must never run unguarded. */
export function ownNetns(): string {
  return readlinkSync('/proc/self/ns/net');
}

/** This process's environment without anything that would steer an SDK or Node. */
export function neutralEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (/^(AWS_|S3_HEALTH_|VITEST|NODE_OPTIONS$)/.test(key)) continue;
    if (/^(HTTPS?|NO|ALL)_PROXY$/i.test(key)) continue;
    env[key] = value;
  }
  return {
    ...env,
    AWS_CONFIG_FILE: '/nonexistent/s3-health-system/config',
    AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/s3-health-system/credentials',
  };
}

function control(socketPath: string, method: 'GET' | 'PUT', path: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, method, path, timeout: 5000 }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (c: string) => {
        body += c;
      });
      res.on('end', () => {
        if (res.statusCode !== 200) reject(new Error(`control ${path}: ${res.statusCode} ${body}`));
        else resolve(JSON.parse(body));
      });
    });
    req.on('timeout', () => req.destroy(new Error(`control ${path}: timeout`)));
    req.on('error', reject);
    req.end();
  });
}

function lastJsonLine(text: string): string | undefined {
  return text
    .trim()
    .split('\n')
    .reverse()
    .find((l) => l.startsWith('{'));
}

export async function startEc2Sim(opts: Ec2SimOptions = {}): Promise<Ec2Sim> {
  const work = await mkdtemp(join(tmpdir(), 's3h-ec2-'));
  // A crashed run still leaves no work dir (namespaces have their own hook).
  const forgetWork = onExit(() => rmSync(work, { recursive: true, force: true }));
  let topology: Topology | undefined;
  let awsSide: SpawnedProcess | undefined;
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      // TERM lets the AWS side stop radosgw in order; the topology then
      // KILLs whatever is left in every namespace.
      await awsSide?.kill(15_000);
      await topology?.close();
      await rm(work, { recursive: true, force: true });
      forgetWork();
    })();
    return closing;
  };

  try {
    topology = await createTopology({ hopLimit: opts.hopLimit === undefined ? 1 : opts.hopLimit });
    const topo = topology;
    const socket = join(work, 'aws-control.sock');
    const forbidden = ownNetns();
    awsSide = await topo.spawnIn(
      'aws',
      process.execPath,
      [
        ...GUARD_NODE_ARGS,
        AWS_SIDE,
        '--peer-address',
        topo.awsPeerAddress,
        '--imds-address',
        topo.imdsAddress,
        '--control-socket',
        socket,
        '--bucket',
        opts.bucket ?? 's3-health-system',
      ],
      // radosgw keeps its cluster directory under TMPDIR: inside the work dir.
      { env: { ...neutralEnv(), TMPDIR: work, [FORBIDDEN_NETNS_ENV]: forbidden }, cwd: REPO_ROOT },
    );
    const side = awsSide;
    const line = await side
      .waitForOutput(/^\{.*\}$/m, opts.startTimeoutMs ?? 120_000)
      .catch((err: unknown) => {
        const why = err instanceof Error ? err.message : String(err);
        throw new Error(`AWS side did not start: ${why}\n${side.stderr().slice(-2000)}`);
      });
    const aws = JSON.parse(line[0]) as Ec2AwsSideInfo;

    const env = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => ({
      ...neutralEnv(),
      AWS_REGION: aws.identity.region,
      AWS_ENDPOINT_URL_S3: aws.s3Endpoint,
      AWS_ENDPOINT_URL_STS: aws.stsEndpoint,
      S3_HEALTH_BUCKET: aws.bucket,
      S3_HEALTH_S3_FORCE_PATH_STYLE: 'true',
      // The guard's preload lets these reach 169.254.169.254 only outside this
      // (the test's) namespace: inside the run's own, where the emulator is.
      [FORBIDDEN_NETNS_ENV]: forbidden,
      ...extra,
    });
    const nodeIn = (ns: Role, args: string[]): [string, string[]] => {
      const argv = [process.execPath, ...GUARD_NODE_ARGS, ...args];
      if (opts.dmiAssetTag && ns !== 'aws') return withDmi(aws.identity.instanceId, argv);
      return [process.execPath, argv.slice(1)];
    };
    const execNode: Ec2Sim['execNode'] = (ns, args, extraEnv = {}, timeoutMs = 60_000) =>
      topo.execIn(ns, ...nodeIn(ns, args), {
        env: env(extraEnv),
        cwd: REPO_ROOT,
        timeoutMs,
      });

    return {
      topology: topo,
      aws,
      env,
      setTokensRequired: async (required) => {
        await control(socket, 'PUT', `/tokens-required/${required}`);
      },
      imdsState: async () => (await control(socket, 'GET', '/state')) as ImdsState,
      imdsCounters: async () => (await control(socket, 'GET', '/counters')) as ImdsCounters,
      resetImdsCounters: async () => {
        await control(socket, 'PUT', '/counters/reset');
      },
      async runAppProbe(ns, extraEnv = {}) {
        const result = await execNode(ns, [APP_PROBE, '--bucket', aws.bucket], extraEnv);
        const json = lastJsonLine(result.stdout);
        if (result.code !== 0 || json === undefined) {
          throw new Error(`app SDK probe in ${ns} exited ${result.code}: ${result.stderr.trim()}`);
        }
        return JSON.parse(json) as AppSdkOutcome;
      },
      execNode,
      spawnNode: (ns, args, extraEnv = {}) =>
        topo.spawnIn(ns, ...nodeIn(ns, args), {
          env: env(extraEnv),
          cwd: REPO_ROOT,
        }),
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}
