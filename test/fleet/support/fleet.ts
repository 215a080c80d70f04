// A fleet on one machine: one radosgw, one STS endpoint, and per host an IMDS
// emulator (so one host can be faulted alone) and a sidecar process; a real
// Prometheus scraping them through file_sd with the shipped rules, a real
// Alertmanager with the shipped routing, and a webhook recorder standing in
// for on-call. Paces are the shipped ones divided by K (ground/monitoring/scale.ts).
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DeleteBucketPolicyCommand, PutBucketPolicyCommand } from '@aws-sdk/client-s3';
import { type ImdsEmulator, startImdsEmulator } from '../../../ground/imds/emulator.ts';
import { linkImdsToSts } from '../../../ground/imds/sts-link.ts';
import { type Alertmanager, startAlertmanager } from '../../../ground/monitoring/alertmanager.ts';
import { requireBinary } from '../../../ground/monitoring/peer.ts';
import { type Prometheus, startPrometheus } from '../../../ground/monitoring/prometheus.ts';
import { scaleAlertmanager, scaleRules } from '../../../ground/monitoring/scale.ts';
import {
  startWebhookRecorder,
  type WebhookRecorder,
} from '../../../ground/monitoring/webhook-recorder.ts';
import {
  adminS3,
  assumeRoleSource,
  createBucket,
  withProbeRole,
} from '../../../ground/radosgw/info.ts';
import {
  type Daemon,
  freePorts,
  spawnDaemon,
  stopDaemon,
  tail,
} from '../../../ground/radosgw/proc.ts';
import { type Radosgw, startRadosgw } from '../../../ground/radosgw/radosgw.ts';
import { GUARD_NODE_ARGS } from '../../../ground/shared/network-guard.ts';
import { type StsEndpoint, startStsEndpoint } from '../../../ground/sts/endpoint.ts';

export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const SHIPPED = {
  rules: join(ROOT, 'deploy/prometheus/alerts.yml'),
  alertmanager: join(ROOT, 'deploy/alertmanager/alertmanager.yml'),
  dashboard: join(ROOT, 'deploy/grafana/s3-health.json'),
  /** scrape and evaluation interval of deploy/prometheus/scrape.yml */
  scrapeIntervalMs: 15_000,
};
export const JOB = 's3-health';
export const ROLE_NAME = 's3-health-probe';
/** The fleet's S3_HEALTH_DIAGNOSE_TOKEN; Prometheus scrapes with it. */
export const SCRAPE_TOKEN = 'fleet-scrape-token-0123456789';

export interface FleetOptions {
  size: number;
  /** every shipped pace divided by this (15: the 15 s scrape becomes 1 s) */
  k: number;
  intervalSeconds: number;
  timeoutSeconds: number;
  log: (line: string) => void;
}

export interface Host {
  index: number;
  name: string;
  port: number;
  /** the scraped address: Prometheus's `instance` label */
  instance: string;
  imds: ImdsEmulator;
  daemon: Daemon | undefined;
  /** starts the sidecar (again) on the same port; resolves once /livez answers */
  start(): Promise<void>;
  /** SIGKILL, as a crashed container */
  kill(): Promise<void>;
  stop(): Promise<void>;
}

export interface Fleet {
  opts: FleetOptions;
  rgw: Radosgw;
  bucket: string;
  roleArn: string;
  hosts: Host[];
  prometheus: Prometheus;
  alertmanager: Alertmanager;
  recorder: WebhookRecorder;
  /** scaled scrape (= evaluation) interval, ms */
  scrapeMs: number;
  denyPutToRole(): Promise<void>;
  allowAgain(): Promise<void>;
  close(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitLive(url: string, daemon: Daemon, ms: number): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    if (!daemon.alive()) throw new Error(`sidecar ${url} exited:\n${tail(daemon.logFile, 30)}`);
    const ok = await fetch(`${url}/livez`, { signal: AbortSignal.timeout(1000) }).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ok) return;
    if (Date.now() > end) throw new Error(`sidecar ${url} not listening after ${ms} ms`);
    await sleep(100);
  }
}

/** Starts everything; on any failure stops what it started (by PID) and rethrows. */
export async function startFleet(opts: FleetOptions): Promise<Fleet> {
  // A missing peer fails here, loudly, before anything starts.
  requireBinary('prometheus', 'prometheus');
  requireBinary('prometheus-alertmanager', 'prometheus-alertmanager');
  const cleanups: (() => Promise<unknown>)[] = [];
  const close = async () => {
    for (const c of cleanups.reverse()) await c().catch(() => {});
    cleanups.length = 0;
  };
  try {
    opts.log('starting radosgw');
    const rgw = await startRadosgw();
    cleanups.push(() => rgw.stop());
    const info = await withProbeRole(rgw, ROLE_NAME);
    const bucket = `kb-fleet-${randomBytes(3).toString('hex')}`;
    await createBucket(info, bucket);
    const sts = await startStsEndpoint({ host: '127.0.0.1', port: 0 });
    cleanups.push(() => sts.close());
    const logDir = mkdtempSync(join(tmpdir(), 's3h-fleet-'));
    cleanups.push(async () => rmSync(logDir, { recursive: true, force: true }));

    const recorder = await startWebhookRecorder();
    cleanups.push(() => recorder.close());
    const alertmanager = await startAlertmanager(
      scaleAlertmanager(readFileSync(SHIPPED.alertmanager, 'utf8'), opts.k, recorder.url),
    );
    cleanups.push(() => alertmanager.stop());

    const ports = await freePorts(opts.size);
    const hosts: Host[] = [];
    // Stopped after everything else that might still talk to them.
    cleanups.push(() => Promise.allSettled(hosts.map((h) => h.stop())));
    for (let index = 0; index < opts.size; index++) {
      hosts.push(
        await makeHost(index, ports[index] ?? 0, { rgw, info, sts, bucket, logDir, opts }),
      );
    }
    opts.log(`starting ${opts.size} sidecars`);
    // A few at a time: fifty Node start-ups at once would starve the machine.
    for (let i = 0; i < hosts.length; i += 4) {
      await Promise.all(hosts.slice(i, i + 4).map((h) => h.start()));
    }

    const scrapeMs = SHIPPED.scrapeIntervalMs / opts.k;
    const prometheus = await startPrometheus({
      scrapeInterval: `${scrapeMs}ms`,
      evaluationInterval: `${scrapeMs}ms`,
      rules: { 'alerts.yml': scaleRules(readFileSync(SHIPPED.rules, 'utf8'), opts.k) },
      alertmanager: `127.0.0.1:${alertmanager.port}`,
      job: JOB,
      bearerToken: SCRAPE_TOKEN,
    });
    cleanups.push(() => prometheus.stop());
    prometheus.setTargets([{ targets: hosts.map((h) => h.instance) }]);
    opts.log(`prometheus ${prometheus.url}, alertmanager ${alertmanager.url}`);

    const s3 = adminS3(info);
    cleanups.push(async () => s3.destroy());
    const fleet: Fleet = {
      opts,
      rgw,
      bucket,
      roleArn: info.roleArn,
      hosts,
      prometheus,
      alertmanager,
      recorder,
      scrapeMs,
      async denyPutToRole() {
        const policy = {
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Deny',
              Principal: { AWS: [info.roleArn] },
              Action: ['s3:PutObject'],
              Resource: [`arn:aws:s3:::${bucket}/*`],
            },
          ],
        };
        await s3.send(
          new PutBucketPolicyCommand({ Bucket: bucket, Policy: JSON.stringify(policy) }),
        );
      },
      async allowAgain() {
        await s3.send(new DeleteBucketPolicyCommand({ Bucket: bucket }));
      },
      close,
    };
    return fleet;
  } catch (e) {
    await close();
    throw e;
  }
}

interface HostDeps {
  rgw: Radosgw;
  info: Awaited<ReturnType<typeof withProbeRole>>;
  sts: StsEndpoint;
  bucket: string;
  logDir: string;
  opts: FleetOptions;
}

async function makeHost(index: number, port: number, d: HostDeps): Promise<Host> {
  const name = `h${String(index + 1).padStart(2, '0')}`;
  const imds = await startImdsEmulator({
    host: '127.0.0.1',
    port: 0,
    identity: {
      instanceId: `i-0f1ee7${String(index + 1).padStart(11, '0')}`,
      region: 'eu-west-1',
      accountId: '123456789012',
      roleName: ROLE_NAME,
    },
    credentials: assumeRoleSource(d.info),
  });
  linkImdsToSts(imds, d.sts);
  const env = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: '/nonexistent',
    AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/s3-health-fleet/credentials',
    AWS_CONFIG_FILE: '/nonexistent/s3-health-fleet/config',
    AWS_EC2_METADATA_SERVICE_ENDPOINT: imds.url,
    AWS_ENDPOINT_URL_S3: d.rgw.endpoint,
    AWS_ENDPOINT_URL_STS: d.sts.url,
    S3_HEALTH_BUCKET: d.bucket,
    S3_HEALTH_S3_FORCE_PATH_STYLE: 'true',
    // All hosts share this machine's hostname: a prefix each keeps their probe objects apart.
    S3_HEALTH_PREFIX: `healthcheck/${name}/`,
    S3_HEALTH_HOST: '127.0.0.1',
    S3_HEALTH_INTERVAL_SECONDS: String(d.opts.intervalSeconds),
    S3_HEALTH_TIMEOUT_SECONDS: String(d.opts.timeoutSeconds),
    S3_HEALTH_LOG_LEVEL: 'warn',
    // Identity on /metrics only for a scrape that carries it (SPEC §5).
    S3_HEALTH_DIAGNOSE_TOKEN: SCRAPE_TOKEN,
  };
  const host: Host = {
    index,
    name,
    port,
    instance: `127.0.0.1:${port}`,
    imds,
    daemon: undefined,
    async start() {
      // A port picked free can be taken before the sidecar binds it (this machine is
      // shared). Before Prometheus knows the host, another port is as good; a restart
      // keeps its port, since the port is the host's identity in every alert.
      const firstStart = host.daemon === undefined;
      for (let attempt = 1; ; attempt++) {
        const daemon = spawnDaemon(
          `sidecar-${name}`,
          process.execPath,
          [...GUARD_NODE_ARGS, 'src/cli.ts', 'serve'],
          {
            logFile: join(d.logDir, `${name}.log`),
            env: { ...env, S3_HEALTH_PORT: String(host.port) },
            cwd: ROOT,
          },
        );
        host.daemon = daemon;
        try {
          await waitLive(`http://${host.instance}`, daemon, 60_000);
          return;
        } catch (e) {
          const taken = /EADDRINUSE/.test(tail(daemon.logFile, 5));
          if (!firstStart || !taken || attempt >= 3) throw e;
          const [next] = await freePorts(1);
          host.port = next ?? 0;
          host.instance = `127.0.0.1:${host.port}`;
        }
      }
    },
    async kill() {
      const daemon = host.daemon;
      if (!daemon?.alive()) return;
      process.kill(daemon.pid, 'SIGKILL');
      await daemon.exited;
    },
    async stop() {
      if (host.daemon) await stopDaemon(host.daemon, 8000);
      await imds.close();
    },
  };
  return host;
}
