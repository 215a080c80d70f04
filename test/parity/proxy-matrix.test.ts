// The app's own path, judged by the app's own SDK: in every cell a boto3
// probe (the runbook's Python services) runs the §1.4 round trip with the
// same environment as the sidecar, through the same real squid, to the same
// radosgw over HTTPS with a private CA; the sidecar's verdict must equal
// boto3's, or be a documented, tested exception. squid's access log shows
// which of them went through it.
import { spawn, spawnSync } from 'node:child_process';
import { type AddressInfo, connect as connectTcp, createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type Ground, startGround } from '../../ground/ground.ts';
import { type AccessEntry, type Squid, startSquid } from '../../ground/proxy/squid.ts';
import { freePorts } from '../../ground/radosgw/proc.ts';
import { GUARD_NODE_ARGS } from '../../ground/shared/network-guard.ts';

const rgw = inject('rgw');
const ROOT = join(import.meta.dirname, '..', '..');
const PROBE = join(import.meta.dirname, 'boto3-probe.py');
const RUNBOOK_NO_PROXY = '169.254.169.254,localhost,127.0.0.1';

let squid: Squid;
let ground: Ground;
let required: Ground;
let closedPort: number;

beforeAll(async () => {
  // S3 answers at 127.0.0.2 over TLS: the deny port refuses that address.
  squid = await startSquid('127.0.0.2');
  ground = await startGround(rgw, { tls: true });
  required = await startGround(rgw, { tls: true, tokensRequired: true });
  [closedPort = 9] = await freePorts(1);
}, 60_000);

afterAll(async () => {
  await Promise.allSettled([squid?.stop(), ground?.close(), required?.close()]);
});

type Verdict = 'pass' | 'fail';

interface SidecarVerdict {
  verdict: Verdict;
  status: string;
  reasons: string[];
}

interface Cell {
  name: string;
  env: () => Record<string, string>;
  /** trust the run's CA (NODE_EXTRA_CA_CERTS for Node, AWS_CA_BUNDLE for Python) */
  trusted?: boolean;
  ground?: () => Ground;
  /** the sidecar's reasons this cell must show */
  reasons: string[];
  /** what both verdicts are */
  verdict: Verdict;
  /** a documented exception: boto3's verdict where it differs, and why */
  exception?: { boto3: Verdict; why: string };
  /** whether the proxy must have seen CONNECTs from both */
  throughProxy: boolean;
}

function baseEnv(g: Ground, trusted: boolean, forNode: boolean): Record<string, string> {
  // The ground's env trusts its CA for Node; each cell says for itself who trusts it.
  const { NODE_EXTRA_CA_CERTS: _ca, ...groundEnv } = g.env;
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: '/nonexistent',
    LANG: 'C.UTF-8',
    AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/credentials',
    AWS_CONFIG_FILE: '/nonexistent/config',
    AWS_REGION: 'eu-west-1',
    AWS_DEFAULT_REGION: 'eu-west-1',
    ...groundEnv,
    S3_HEALTH_TIMEOUT_SECONDS: '4',
    S3_HEALTH_PREFIX: 'parity/',
    ...(trusted ? { [forNode ? 'NODE_EXTRA_CA_CERTS' : 'AWS_CA_BUNDLE']: rgw.caFile } : {}),
  };
}

async function run(
  cmd: string,
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = spawn(cmd, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (b: Buffer) => {
    stdout += b.toString();
  });
  child.stderr.on('data', (b: Buffer) => {
    stderr += b.toString();
  });
  const code = await new Promise<number>((resolve) => child.on('close', (c) => resolve(c ?? -1)));
  return { code, stdout, stderr };
}

async function sidecar(env: Record<string, string>): Promise<SidecarVerdict> {
  const r = await run(
    process.execPath,
    [...GUARD_NODE_ARGS, 'src/cli.ts', 'diagnose', '--json'],
    env,
  );
  let doc: { status: string; checks: { check: string; status: string; reason?: string }[] };
  try {
    doc = JSON.parse(r.stdout) as typeof doc;
  } catch {
    throw new Error(`sidecar gave no report (exit ${r.code}): ${r.stderr.slice(-800)}`);
  }
  const s3 = doc.checks.find((c) => c.check === 's3');
  return {
    // The app's question: does the round trip work? A warning (the lint) is an answer of yes.
    verdict: s3 !== undefined && s3.status !== 'fail' ? 'pass' : 'fail',
    status: doc.status,
    reasons: doc.checks.flatMap((c) => (c.reason === undefined ? [] : [c.reason])),
  };
}

async function boto3(env: Record<string, string>): Promise<{ verdict: Verdict; detail: string }> {
  const r = await run('python3', [PROBE], env);
  const line = r.stdout.trim().split('\n').pop() ?? '';
  try {
    const doc = JSON.parse(line) as {
      verdict: Verdict;
      step?: string;
      error?: string;
      status?: number;
    };
    return {
      verdict: doc.verdict,
      detail:
        doc.verdict === 'pass'
          ? ''
          : `${doc.step}: ${doc.error}${doc.status ? ` ${doc.status}` : ''}`,
    };
  } catch {
    throw new Error(`boto3 probe failed to run (exit ${r.code}): ${r.stderr.slice(-800)}`);
  }
}

function connects(entries: AccessEntry[]): string {
  const c = entries.filter((e) => e.method === 'CONNECT');
  if (entries.length === 0) return 'nothing';
  const by = new Map<string, number>();
  for (const e of entries) {
    const k = `${e.method} ${e.target} ${e.status}${e.user !== '-' ? ` (${e.user})` : ''}`;
    by.set(k, (by.get(k) ?? 0) + 1);
  }
  return `${c.length} CONNECT: ${[...by].map(([k, n]) => `${n}× ${k}`).join(', ')}`;
}

const CELLS: Cell[] = [
  {
    name: 'direct (no proxy), private CA trusted',
    env: () => ({}),
    trusted: true,
    reasons: [],
    verdict: 'pass',
    throughProxy: false,
  },
  {
    name: "proxy up, the runbook's NO_PROXY (S3 and STS not in it)",
    env: () => ({ HTTPS_PROXY: squid.url('open'), NO_PROXY: RUNBOOK_NO_PROXY }),
    trusted: true,
    reasons: [],
    verdict: 'pass',
    throughProxy: true,
  },
  {
    name: 'proxy down',
    env: () => ({ HTTPS_PROXY: `http://127.0.0.1:${closedPort}`, NO_PROXY: RUNBOOK_NO_PROXY }),
    trusted: true,
    reasons: ['proxy_unreachable'],
    verdict: 'fail',
    throughProxy: false,
  },
  {
    name: 'proxy denies the S3 host (403 on CONNECT)',
    env: () => ({ HTTPS_PROXY: squid.url('deny'), NO_PROXY: RUNBOOK_NO_PROXY }),
    trusted: true,
    reasons: ['proxy_denied'],
    verdict: 'fail',
    throughProxy: true,
  },
  {
    name: 'proxy needs auth, none given (407)',
    env: () => ({ HTTPS_PROXY: squid.url('auth'), NO_PROXY: RUNBOOK_NO_PROXY }),
    trusted: true,
    reasons: ['proxy_auth_required'],
    verdict: 'fail',
    throughProxy: true,
  },
  {
    name: 'proxy needs auth, credentials in the URL',
    env: () => ({ HTTPS_PROXY: squid.url('auth', true), NO_PROXY: RUNBOOK_NO_PROXY }),
    trusted: true,
    reasons: [],
    verdict: 'pass',
    throughProxy: true,
  },
  {
    name: 'NO_PROXY exempts S3 and STS (direct while the proxy is down)',
    env: () => ({
      https_proxy: `http://127.0.0.1:${closedPort}`,
      no_proxy: `${RUNBOOK_NO_PROXY},127.0.0.2`,
    }),
    trusted: true,
    reasons: [],
    verdict: 'pass',
    throughProxy: false,
  },
  {
    name: 'private CA not trusted (direct)',
    env: () => ({}),
    trusted: false,
    reasons: ['tls_untrusted'],
    verdict: 'fail',
    throughProxy: false,
  },
  {
    name: "NO_PROXY without the metadata address (IMDSv2 required): botocore's IMDS call goes to the proxy",
    env: () => ({
      HTTP_PROXY: squid.url('open'),
      HTTPS_PROXY: squid.url('open'),
      NO_PROXY: 'localhost',
    }),
    ground: () => required,
    trusted: true,
    reasons: ['env_proxy_without_no_proxy'],
    verdict: 'pass',
    exception: {
      boto3: 'fail',
      why: 'the sidecar never sends metadata calls through a proxy (its own credentials stay direct) and warns env_proxy_without_no_proxy instead: the proxy adds X-Forwarded-For, which IMDSv2 refuses on the token PUT, so boto3 gets no credentials',
    },
    throughProxy: true,
  },
];

describe('parity with boto3 through a real squid, over HTTPS', () => {
  const table: string[] = [
    '| cell | boto3 | sidecar (s3 verdict, overall, reasons) | squid saw (boto3 / sidecar) |',
    '|---|---|---|---|',
  ];
  afterAll(() => {
    process.stdout.write(`[parity]\n${table.join('\n')}\n`);
  });

  for (const cell of CELLS) {
    it(cell.name, async () => {
      const g = cell.ground?.() ?? ground;
      const extra = cell.env();
      const before = squid.entries().length;
      const py = await boto3({ ...baseEnv(g, cell.trusted === true, false), ...extra });
      const mid = squid.entries().length;
      const node = await sidecar({ ...baseEnv(g, cell.trusted === true, true), ...extra });
      const all = squid.entries();
      const sawPy = all.slice(before, mid);
      const sawNode = all.slice(mid);
      table.push(
        `| ${cell.name} | ${py.verdict}${py.detail ? ` (${py.detail})` : ''} | ${node.verdict}, ${node.status}${node.reasons.length ? `, ${node.reasons.join(' ')}` : ''} | ${connects(sawPy)} / ${connects(sawNode)} |`,
      );
      expect(py.verdict, 'boto3').toBe(cell.exception?.boto3 ?? cell.verdict);
      expect(node.verdict, 'sidecar').toBe(cell.verdict);
      for (const r of cell.reasons) expect(node.reasons).toContain(r);
      if (cell.reasons.length === 0) expect(node.reasons).toEqual([]);
      if (cell.throughProxy) {
        // Wherever the app's traffic went through the proxy, the sidecar's did too.
        expect(sawPy.length, 'boto3 through squid').toBeGreaterThan(0);
        expect(sawNode.filter((e) => e.method === 'CONNECT').length).toBeGreaterThan(0);
      } else {
        expect(sawPy.length + sawNode.length, 'nothing through squid').toBe(0);
      }
    }, 60_000);
  }
});

/** A plain TCP relay in front of rgw's TLS port: each connection it accepts is one TLS handshake. */
async function countingRelay(
  target: URL,
): Promise<{ url: string; connections: () => number; close: () => Promise<void> }> {
  let n = 0;
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    n++;
    const upstream = connectTcp(Number(target.port), target.hostname);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {});
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.3', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `https://127.0.0.3:${port}`,
    connections: () => n,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}

async function serveCycles(env: Record<string, string>, cycles: number): Promise<number> {
  const [port = 0] = await freePorts(1);
  const child = spawn(process.execPath, [...GUARD_NODE_ARGS, 'src/cli.ts', 'serve'], {
    cwd: ROOT,
    env: {
      ...env,
      S3_HEALTH_PORT: String(port),
      S3_HEALTH_HOST: '127.0.0.1',
      S3_HEALTH_LOG_LEVEL: 'warn',
      S3_HEALTH_INTERVAL_SECONDS: '1',
      S3_HEALTH_TIMEOUT_SECONDS: '0.9',
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (b: Buffer) => {
    stderr += b.toString();
  });
  const exited = new Promise((r) => child.once('exit', r));
  try {
    const end = Date.now() + 40_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`serve exited ${child.exitCode}: ${stderr}`);
      const text = await fetch(`http://127.0.0.1:${port}/metrics`).then(
        (r) => r.text(),
        () => '',
      );
      const done = Number(/^s3_health_cycles_total (\d+)/m.exec(text)?.[1] ?? 0);
      if (done >= cycles) return done;
      if (Date.now() > end) throw new Error(`only ${done} cycles in 40 s: ${stderr}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  } finally {
    if (child.exitCode === null) child.kill('SIGTERM');
    await exited;
  }
}

describe('what the path costs over HTTPS with keep-alive', () => {
  const CYCLES = 10;
  it(`TLS handshakes in ${CYCLES} cycles: one per client, direct and through the proxy`, async () => {
    const relay = await countingRelay(new URL(rgw.httpsEndpoint));
    try {
      const direct = {
        ...baseEnv(ground, true, true),
        AWS_ENDPOINT_URL_S3: relay.url,
        S3_HEALTH_INTERVAL_SECONDS: '0.5',
      };
      const n = await serveCycles(direct, CYCLES);
      const directS3 = relay.connections();
      const before = squid.entries().length;
      const viaProxy = {
        ...baseEnv(ground, true, true),
        HTTPS_PROXY: squid.url('open'),
        NO_PROXY: RUNBOOK_NO_PROXY,
      };
      const m = await serveCycles(viaProxy, CYCLES);
      const tunnels = squid
        .entries()
        .slice(before)
        .filter((e) => e.method === 'CONNECT');
      const s3Port = new URL(rgw.httpsEndpoint).port;
      const s3Tunnels = tunnels.filter((e) => e.target.endsWith(`:${s3Port}`)).length;
      const stsTunnels = tunnels.length - s3Tunnels;
      process.stdout.write(
        `[parity] cost: direct ${directS3} S3 TLS handshakes in ${n} cycles; through squid ${s3Tunnels} S3 + ${stsTunnels} STS CONNECT tunnels (one TLS handshake each) in ${m} cycles; requests per cycle by design: S3 PUT, HEAD, GET, DELETE (4) + STS GetCallerIdentity (1)\n`,
      );
      // Keep-alive holds: the S3 connection is reused across cycles, not made per request.
      expect(directS3).toBeGreaterThanOrEqual(1);
      expect(directS3).toBeLessThanOrEqual(2);
      expect(s3Tunnels).toBeGreaterThanOrEqual(1);
      expect(s3Tunnels).toBeLessThanOrEqual(2);
      expect(stsTunnels).toBeLessThanOrEqual(2);
    } finally {
      await relay.close();
    }
  }, 120_000);
});

it('squid is the real one from Debian', () => {
  const v = spawnSync('squid', ['-v'], { encoding: 'utf8' });
  expect(v.stdout).toMatch(/Squid Cache: Version \d+\./);
});
