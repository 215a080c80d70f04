// A monitoring daemon (Prometheus, Alertmanager) from Debian's packages on
// loopback, in a temp directory of its own, stopped by PID (also when the run
// dies: the radosgw runner's exit hook), its directory removed afterwards.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type Daemon,
  freePorts,
  spawnDaemon,
  stopDaemon,
  tail,
  waitForHttp,
} from '../radosgw/proc.ts';
import { onPath } from '../shared/process.ts';

export interface MonitoringPeer {
  name: string;
  /** http://127.0.0.1:PORT */
  url: string;
  port: number;
  pid: number;
  dir: string;
  /** The daemon's log so far (last lines), for failure messages. */
  log(lines?: number): string;
  alive(): boolean;
  stop(): Promise<void>;
}

/** A missing peer fails loudly: the fleet tier must not skip. */
export function requireBinary(bin: string, pkg: string): void {
  if (!onPath(bin)) {
    throw new Error(
      `${bin} is not on PATH: install it with scripts/install-peers.sh ` +
        `(Debian package ${pkg}). The fleet tier needs the real one and never skips.`,
    );
  }
}

export interface PeerSpec {
  name: string;
  bin: string;
  pkg: string;
  /** Files written into the peer's directory before it starts. */
  files: Record<string, string>;
  /** Command-line arguments, given the directory and the port. */
  args(dir: string, port: number): string[];
  /** Path answering 200 once the peer is ready. */
  readyPath: string;
}

async function startOnce(spec: PeerSpec): Promise<MonitoringPeer> {
  const dir = mkdtempSync(join(tmpdir(), `s3h-${spec.name}-`));
  for (const [file, text] of Object.entries(spec.files)) writeFileSync(join(dir, file), text);
  const [port] = await freePorts(1);
  if (port === undefined) throw new Error('no free port');
  const logFile = join(dir, `${spec.name}.log`);
  const daemon: Daemon = spawnDaemon(spec.name, spec.bin, spec.args(dir, port), {
    logFile,
    cwd: dir,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir },
  });
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    await stopDaemon(daemon);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitForHttp(`${url}${spec.readyPath}`, {
      timeoutMs: 30_000,
      alive: daemon.alive,
      what: spec.name,
    });
  } catch (e) {
    const log = tail(logFile, 20);
    await stop();
    throw new Error(`${spec.name} did not start: ${(e as Error).message}\n${log}`);
  }
  return {
    name: spec.name,
    url,
    port,
    pid: daemon.pid,
    dir,
    log: (lines = 20) => tail(logFile, lines),
    alive: daemon.alive,
    stop,
  };
}

/** Starts the peer; a port taken between picking and binding costs one more try. */
export async function startPeer(spec: PeerSpec): Promise<MonitoringPeer> {
  requireBinary(spec.bin, spec.pkg);
  try {
    return await startOnce(spec);
  } catch {
    return await startOnce(spec);
  }
}
