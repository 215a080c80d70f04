// A real single-node Ceph radosgw (mon + memstore OSD + rgw) on loopback,
// started without systemd for tests and manual work. S3 SigV4, bucket
// policies, STS AssumeRole with session policies and SSE-KMS (rgw's
// `testing` key backend) are all really enforced by rgw.
//
// CLI: `npx node ground/radosgw/radosgw.ts` prints one JSON line and runs until
// SIGINT/SIGTERM.
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { STSClient } from '@aws-sdk/client-sts';
import { onPath } from '../shared/process.ts';
import { type GroundTls, groundTls } from '../tls/ca.ts';
import {
  type CephLayout,
  cephConf,
  MON_ID,
  monAddrs,
  OSD_ID,
  RGW_NAME,
  RGW_POOLS,
} from './conf.ts';
import { assumeRoleWith, type StaticCreds, type TempCreds } from './creds.ts';
import {
  type Daemon,
  freePorts,
  runTool,
  spawnDaemon,
  stopDaemon,
  tail,
  waitForHttp,
} from './proc.ts';

export interface AssumeRoleOptions {
  roleArn: string;
  sessionName?: string;
  /** 900 up to the role's MaxSessionDuration (3600 by default). */
  durationSeconds?: number;
  /** Inline session policy: narrows the role's rights for this session only. */
  sessionPolicy?: object;
  /** Caller of AssumeRole; defaults to `admin` (the principal roles trust). */
  caller?: StaticCreds;
}

export interface Radosgw {
  /** http://127.0.0.1:PORT */
  endpoint: string;
  /** https://127.0.0.2:PORT, with a certificate from the cluster's own CA (`caFile`) */
  httpsEndpoint: string;
  /** The CA that signed rgw's certificate: trusted by nobody unless told. */
  caFile: string;
  /** rgw accepts any region in the SigV4 scope; 'us-east-1' keeps CreateBucket free of a LocationConstraint. */
  region: string;
  /** uid `admin`: owns the buckets it creates; every role created here trusts it. */
  admin: StaticCreds;
  /** rgw users without a tenant have no account: ARNs read `arn:aws:iam:::role/NAME`. */
  accountId: string;
  /** Key ids served by rgw's `testing` KMS backend (SSEKMSKeyId values). */
  kmsKeys: string[];
  /** Creates a role trusted by `admin`, with `policy` as its permission policy; returns its ARN. */
  createRole(name: string, policy: object): Promise<string>;
  /** Real STS AssumeRole against rgw. */
  assumeRole(opts: AssumeRoleOptions): Promise<TempCreds>;
  /** Creates a bucket owned by `admin`. */
  createBucket(name: string): Promise<void>;
  /** Another rgw user (its own buckets, subject to bucket policies of others). */
  createUser(uid: string): Promise<StaticCreds>;
  /** An S3 client for this rgw with the given credentials (path style, no checksum trailers). */
  s3(creds: StaticCreds | TempCreds): S3Client;
  /** An STS client for this rgw. */
  sts(creds: StaticCreds): STSClient;
  /** Stops rgw, OSD and mon by PID and removes the directory; idempotent. */
  stop(): Promise<void>;
  /** Daemon logs (removed by stop()). */
  logDir: string;
  /** PIDs of the daemons, for liveness checks. */
  pids: { mon: number; osd: number; rgw: number };
  /** Milliseconds from call to admin user ready. */
  startMs: number;
  /** Milliseconds from call to the end of each start-up phase. */
  phases: Record<string, number>;
}

export interface StartOptions {
  /** S3 port; a free one is picked by default. */
  port?: number;
  /** Keep the directory after stop() (and after a failed start), for post-mortems. */
  keepDir?: boolean;
  /** Extra or overriding rgw settings (`[client.rgw.a]`), e.g. `{ 'debug rgw': '20' }`. */
  rgwConf?: Readonly<Record<string, string>>;
}

const BINARIES = ['monmaptool', 'ceph-mon', 'ceph-osd', 'ceph', 'radosgw', 'radosgw-admin'];
const REGION = 'us-east-1';
const ADMIN_UID = 'admin';

export function radosgwInstalled(): boolean {
  return BINARIES.every(onPath);
}

function randomAlnum(n: number, alphabet: string): string {
  const bytes = randomBytes(n);
  let s = '';
  for (const b of bytes) s += alphabet[b % alphabet.length];
  return s;
}

const UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
const MIXED = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

function newKeys(): StaticCreds {
  return { accessKeyId: randomAlnum(20, UPPER), secretAccessKey: randomAlnum(40, MIXED) };
}

function trustPolicy(uid: string): string {
  return JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Principal: { AWS: [`arn:aws:iam:::user/${uid}`] },
        Action: ['sts:AssumeRole'],
      },
    ],
  });
}

/** A daemon exited while the cluster was starting (a port taken in between, most likely). */
class DaemonDied extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DaemonDied';
  }
}

export async function startRadosgw(opts: StartOptions = {}): Promise<Radosgw> {
  if (!radosgwInstalled()) {
    throw new Error(
      `radosgw is not installed: need ${BINARIES.join(', ')} on PATH ` +
        '(apt-get install -y --no-install-recommends radosgw ceph-mon ceph-osd)',
    );
  }
  try {
    return await startOnce(opts);
  } catch (err) {
    // Ports picked here are free when picked, not when bound: another
    // process may win the race. One more try with new ports.
    if (opts.port === undefined && err instanceof Error && err.cause instanceof DaemonDied) {
      return await startOnce(opts);
    }
    throw err;
  }
}

/** One cluster while it starts and runs: its files, its daemons, its CLI sessions. */
interface Cluster {
  readonly dir: string;
  /** rgw's certificate and the CA that signed it */
  readonly tls: GroundTls;
  readonly logDir: string;
  readonly conf: string;
  readonly env: NodeJS.ProcessEnv;
  readonly layout: CephLayout;
  readonly keepDir: boolean;
  readonly daemons: Daemon[];
  /** Kills CLI tools still waiting on a cluster that failed to start. */
  readonly startAbort: AbortController;
  /** Rejects once a daemon exits before stop(): see daemon(). */
  readonly death: Promise<never>;
  readonly died: (err: Error) => void;
  stopping: Promise<void> | undefined;
  readonly t0: number;
  readonly phases: Record<string, number>;
}

/** A fresh directory with ceph.conf for a cluster on newly picked ports. */
async function newCluster(opts: StartOptions, t0: number): Promise<Cluster> {
  const dir = await mkdtemp(join(tmpdir(), 'radosgw-'));
  for (const sub of ['log', 'run', 'mon', 'osd', 'rgw', 'crash']) mkdirSync(join(dir, sub));

  const [monV1Port, monV2Port, picked, tlsPort] = await freePorts(4);
  if (
    monV1Port === undefined ||
    monV2Port === undefined ||
    picked === undefined ||
    tlsPort === undefined
  ) {
    throw new Error('no free ports');
  }
  const tls = groundTls(join(dir, 'tls'));
  const layout: CephLayout = {
    dir,
    fsid: randomUUID(),
    monV1Port,
    monV2Port,
    rgwPort: opts.port ?? picked,
    rgwTlsPort: tlsPort,
    tlsCombined: tls.combinedFile,
    stsKey: randomBytes(8).toString('hex'),
    kmsKeys: {
      'testkey-1': randomBytes(32).toString('base64'),
      'testkey-2': randomBytes(32).toString('base64'),
      // Named like a KMS alias: rgw's key list has no aliases, so a PUT with
      // `alias/…` works only with a key of that very name (HEAD echoes it).
      'alias/s3-health-test': randomBytes(32).toString('base64'),
    },
    ...(opts.rgwConf === undefined ? {} : { rgwExtra: opts.rgwConf }),
  };
  const conf = join(dir, 'ceph.conf');
  writeFileSync(conf, cephConf(layout));
  let died: (err: Error) => void = () => {};
  const death = new Promise<never>((_, reject) => {
    died = reject;
  });
  death.catch(() => {});
  return {
    dir,
    logDir: join(dir, 'log'),
    conf,
    env: { ...process.env, CEPH_CONF: conf },
    layout,
    tls,
    keepDir: opts.keepDir === true,
    daemons: [],
    startAbort: new AbortController(),
    death,
    died,
    stopping: undefined,
    t0,
    phases: {},
  };
}

function mark(c: Cluster, phase: string): void {
  c.phases[phase] = Math.round(performance.now() - c.t0);
}

function tool(c: Cluster, cmd: string, args: string[], input?: string) {
  return runTool(cmd, ['-c', c.conf, ...args], {
    env: c.env,
    cwd: c.dir,
    signal: c.startAbort.signal,
    ...(input === undefined ? {} : { input }),
  });
}

// A daemon dying during start-up (port taken, bad setting) would otherwise
// surface only as a CLI connect timeout 30 s later: fail at once instead.
function daemon(c: Cluster, name: string, cmd: string, args: string[]): Daemon {
  const d = spawnDaemon(name, cmd, ['-c', c.conf, '-f', ...args], {
    logFile: join(c.logDir, `${name}.out`),
    env: c.env,
    cwd: c.dir,
  });
  c.daemons.push(d);
  void d.exited.then((how) => {
    if (c.stopping === undefined) c.died(new DaemonDied(`${name} (pid ${d.pid}) exited: ${how}`));
  });
  return d;
}

/** `step`, or the death of any daemon, whichever comes first. */
function guard<T>(c: Cluster, step: Promise<T>): Promise<T> {
  return Promise.race([step, c.death]);
}

function stopCluster(c: Cluster): Promise<void> {
  c.stopping ??= (async () => {
    // rgw and the OSD need the mon to shut down cleanly: stop in reverse order.
    for (const d of [...c.daemons].reverse()) await stopDaemon(d);
    if (!c.keepDir) await rm(c.dir, { recursive: true, force: true });
  })();
  return c.stopping;
}

async function startMon(c: Cluster): Promise<void> {
  const monmap = join(c.dir, 'monmap');
  await runTool(
    'monmaptool',
    ['--create', '--fsid', c.layout.fsid, '--addv', MON_ID, monAddrs(c.layout), monmap],
    { env: c.env, cwd: c.dir },
  );
  await tool(c, 'ceph-mon', ['--mkfs', '-i', MON_ID, '--monmap', monmap]);
  daemon(c, 'mon', 'ceph-mon', ['-i', MON_ID]);
  mark(c, 'mon');
}

async function startOsd(c: Cluster): Promise<void> {
  const osdUuid = randomUUID();
  const out = await tool(c, 'ceph', ['--connect-timeout', '30', 'osd', 'new', osdUuid]);
  mark(c, 'osdNew');
  if (out.stdout.trim() !== String(OSD_ID)) {
    throw new Error(`ceph osd new returned ${JSON.stringify(out.stdout.trim())}, want ${OSD_ID}`);
  }
  await tool(c, 'ceph-osd', ['--mkfs', '-i', String(OSD_ID), '--osd-uuid', osdUuid]);
  daemon(c, 'osd', 'ceph-osd', ['-i', String(OSD_ID)]);
  mark(c, 'osd');
}

async function createPools(c: Cluster): Promise<void> {
  const script = RGW_POOLS.flatMap((p) => [
    `osd pool create ${p}`,
    `osd pool application enable ${p} rgw`,
  ]).join('\n');
  // Interactive mode exits 0 even when a command fails: look at stderr.
  const out = await tool(c, 'ceph', ['--connect-timeout', '30'], `${script}\n`);
  if (/^Error/m.test(out.stderr)) throw new Error(`creating rgw pools: ${out.stderr.trim()}`);
  mark(c, 'pools');
}

async function startRgw(c: Cluster, endpoint: string): Promise<void> {
  const rgw = daemon(c, 'rgw', 'radosgw', ['-n', RGW_NAME]);
  await guard(
    c,
    waitForHttp(`${endpoint}/`, { timeoutMs: 60_000, alive: rgw.alive, what: 'radosgw' }),
  );
  mark(c, 'rgw');
}

function createUser(c: Cluster, uid: string, keys: StaticCreds) {
  return tool(c, 'radosgw-admin', [
    'user',
    'create',
    `--uid=${uid}`,
    `--display-name=${uid}`,
    `--access-key=${keys.accessKeyId}`,
    `--secret=${keys.secretAccessKey}`,
  ]);
}

async function boot(c: Cluster, admin: StaticCreds, endpoint: string): Promise<void> {
  await startMon(c);
  // Two CLI sessions at once: the OSD can be made and booted while the
  // pools are still being created (each `ceph` start costs ~0.5 s of Python).
  await guard(c, Promise.all([startOsd(c), createPools(c)]));
  await startRgw(c, endpoint);
  await guard(c, createUser(c, ADMIN_UID, admin));
  mark(c, 'admin');
}

/** The last lines of every daemon log, for a start-up failure. */
function startupLogs(logDir: string): string {
  return ['rgw.out', `${RGW_NAME}.log`, 'osd.out', 'osd.0.log', 'mon.out', 'mon.a.log']
    .map((f) => [f, tail(join(logDir, f), 5)])
    .filter(([, text]) => text !== '')
    .map(([f, text]) => `--- ${f}\n${text}`)
    .join('\n');
}

async function createRole(c: Cluster, name: string, policy: object): Promise<string> {
  const out = await tool(c, 'radosgw-admin', [
    'role',
    'create',
    `--role-name=${name}`,
    `--assume-role-policy-doc=${trustPolicy(ADMIN_UID)}`,
  ]);
  await tool(c, 'radosgw-admin', [
    'role-policy',
    'put',
    `--role-name=${name}`,
    '--policy-name=policy',
    `--policy-doc=${JSON.stringify(policy)}`,
  ]);
  const parsed: unknown = JSON.parse(out.stdout);
  const arn =
    typeof parsed === 'object' && parsed !== null && 'Arn' in parsed ? parsed.Arn : undefined;
  return typeof arn === 'string' ? arn : `arn:aws:iam:::role/${name}`;
}

function s3Client(endpoint: string, creds: StaticCreds | TempCreds): S3Client {
  return new S3Client({
    endpoint,
    region: REGION,
    credentials: creds,
    forcePathStyle: true,
    maxAttempts: 1,
    // Pacific lacks aws-chunked trailers: default checksums break streamed bodies.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

function stsClient(endpoint: string, creds: StaticCreds): STSClient {
  return new STSClient({ endpoint, region: REGION, credentials: creds, maxAttempts: 1 });
}

/** The handle of a started cluster. */
function radosgwOf(c: Cluster, admin: StaticCreds, endpoint: string): Radosgw {
  const [mon, osd, rgwD] = c.daemons;
  if (mon === undefined || osd === undefined || rgwD === undefined) throw new Error('unreachable');
  const adminS3 = s3Client(endpoint, admin);
  return {
    endpoint,
    httpsEndpoint: `https://127.0.0.2:${c.layout.rgwTlsPort}`,
    caFile: c.tls.caFile,
    region: REGION,
    admin,
    accountId: '',
    kmsKeys: Object.keys(c.layout.kmsKeys),
    logDir: c.logDir,
    pids: { mon: mon.pid, osd: osd.pid, rgw: rgwD.pid },
    startMs: Math.round(performance.now() - c.t0),
    phases: c.phases,
    s3: (creds) => s3Client(endpoint, creds),
    sts: (creds) => stsClient(endpoint, creds),
    stop: () => stopCluster(c),
    createRole: (name, policy) => createRole(c, name, policy),
    async assumeRole(o) {
      const client = stsClient(endpoint, o.caller ?? admin);
      try {
        return await assumeRoleWith(client, {
          ...o,
          sessionName: o.sessionName ?? `s-${randomBytes(4).toString('hex')}`,
        });
      } finally {
        client.destroy();
      }
    },
    async createBucket(name) {
      await adminS3.send(new CreateBucketCommand({ Bucket: name }));
    },
    async createUser(uid) {
      const keys = newKeys();
      await createUser(c, uid, keys);
      return keys;
    },
  };
}

async function startOnce(opts: StartOptions): Promise<Radosgw> {
  const c = await newCluster(opts, performance.now());
  const admin = newKeys();
  const endpoint = `http://127.0.0.1:${c.layout.rgwPort}`;
  try {
    await boot(c, admin, endpoint);
  } catch (err) {
    c.startAbort.abort();
    const logs = startupLogs(c.logDir);
    await stopCluster(c);
    const reason = err instanceof Error ? err.message : String(err);
    throw new Error(`radosgw start failed: ${reason}\n${logs}`, { cause: err });
  }
  return radosgwOf(c, admin, endpoint);
}

async function main(): Promise<void> {
  // Only explicit credentials are used, but never let the SDK wander to IMDS.
  process.env.AWS_EC2_METADATA_DISABLED = 'true';
  const port = process.env.RADOSGW_PORT ? Number(process.env.RADOSGW_PORT) : undefined;
  const gw = await startRadosgw(port === undefined ? {} : { port });
  const stopAndExit = () => {
    gw.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        console.error(err);
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', stopAndExit);
  process.once('SIGTERM', stopAndExit);
  console.log(
    JSON.stringify({
      endpoint: gw.endpoint,
      region: gw.region,
      accessKeyId: gw.admin.accessKeyId,
      secretAccessKey: gw.admin.secretAccessKey,
      kmsKeys: gw.kmsKeys,
      logDir: gw.logDir,
      pids: gw.pids,
      startMs: gw.startMs,
      phases: gw.phases,
    }),
  );
}

if (import.meta.main) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
