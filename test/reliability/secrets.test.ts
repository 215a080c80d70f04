// No secret shown, anywhere: the IMDS role credentials (secret key and
// session token), temporary keys in the environment, and static long-term
// keys. Every output the sidecar has is collected at log level trace, with
// error paths exercised (including an S3 SignatureDoesNotMatch that echoes
// the canonical request, security token and all, as AWS does), then scanned.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { BodyOf } from '../../ground/fault/proxy.ts';
import { assumeRoleSource } from '../../ground/radosgw/info.ts';
import { GUARD_NODE_ARGS } from '../../ground/shared/network-guard.ts';
import type { FaultGround } from './support/ground.ts';
import { closeAll, openFaultGround } from './support/harness.ts';
import { getText } from './support/http.ts';
import { waitPass } from './support/matrix.ts';
import {
  baseEnv,
  freePort,
  type SidecarProcess,
  spawnSidecar,
  waitListening,
} from './support/process.ts';
import { scanAndRecord } from './support/secrets.ts';

const rgw = inject('rgw');
let g: FaultGround;

beforeAll(async () => {
  g = await openFaultGround();
}, 60_000);

afterAll(() => closeAll(g));

const ENDPOINTS = [
  '/',
  '/healthz',
  '/healthz?verbose',
  '/healthz/credentials',
  '/healthz/s3?verbose',
  '/metrics',
  '/diagnose',
  '/diagnose?format=json',
];

async function endpoints(s: SidecarProcess, label: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const p of ENDPOINTS) out[`${label} ${p}`] = (await getText(`${s.url}${p}`, 20_000)).body;
  return out;
}

async function cli(args: string[], env: Record<string, string>): Promise<string> {
  const child = spawn(process.execPath, [...GUARD_NODE_ARGS, 'src/cli.ts', ...args], {
    env: { ...baseEnv(), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  await once(child, 'exit');
  clearTimeout(timer);
  return out;
}

/** What S3 answers a bad signature with: the canonical request, signed headers included. */
const signatureDoesNotMatch: BodyOf = (req) => {
  const names = Object.keys(req.headers)
    .filter((h) => h === 'host' || h.startsWith('x-amz-'))
    .sort();
  const canonical = [
    req.method,
    req.url.split('?')[0],
    req.url.split('?')[1] ?? '',
    ...names.map((h) => `${h}:${String(req.headers[h])}`),
    '',
    names.join(';'),
    String(req.headers['x-amz-content-sha256'] ?? 'UNSIGNED-PAYLOAD'),
  ].join('\n');
  const keyId = /Credential=([^/]+)\//.exec(String(req.headers.authorization))?.[1] ?? '';
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>SignatureDoesNotMatch</Code><Message>The request signature we calculated does not match the signature you provided. Check your key and signing method.</Message><AWSAccessKeyId>${keyId}</AWSAccessKeyId><StringToSign>AWS4-HMAC-SHA256\n${String(req.headers['x-amz-date'])}</StringToSign><SignatureProvided>00</SignatureProvided><CanonicalRequest>${canonical}</CanonicalRequest><RequestId>ABC</RequestId><HostId>fault-proxy</HostId></Error>`;
};

/** Runs the sidecar through a pass and a list of error paths, then collects every output. */
async function exercise(
  label: string,
  env: Record<string, string>,
  faults: { name: string; on: () => Promise<void> | void }[],
  opts: { pass?: boolean; cli?: boolean } = {},
): Promise<Record<string, string>> {
  const s = spawnSidecar(
    {
      ...env,
      S3_HEALTH_INTERVAL_SECONDS: '0.5',
      S3_HEALTH_TIMEOUT_SECONDS: '0.5',
      S3_HEALTH_LOG_LEVEL: 'trace',
    },
    await freePort(),
  );
  await waitListening(s);
  const outputs: Record<string, string> = {};
  if (opts.pass ?? true) await waitPass(s.url, 20_000);
  else await new Promise((r) => setTimeout(r, 2000));
  Object.assign(outputs, await endpoints(s, `${label} first:`));
  for (const f of faults) {
    await f.on();
    await new Promise((r) => setTimeout(r, 1500));
    Object.assign(outputs, await endpoints(s, `${label} ${f.name}:`));
    await g.clearFaults();
  }
  await s.stop('SIGTERM');
  outputs[`${label}: logs (trace) and stderr`] = s.output();
  if (opts.cli ?? true) {
    outputs[`${label}: s3-health diagnose --json`] = await cli(['diagnose', '--json'], env);
    outputs[`${label}: s3-health config`] = await cli(['config'], env);
    outputs[`${label}: serve, invalid config`] = await cli(['serve'], {
      ...env,
      S3_HEALTH_PORT: 'eighty',
    });
  }
  return outputs;
}

/** The error paths did run: their traces are in the outputs that were scanned. */
function sawErrors(outputs: Record<string, string>, ...needles: string[]): void {
  const all = Object.values(outputs).join('\n');
  for (const n of needles)
    expect(all.includes(n), `no trace of ${n} in the scanned outputs`).toBe(true);
}

const s3Faults = () => [
  {
    name: 'S3 SignatureDoesNotMatch echoing the token',
    on: () =>
      g.proxies.s3.set(
        {
          kind: 'status',
          status: 403,
          body: signatureDoesNotMatch,
          headers: { 'content-type': 'application/xml' },
        },
        { method: 'PUT' },
      ),
  },
  { name: 'S3 reset', on: () => g.proxies.s3.set({ kind: 'reset' }) },
  { name: 'STS 500', on: () => g.sts.setFault('error500') },
];

describe('role credentials from IMDS', () => {
  it('never appear in logs, endpoints, CLI output or error messages', async () => {
    const outputs = await exercise('IMDS role', g.env, [
      ...s3Faults(),
      { name: 'IMDS credentials expired', on: () => g.imds.setFault('credentials-expired') },
      { name: 'IMDS malformed', on: () => g.imds.setFault('malformed') },
    ]);
    expect(g.secrets.size).toBeGreaterThan(0);
    sawErrors(
      outputs,
      'SignatureDoesNotMatch',
      'ECONNRESET',
      'InternalFailure',
      'imds_bad_response',
    );
    expect(
      scanAndRecord('IMDS role credentials: logs, 8 endpoints, CLI', outputs, g.secrets),
    ).toEqual([]);
  }, 120_000);

  it('never appear when the SDK itself reads a malformed credentials document', async () => {
    // Without the imds check, the chain is what parses IMDS's answer.
    const env = { ...g.env, S3_HEALTH_CHECKS: 'credentials,s3', AWS_REGION: 'eu-west-1' };
    const outputs = await exercise(
      'IMDS malformed, SDK parses',
      env,
      [{ name: 'IMDS malformed', on: () => g.imds.setFault('malformed') }],
      { cli: false },
    );
    // The SDK's own JSON.parse error reaches the report (as reason `unknown`).
    sawErrors(outputs, 'in JSON at position');
    expect(scanAndRecord('IMDS malformed document read by the SDK', outputs, g.secrets)).toEqual(
      [],
    );
  }, 120_000);
});

describe('keys in the environment', () => {
  it('temporary keys (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN)', async () => {
    const c = await assumeRoleSource(rgw)();
    g.sts.register(c.accessKeyId, {
      account: '123456789012',
      arn: 'arn:aws:sts::123456789012:assumed-role/app/session',
      userId: 'AROAEXAMPLE:session',
      secretAccessKey: c.secretAccessKey,
      sessionToken: c.sessionToken,
      expiration: c.expiration,
    });
    const env = {
      ...g.env,
      AWS_EC2_METADATA_DISABLED: 'true',
      S3_HEALTH_CHECKS: 'credentials,s3',
      AWS_REGION: 'eu-west-1',
      AWS_ACCESS_KEY_ID: c.accessKeyId,
      AWS_SECRET_ACCESS_KEY: c.secretAccessKey,
      AWS_SESSION_TOKEN: c.sessionToken,
    };
    const outputs = await exercise('env temporary keys', env, s3Faults(), { cli: false });
    sawErrors(outputs, 'signature_mismatch');
    const secrets = [c.secretAccessKey, c.sessionToken];
    expect(
      scanAndRecord('temporary keys in env: logs, 8 endpoints, CLI', outputs, secrets),
    ).toEqual([]);
  }, 120_000);

  it('static long-term keys, a wrong secret included', async () => {
    g.sts.register(rgw.admin.accessKeyId, {
      account: '123456789012',
      arn: 'arn:aws:iam::123456789012:user/app',
      userId: 'AIDAEXAMPLE',
      secretAccessKey: rgw.admin.secretAccessKey,
    });
    const env = {
      ...g.env,
      AWS_EC2_METADATA_DISABLED: 'true',
      S3_HEALTH_CHECKS: 'credentials,s3',
      AWS_REGION: 'eu-west-1',
      AWS_ACCESS_KEY_ID: rgw.admin.accessKeyId,
      AWS_SECRET_ACCESS_KEY: rgw.admin.secretAccessKey,
    };
    const outputs = await exercise('env static keys', env, s3Faults());
    const wrong = 'Wr0ngSecretKeyWr0ngSecretKeyWr0ngSecret1';
    Object.assign(
      outputs,
      await exercise(
        'env static keys, wrong secret',
        { ...env, AWS_SECRET_ACCESS_KEY: wrong },
        [],
        {
          pass: false,
          cli: false,
        },
      ),
    );
    sawErrors(outputs, 'SignatureDoesNotMatch', 'source":"env');
    expect(
      scanAndRecord(
        'static keys in env (right and wrong secret): logs, 8 endpoints, CLI',
        outputs,
        [rgw.admin.secretAccessKey, wrong],
      ),
    ).toEqual([]);
  }, 180_000);
});

describe('crash report', () => {
  let blocker: Server;
  let port: number;
  beforeAll(async () => {
    port = await freePort();
    blocker = createServer();
    await new Promise<void>((r) => blocker.listen(port, '127.0.0.1', r));
  });
  afterAll(async () => {
    await new Promise<void>((r) => blocker.close(() => r()));
  });

  // Regression (found by this suite, now fixed): a Node diagnostic report (NODE_OPTIONS=--report-on-fatalerror
  // / --report-uncaught-exception, common in production images) contains every
  // environment variable, AWS_SECRET_ACCESS_KEY included. Here the crash is the
  // listen port being taken (EADDRINUSE, itself an uncaught exception rather
  // than one clear line). Fix: `process.report.excludeEnv = true` first thing
  // in cli.ts (Node >= 22.13), and catch the listen error in main.ts.
  it('port taken, Node reports enabled: one clear line, no secret', async () => {
    const dir = mkdtempSync(join(tmpdir(), 's3h-report-'));
    try {
      const env = {
        ...g.env,
        S3_HEALTH_PORT: String(port),
        S3_HEALTH_HOST: '127.0.0.1',
        AWS_ACCESS_KEY_ID: rgw.admin.accessKeyId,
        AWS_SECRET_ACCESS_KEY: rgw.admin.secretAccessKey,
        NODE_OPTIONS: `--report-uncaught-exception --report-on-fatalerror --report-directory=${dir}`,
      };
      const stderr = await cli(['serve'], env);
      const outputs: Record<string, string> = { 'crash: stderr': stderr };
      for (const f of readdirSync(dir)) outputs[`crash: ${f}`] = readFileSync(join(dir, f), 'utf8');
      const hits = scanAndRecord('port taken: stderr (and any Node report)', outputs, [
        rgw.admin.secretAccessKey,
      ]);
      // A taken port is one clear line now, not an uncaught exception.
      expect(stderr).toContain(`cannot listen on 127.0.0.1:${port}: EADDRINUSE`);
      expect(hits).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('a Node diagnostic report (written on a signal) holds no environment, so no secret', async () => {
    const dir = mkdtempSync(join(tmpdir(), 's3h-report-'));
    const free = await freePort();
    const child = spawn(process.execPath, [...GUARD_NODE_ARGS, 'src/cli.ts', 'serve'], {
      env: {
        PATH: process.env.PATH ?? '',
        ...g.env,
        S3_HEALTH_PORT: String(free),
        S3_HEALTH_HOST: '127.0.0.1',
        AWS_ACCESS_KEY_ID: rgw.admin.accessKeyId,
        AWS_SECRET_ACCESS_KEY: rgw.admin.secretAccessKey,
        NODE_OPTIONS: `--report-on-signal --report-signal=SIGUSR2 --report-directory=${dir}`,
      },
      stdio: 'ignore',
    });
    try {
      await waitPass(`http://127.0.0.1:${free}`, 30_000).catch(() => undefined);
      child.kill('SIGUSR2');
      const end = Date.now() + 10_000;
      while (readdirSync(dir).length === 0 && Date.now() < end) {
        await new Promise((r) => setTimeout(r, 100));
      }
      const files = readdirSync(dir);
      expect(files.length).toBe(1);
      const outputs: Record<string, string> = {};
      for (const f of files) outputs[`report: ${f}`] = readFileSync(join(dir, f), 'utf8');
      const hits = scanAndRecord('Node diagnostic report (SIGUSR2)', outputs, [
        rgw.admin.secretAccessKey,
      ]);
      expect(hits).toEqual([]);
    } finally {
      child.kill('SIGTERM');
      await once(child, 'exit');
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
