// A lane: one ground (IMDS emulator + STS endpoint + its own bucket on the
// shared radosgw) behind a counting S3 proxy, and the sidecar processes run
// against it. Lanes run side by side without sharing counters or faults.
import { type Ground, startGround } from '../ground/ground.ts';
import type { RgwInfo } from '../ground/rgw-info.ts';
import { getText } from './http.ts';
import { baseEnv, freePort, type Proc, spawnNode, stopProc, waitFor } from './procs.ts';
import { type S3Proxy, startS3Proxy } from './s3-proxy.ts';

export interface Lane {
  name: string;
  ground: Ground;
  proxy: S3Proxy;
  close(): Promise<void>;
}

export async function startLane(rgw: RgwInfo, name: string): Promise<Lane> {
  const ground = await startGround(rgw, { bucket: `s3h-bench-${name}` });
  let proxy: S3Proxy;
  try {
    proxy = await startS3Proxy(rgw.endpoint);
  } catch (e) {
    await ground.close();
    throw e;
  }
  return {
    name,
    ground,
    proxy,
    close: async () => {
      await Promise.allSettled([proxy.close(), ground.close()]);
    },
  };
}

export interface SidecarOptions {
  intervalSeconds: number;
  timeoutSeconds: number;
  /** extra environment, e.g. a black-holed S3 endpoint */
  env?: Record<string, string>;
  /** node flags before the script, e.g. --cpu-prof */
  nodeArgs?: string[];
}

export interface Sidecar {
  proc: Proc;
  url: string;
  close(): Promise<void>;
}

/** `node src/cli.ts serve` as a real process against the lane, as an EC2 host would run it. */
export async function spawnSidecar(lane: Lane, opts: SidecarOptions): Promise<Sidecar> {
  const port = await freePort();
  const env = {
    ...baseEnv(),
    ...lane.ground.env,
    AWS_ENDPOINT_URL_S3: lane.proxy.url,
    S3_HEALTH_HOST: '127.0.0.1',
    S3_HEALTH_PORT: String(port),
    S3_HEALTH_INTERVAL_SECONDS: String(opts.intervalSeconds),
    S3_HEALTH_TIMEOUT_SECONDS: String(opts.timeoutSeconds),
    S3_HEALTH_LOG_LEVEL: 'info',
    ...opts.env,
  };
  const proc = spawnNode(
    `sidecar-${lane.name}`,
    [...(opts.nodeArgs ?? []), 'src/cli.ts', 'serve'],
    env,
  );
  return { proc, url: `http://127.0.0.1:${port}`, close: () => stopProc(proc) };
}

/** Resolves once /livez answers 200; returns ms since spawn. */
export async function untilLive(s: Sidecar, timeoutMs = 15_000): Promise<number> {
  return waitFor(
    `${s.proc.name} /livez`,
    async () => {
      if (s.proc.child.exitCode !== null) {
        throw new Error(`${s.proc.name} exited: ${s.proc.output().slice(-2000)}`);
      }
      const r = await getText(`${s.url}/livez`, 500);
      return r.status === 200 ? performance.now() - s.proc.spawnedAt : undefined;
    },
    timeoutMs,
    5,
  );
}

/** Resolves once /healthz gives a verdict other than "no result yet"; returns ms since spawn. */
export async function untilFirstVerdict(s: Sidecar, timeoutMs = 20_000): Promise<number> {
  return waitFor(
    `${s.proc.name} first verdict`,
    async () => {
      const r = await getText(`${s.url}/healthz`, 500);
      return r.body.includes('no result yet') ? undefined : performance.now() - s.proc.spawnedAt;
    },
    timeoutMs,
    5,
  );
}
