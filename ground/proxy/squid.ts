// A real forward proxy for the ground: Debian's squid on loopback, in a temp
// directory of its own, with three listening ports that behave as the
// proxies of production do:
//   open  - lets every CONNECT and request through;
//   deny  - an allow-list that refuses the S3 host (403 on CONNECT);
//   auth  - wants HTTP Basic credentials (407 without them).
// Its access log says which CONNECTs and requests went through it.

import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Daemon, freePorts, spawnDaemon, stopDaemon, tail } from '../radosgw/proc.ts';
import { onPath } from '../shared/process.ts';

export type SquidPort = 'open' | 'deny' | 'auth';

export interface AccessEntry {
  method: string;
  /** host:port for CONNECT, the absolute URL otherwise */
  target: string;
  /** squid's result/status, e.g. TCP_TUNNEL/200, TCP_DENIED/403 */
  result: string;
  status: number;
  user: string;
}

export interface Squid {
  /** its access log (squid's native format) */
  accessLog: string;
  /** http://[user:pass@]HOST:PORT of one of the three ports */
  url(port: SquidPort, credentials?: boolean): string;
  /** Every entry of the access log so far. */
  entries(): AccessEntry[];
  user: string;
  password: string;
  stop(): Promise<void>;
}

const USER = 's3h-ops';
const PASSWORD = 'proxy-p@ss:0123';

export function squidInstalled(): boolean {
  return onPath('squid') || onPath('/usr/sbin/squid');
}

function config(
  dir: string,
  host: string,
  ports: Record<SquidPort, number>,
  denyHost: string,
): string {
  return [
    `http_port ${host}:${ports.open} name=open`,
    `http_port ${host}:${ports.deny} name=deny`,
    `http_port ${host}:${ports.auth} name=auth`,
    `pid_filename ${dir}/squid.pid`,
    `access_log stdio:${dir}/access.log`,
    `cache_log ${dir}/cache.log`,
    'cache deny all',
    'cache_mem 8 MB',
    `coredump_dir ${dir}`,
    'shutdown_lifetime 0 seconds',
    // Loopback targets are the ground's peers: no DNS, no IPv6 lookups.
    'dns_v4_first on',
    `auth_param basic program /usr/lib/squid/basic_ncsa_auth ${dir}/passwd`,
    'auth_param basic children 1 startup=1 idle=1',
    'auth_param basic realm s3-health-ground',
    'acl p_open myportname open',
    'acl p_deny myportname deny',
    'acl p_auth myportname auth',
    `acl s3host dst ${denyHost}`,
    'acl authed proxy_auth REQUIRED',
    'http_access deny p_deny s3host',
    'http_access allow p_deny',
    'http_access allow p_open',
    'http_access allow p_auth authed',
    'http_access deny all',
    '',
  ].join('\n');
}

function parseLine(line: string): AccessEntry | undefined {
  // time elapsed client result/status bytes method target user hierarchy type
  const f = line.trim().split(/\s+/);
  if (f.length < 8) return undefined;
  const result = f[3] ?? '';
  return {
    method: f[5] ?? '',
    target: f[6] ?? '',
    result,
    status: Number(result.split('/')[1] ?? 0),
    user: f[7] ?? '-',
  };
}

async function listening(host: string, port: number, daemon: Daemon, log: string): Promise<void> {
  const end = Date.now() + 15_000;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, host);
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (!daemon.alive() || Date.now() > end) {
      throw new Error(`squid did not listen on ${port}:\n${tail(log, 20)}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Starts squid on `host` (loopback, or a peer address inside a network
 * namespace); `denyHost` is the address the `deny` port refuses (the S3
 * peer's). Squid drops root to its `proxy` user, so its directory is theirs.
 */
export async function startSquid(denyHost: string, host = '127.0.0.1'): Promise<Squid> {
  if (!squidInstalled()) {
    throw new Error('squid is not installed: run scripts/install-peers.sh (Debian package squid)');
  }
  // squid drops to its `proxy` user: as root its directory goes under /tmp,
  // which that user can traverse (a TMPDIR of mode 0700 it could not).
  const dir = mkdtempSync(join(process.getuid?.() === 0 ? '/tmp' : tmpdir(), 's3h-squid-'));
  const [open, deny, auth] = await freePorts(3);
  if (open === undefined || deny === undefined || auth === undefined) throw new Error('no ports');
  const ports = { open, deny, auth };
  const hash = spawnSync('openssl', ['passwd', '-apr1', PASSWORD], { encoding: 'utf8' });
  if (hash.status !== 0) throw new Error(`openssl passwd failed: ${hash.stderr}`);
  writeFileSync(join(dir, 'passwd'), `${USER}:${hash.stdout.trim()}\n`);
  writeFileSync(join(dir, 'squid.conf'), config(dir, host, ports, denyHost));
  const ids = spawnSync('id', ['-u', 'proxy'], { encoding: 'utf8' });
  const uid = Number(ids.stdout.trim());
  if (process.getuid?.() === 0 && Number.isInteger(uid)) {
    const gid = Number(spawnSync('id', ['-g', 'proxy'], { encoding: 'utf8' }).stdout.trim());
    for (const f of ['', 'passwd', 'squid.conf']) chownSync(join(dir, f), uid, gid);
    chmodSync(dir, 0o755);
  }
  const log = join(dir, 'squid.out');
  const daemon = spawnDaemon('squid', 'squid', ['-N', '-f', join(dir, 'squid.conf')], {
    logFile: log,
    cwd: dir,
    env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/bin' },
  });
  const stop = async () => {
    await stopDaemon(daemon, 3000);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (const p of [open, deny, auth]) await listening(host, p, daemon, log);
  } catch (e) {
    await stop();
    throw e;
  }
  return {
    accessLog: join(dir, 'access.log'),
    user: USER,
    password: PASSWORD,
    url(port, credentials = false) {
      const auth = credentials
        ? `${encodeURIComponent(USER)}:${encodeURIComponent(PASSWORD)}@`
        : '';
      return `http://${auth}${host}:${ports[port]}`;
    },
    entries() {
      let text = '';
      try {
        text = readFileSync(join(dir, 'access.log'), 'utf8');
      } catch {}
      return text
        .split('\n')
        .map(parseLine)
        .filter((e): e is AccessEntry => e !== undefined);
    },
    stop,
  };
}
