// A lane: one ground (IMDS emulator + STS endpoint + its own bucket on the
// shared radosgw) behind a counting S3 proxy, and the sidecar processes run
// against it. Lanes run side by side without sharing counters or faults.
import { type Ground, startGround } from '../ground/ground.ts';
import type { RgwInfo } from '../ground/radosgw/info.ts';
import { getText } from './http.ts';
import { baseEnv, freePort, type Proc, sleep, spawnNode, stopProc, waitFor } from './procs.ts';
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

let defaultScript = 'src/cli.ts';

/**
 * What spawnSidecar runs unless told otherwise. run.ts points it at the
 * bundle `npm run build` writes, the file the `s3-health` command runs
 * (bench/bundle.ts), so every figure is of the sidecar as a user starts it.
 */
export function setDefaultScript(script: string): void {
  defaultScript = script;
}

export interface SidecarOptions {
  intervalSeconds: number;
  timeoutSeconds: number;
  /** extra environment, e.g. a black-holed S3 endpoint */
  env?: Record<string, string>;
  /** node flags before the script, e.g. --cpu-prof */
  nodeArgs?: string[];
  /** what node runs; default: setDefaultScript's (the sources, src/cli.ts, until set) */
  script?: string;
}

export interface Sidecar {
  proc: Proc;
  url: string;
  /** ms from spawn to /livez answering 200 */
  liveMs: number;
  close(): Promise<void>;
}

/**
 * `node <script> serve` as a real process against the lane, as an EC2 host
 * would run it; resolves once /livez answers. A port taken between picking
 * and binding (other work shares this machine) costs one more start.
 */
export async function spawnSidecar(lane: Lane, opts: SidecarOptions): Promise<Sidecar> {
  for (let attempt = 1; ; attempt++) {
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
      [...(opts.nodeArgs ?? []), opts.script ?? defaultScript, 'serve'],
      env,
    );
    const url = `http://127.0.0.1:${port}`;
    try {
      const liveMs = await untilLive(proc, url);
      return { proc, url, liveMs, close: () => stopProc(proc) };
    } catch (e) {
      await stopProc(proc);
      if (attempt < 3 && proc.output().includes('EADDRINUSE')) continue;
      throw e;
    }
  }
}

async function untilLive(proc: Proc, url: string, timeoutMs = 15_000): Promise<number> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    if (proc.child.exitCode !== null || proc.child.signalCode !== null) {
      throw new Error(`${proc.name} exited before /livez: ${proc.output().slice(-2000)}`);
    }
    const r = await getText(`${url}/livez`, 500).catch(() => undefined);
    if (r?.status === 200) return performance.now() - proc.spawnedAt;
    if (performance.now() > deadline) {
      throw new Error(`${proc.name}: no /livez in ${timeoutMs} ms: ${proc.output().slice(-2000)}`);
    }
    await sleep(5);
  }
}

/** Resolves once /healthz gives a verdict other than "no result yet"; returns ms since spawn. */
export async function untilFirstVerdict(s: Sidecar, timeoutMs = 20_000): Promise<number> {
  let last = '';
  try {
    return await waitFor(
      `${s.proc.name} first verdict`,
      async () => {
        const r = await getText(`${s.url}/healthz`, 500);
        last = `${r.status} ${r.body}`;
        return r.body.includes('no result yet') ? undefined : performance.now() - s.proc.spawnedAt;
      },
      timeoutMs,
      5,
    );
  } catch (e) {
    throw new Error(
      `${e instanceof Error ? e.message : String(e)}; last /healthz: ${last.slice(0, 600)}; output: ${s.proc.output().slice(-1500)}`,
    );
  }
}
