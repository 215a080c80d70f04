// The peers of the pasteability tier: the machine's AWS CLI and a moto_server on
// loopback holding the account the fixes are pasted into. Missing peers throw
// with the reason (never a skip); the server is stopped by pid, also on failure.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { World } from './cases.ts';

const HERE = dirname(new URL(import.meta.url).pathname);

export const WORLD_NAMES = {
  region: 'eu-west-1',
  bucket: 'acme-kb-prod',
  appRole: 'kdcube-app-role',
  expectedRole: 'kdcube-s3-role',
  cluster: 'prod-eu',
};

/**
 * Operations moto_server 5.2.1 cannot answer, and why (measured: the tier also
 * sends each one for real and records moto's answer). These commands are
 * checked by awscli's own parser and validator instead (--generate-cli-skeleton
 * output: arguments parsed, parameters validated and serialized, nothing sent).
 */
/**
 * The versions MOTO_CANNOT was made against; scripts/install-peers.sh pins
 * them for a venv, and the pasteable tier checks the ones it finds.
 */
export const PINNED = { moto: '5.2.1', awscli: '1.45.11' } as const;

export const MOTO_CANNOT: Record<string, string> = {
  'eks:list-pod-identity-associations': 'moto has no EKS Pod Identity API (HTTP 404)',
  'eks:create-pod-identity-association': 'moto has no EKS Pod Identity API (HTTP 404)',
  'eks:describe-addon': 'moto has no EKS add-on API (HTTP 404)',
  'eks:create-addon': 'moto has no EKS add-on API (HTTP 404)',
  'ec2:get-instance-metadata-defaults':
    'moto does not implement GetInstanceMetadataDefaults (HTTP 500)',
  'kms:enable-key': 'moto 5.2.1 EnableKey looks a key ARN up as a raw key id (KeyError, HTTP 500)',
  'kms:cancel-key-deletion':
    'moto 5.2.1 CancelKeyDeletion looks a key ARN up as a raw key id (KeyError, HTTP 500)',
};

export interface Peers {
  python: string;
  aws: string;
  motoServer: string;
}

/** The Python that has moto, awscli and flask: the one scripts/install-peers.sh ensured. */
export function findPeers(): Peers {
  const tried: string[] = [];
  for (const py of ['python3', '/usr/bin/python3', '/var/cache/s3-health/venv/bin/python']) {
    const r = spawnSync(
      py,
      ['-c', 'import moto, awscli, flask, boto3, sys; print(sys.executable)'],
      { encoding: 'utf8' },
    );
    if (r.status !== 0) {
      tried.push(`${py}: ${(r.error?.message ?? r.stderr.trim().split('\n').pop()) || 'failed'}`);
      continue;
    }
    const bin = dirname(r.stdout.trim());
    const aws = join(bin, 'aws');
    const motoServer = join(bin, 'moto_server');
    if (existsSync(aws) && existsSync(motoServer))
      return { python: r.stdout.trim(), aws, motoServer };
    tried.push(`${py}: no aws or moto_server next to ${r.stdout.trim()}`);
  }
  throw new Error(
    `pasteability tier cannot run: no Python with moto[server] and awscli (run scripts/install-peers.sh). Tried: ${tried.join('; ')}`,
  );
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

async function waitUp(url: string, proc: ChildProcess, log: () => string): Promise<void> {
  const until = Date.now() + 30_000;
  while (Date.now() < until) {
    if (proc.exitCode !== null) throw new Error(`moto_server exited ${proc.exitCode}: ${log()}`);
    try {
      const r = await fetch(url);
      if (r.ok) return;
    } catch {}
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`moto_server did not answer at ${url} within 30 s: ${log()}`);
}

// The aws a pasted fix finds on PATH: records each call and runs the real CLI.
// Operations moto cannot answer are sent once for the record, then dry-parsed.
const SHIM = `#!/usr/bin/env bash
id="$(date +%s%N)-$$"
printf '%s\\0' "$@" > "$S3H_AWS_LOG/$id.argv"
# Every call runs: against moto, or (an operation moto cannot answer) through
# awscli's own parameter validation. Nothing is answered from an earlier paste.
case " $S3H_MOTO_CANNOT " in
  *" $1:$2 "*)
    # What moto says to it, for the record (once a run: the op, not the paste, is beyond moto).
    probe="$S3H_MOTO_PROBED/$1:$2"
    if [ ! -e "$probe.rc" ]; then
      AWS_MAX_ATTEMPTS=1 "$S3H_REAL_AWS" "$@" >/dev/null 2>"$probe.err"
      echo $? > "$probe.rc"
    fi
    moto=$(cat "$probe.rc")
    cp "$probe.err" "$S3H_AWS_LOG/$id.moto"
    "$S3H_REAL_AWS" "$@" --generate-cli-skeleton output >"$S3H_AWS_LOG/$id.out" 2>"$S3H_AWS_LOG/$id.err"
    rc=$?
    cat "$S3H_AWS_LOG/$id.out"
    echo "dry $rc $moto" > "$S3H_AWS_LOG/$id.res"
    ;;
  *)
    "$S3H_REAL_AWS" "$@" >"$S3H_AWS_LOG/$id.out" 2>"$S3H_AWS_LOG/$id.err"
    rc=$?
    cat "$S3H_AWS_LOG/$id.out"
    echo "run $rc" > "$S3H_AWS_LOG/$id.res"
    ;;
esac
cat "$S3H_AWS_LOG/$id.err" >&2
exit $rc
`;

export interface Moto {
  world: World;
  peers: Peers;
  endpoint: string;
  /** Environment of a pasted fix: dummy keys, moto endpoint, no IMDS, no proxy, another region. */
  env(logDir: string): NodeJS.ProcessEnv;
  stop(): void;
}

export async function startMoto(): Promise<Moto> {
  const peers = findPeers();
  const home = mkdtempSync(join(tmpdir(), 's3h-paste-'));
  const shimDir = join(home, 'bin');
  mkdirSync(shimDir);
  mkdirSync(join(home, 'probed'));
  writeFileSync(join(shimDir, 'aws'), SHIM);
  chmodSync(join(shimDir, 'aws'), 0o755);
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  let output = '';
  // A guard shell owns moto_server: SIGTERM to it stops moto by pid, and it
  // stops moto itself when this process dies without running exit hooks.
  const guard = [
    '"$MOTO" -H 127.0.0.1 -p "$PORT" & moto=$!',
    'trap \'kill "$moto" 2>/dev/null; exit 0\' TERM',
    'while kill -0 "$OWNER" 2>/dev/null && kill -0 "$moto" 2>/dev/null; do sleep 1; done',
    'kill "$moto" 2>/dev/null',
  ].join('\n');
  const proc = spawn('bash', ['-c', guard], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      PATH: process.env.PATH ?? '',
      HOME: home,
      LANG: 'C.UTF-8',
      MOTO: peers.motoServer,
      PORT: String(port),
      OWNER: String(process.pid),
    },
  });
  const keep = (b: Buffer) => {
    output = (output + b.toString()).slice(-4000);
  };
  proc.stdout?.on('data', keep);
  proc.stderr?.on('data', keep);
  const kill = () => {
    if (proc.exitCode === null && proc.pid !== undefined) {
      try {
        process.kill(proc.pid, 'SIGTERM');
      } catch {}
    }
  };
  process.once('exit', kill);
  const stop = () => {
    kill();
    process.removeListener('exit', kill);
    rmSync(home, { recursive: true, force: true });
  };
  const baseEnv: NodeJS.ProcessEnv = {
    PATH: `${shimDir}:${process.env.PATH ?? '/usr/bin:/bin'}`,
    HOME: home,
    LANG: 'C.UTF-8',
    AWS_ACCESS_KEY_ID: 'AKIAIOSFODNN7EXAMPLE',
    AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
    AWS_ENDPOINT_URL: endpoint,
    AWS_EC2_METADATA_DISABLED: 'true',
    // On-call's shell points at some region; not the bucket's, so a regional
    // command without --region meets an empty region in moto and fails.
    AWS_DEFAULT_REGION: 'us-east-1',
    AWS_CONFIG_FILE: join(home, 'aws-config'),
    AWS_SHARED_CREDENTIALS_FILE: join(home, 'aws-credentials'),
    S3H_REAL_AWS: peers.aws,
    S3H_MOTO_CANNOT: Object.keys(MOTO_CANNOT).join(' '),
    // Each operation moto cannot answer is sent for real once per run, for the record.
    S3H_MOTO_PROBED: join(home, 'probed'),
  };
  try {
    await waitUp(`${endpoint}/moto-api/`, proc, () => output);
    const r = spawnSync(
      peers.python,
      [
        join(HERE, 'moto-world.py'),
        WORLD_NAMES.region,
        WORLD_NAMES.bucket,
        WORLD_NAMES.appRole,
        WORLD_NAMES.expectedRole,
        WORLD_NAMES.cluster,
      ],
      { encoding: 'utf8', env: { ...baseEnv, AWS_MAX_ATTEMPTS: '1' } },
    );
    if (r.status !== 0) throw new Error(`moto world setup failed: ${r.stderr}`);
    const ids = JSON.parse(r.stdout) as Omit<World, keyof typeof WORLD_NAMES>;
    return {
      world: { ...WORLD_NAMES, ...ids },
      peers,
      endpoint,
      env: (logDir) => ({ ...baseEnv, S3H_AWS_LOG: logDir }),
      stop,
    };
  } catch (e) {
    stop();
    throw e;
  }
}
