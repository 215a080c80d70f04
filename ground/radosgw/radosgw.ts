// A real single-node Ceph radosgw (mon + memstore OSD + rgw) on loopback,
// started without systemd for tests and manual work. S3 SigV4, bucket
// policies, STS AssumeRole with session policies and SSE-KMS (rgw's
// `testing` key backend) are all really enforced by rgw.
//
// CLI: `npx node ground/radosgw/radosgw.ts` prints one JSON line and runs until
// SIGINT/SIGTERM.
import { randomBytes, randomUUID } from 'node:crypto';
import { accessSync, constants, mkdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { STSClient } from '@aws-sdk/client-sts';
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

function onPath(bin: string): boolean {
  for (const dir of (process.env.PATH ?? '/usr/bin:/bin').split(delimiter)) {
    try {
      accessSync(join(dir, bin), constants.X_OK);
      return true;
    } catch {
      // try the next directory
    }
  }
  return false;
}

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

async function startOnce(opts: StartOptions): Promise<Radosgw> {
  const t0 = performance.now();
  const phases: Record<string, number> = {};
  const mark = (phase: string) => {
    phases[phase] = Math.round(performance.now() - t0);
  };
  const dir = await mkdtemp(join(tmpdir(), 'radosgw-'));
  const logDir = join(dir, 'log');
  for (const sub of ['log', 'run', 'mon', 'osd', 'rgw', 'crash']) mkdirSync(join(dir, sub));

  const [monV1Port, monV2Port, picked] = await freePorts(3);
  if (monV1Port === undefined || monV2Port === undefined || picked === undefined) {
    throw new Error('no free ports');
  }
  const rgwPort = opts.port ?? picked;
  const kmsKeys: Record<string, string> = {
    'testkey-1': randomBytes(32).toString('base64'),
    'testkey-2': randomBytes(32).toString('base64'),
  };
  const layout: CephLayout = {
    dir,
    fsid: randomUUID(),
    monV1Port,
    monV2Port,
    rgwPort,
    stsKey: randomBytes(8).toString('hex'),
    kmsKeys,
    ...(opts.rgwConf === undefined ? {} : { rgwExtra: opts.rgwConf }),
  };
  const conf = join(dir, 'ceph.conf');
  writeFileSync(conf, cephConf(layout));
  const env: NodeJS.ProcessEnv = { ...process.env, CEPH_CONF: conf };
  // Kills CLI tools still waiting on a cluster that failed to start.
  const startAbort = new AbortController();
  const tool = (cmd: string, args: string[], input?: string) =>
    runTool(cmd, ['-c', conf, ...args], {
      env,
      cwd: dir,
      signal: startAbort.signal,
      ...(input === undefined ? {} : { input }),
    });
  const daemons: Daemon[] = [];
  let stopping: Promise<void> | undefined;
  // A daemon dying during start-up (port taken, bad setting) would otherwise
  // surface only as a CLI connect timeout 30 s later: fail at once instead.
  let died: (err: Error) => void = () => {};
  const death = new Promise<never>((_, reject) => {
    died = reject;
  });
  death.catch(() => {});
  const daemon = (name: string, cmd: string, args: string[]): Daemon => {
    const d = spawnDaemon(name, cmd, ['-c', conf, '-f', ...args], {
      logFile: join(logDir, `${name}.out`),
      env,
      cwd: dir,
    });
    daemons.push(d);
    void d.exited.then((how) => {
      if (stopping === undefined) died(new DaemonDied(`${name} (pid ${d.pid}) exited: ${how}`));
    });
    return d;
  };
  const guard = <T>(step: Promise<T>): Promise<T> => Promise.race([step, death]);
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      // rgw and the OSD need the mon to shut down cleanly: stop in reverse order.
      for (const d of [...daemons].reverse()) await stopDaemon(d);
      if (!opts.keepDir) await rm(dir, { recursive: true, force: true });
    })();
    return stopping;
  };

  const admin = newKeys();
  const endpoint = `http://127.0.0.1:${rgwPort}`;
  try {
    const monmap = join(dir, 'monmap');
    await runTool(
      'monmaptool',
      ['--create', '--fsid', layout.fsid, '--addv', MON_ID, monAddrs(layout), monmap],
      {
        env,
        cwd: dir,
      },
    );
    await tool('ceph-mon', ['--mkfs', '-i', MON_ID, '--monmap', monmap]);
    daemon('mon', 'ceph-mon', ['-i', MON_ID]);
    mark('mon');

    // Two CLI sessions at once: the OSD can be made and booted while the
    // pools are still being created (each `ceph` start costs ~0.5 s of Python).
    const osdUuid = randomUUID();
    const osdReady = (async () => {
      const out = await tool('ceph', ['--connect-timeout', '30', 'osd', 'new', osdUuid]);
      mark('osdNew');
      if (out.stdout.trim() !== String(OSD_ID)) {
        throw new Error(
          `ceph osd new returned ${JSON.stringify(out.stdout.trim())}, want ${OSD_ID}`,
        );
      }
      await tool('ceph-osd', ['--mkfs', '-i', String(OSD_ID), '--osd-uuid', osdUuid]);
      daemon('osd', 'ceph-osd', ['-i', String(OSD_ID)]);
      mark('osd');
    })();
    const poolsReady = (async () => {
      const script = RGW_POOLS.flatMap((p) => [
        `osd pool create ${p}`,
        `osd pool application enable ${p} rgw`,
      ]).join('\n');
      // Interactive mode exits 0 even when a command fails: look at stderr.
      const out = await tool('ceph', ['--connect-timeout', '30'], `${script}\n`);
      if (/^Error/m.test(out.stderr)) throw new Error(`creating rgw pools: ${out.stderr.trim()}`);
      mark('pools');
    })();
    await guard(Promise.all([osdReady, poolsReady]));

    const rgw = daemon('rgw', 'radosgw', ['-n', RGW_NAME]);
    await guard(
      waitForHttp(`${endpoint}/`, { timeoutMs: 60_000, alive: rgw.alive, what: 'radosgw' }),
    );
    mark('rgw');

    await guard(
      tool('radosgw-admin', [
        'user',
        'create',
        `--uid=${ADMIN_UID}`,
        '--display-name=admin',
        `--access-key=${admin.accessKeyId}`,
        `--secret=${admin.secretAccessKey}`,
      ]),
    );
    mark('admin');
  } catch (err) {
    startAbort.abort();
    const logs = ['rgw.out', `${RGW_NAME}.log`, 'osd.out', 'osd.0.log', 'mon.out', 'mon.a.log']
      .map((f) => [f, tail(join(logDir, f), 5)])
      .filter(([, text]) => text !== '')
      .map(([f, text]) => `--- ${f}\n${text}`)
      .join('\n');
    await stop();
    const reason = err instanceof Error ? err.message : String(err);
    throw new Error(`radosgw start failed: ${reason}\n${logs}`, { cause: err });
  }

  const [mon, osd, rgwD] = daemons;
  if (mon === undefined || osd === undefined || rgwD === undefined) throw new Error('unreachable');

  const s3 = (creds: StaticCreds | TempCreds): S3Client =>
    new S3Client({
      endpoint,
      region: REGION,
      credentials: creds,
      forcePathStyle: true,
      maxAttempts: 1,
      // Pacific lacks aws-chunked trailers: default checksums break streamed bodies.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
  const sts = (creds: StaticCreds): STSClient =>
    new STSClient({ endpoint, region: REGION, credentials: creds, maxAttempts: 1 });
  const adminS3 = s3(admin);

  return {
    endpoint,
    region: REGION,
    admin,
    accountId: '',
    kmsKeys: Object.keys(kmsKeys),
    logDir,
    pids: { mon: mon.pid, osd: osd.pid, rgw: rgwD.pid },
    startMs: Math.round(performance.now() - t0),
    phases,
    s3,
    sts,
    stop,
    async createRole(name, policy) {
      const out = await tool('radosgw-admin', [
        'role',
        'create',
        `--role-name=${name}`,
        `--assume-role-policy-doc=${trustPolicy(ADMIN_UID)}`,
      ]);
      await tool('radosgw-admin', [
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
    },
    async assumeRole(o) {
      const client = sts(o.caller ?? admin);
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
      await tool('radosgw-admin', [
        'user',
        'create',
        `--uid=${uid}`,
        `--display-name=${uid}`,
        `--access-key=${keys.accessKeyId}`,
        `--secret=${keys.secretAccessKey}`,
      ]);
      return keys;
    },
  };
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
