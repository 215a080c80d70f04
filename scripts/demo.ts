// `npm run demo`: s3-health against the built-in local ground — a real
// radosgw (S3), the IMDS emulator handing out real temporary credentials,
// an STS endpoint — all on loopback. Faults can be switched on while it runs.
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startGround } from '../ground/ground.ts';
import { withProbeRole } from '../ground/radosgw/info.ts';
import { radosgwInstalled, startRadosgw } from '../ground/radosgw/radosgw.ts';
import { GUARD_NODE_ARGS, installNetworkGuard } from '../ground/shared/network-guard.ts';

const PORT = Number(process.env.S3_HEALTH_PORT ?? 8080);
const CONTROL_PORT = Number(process.env.DEMO_CONTROL_PORT ?? 8081);
const root = fileURLToPath(new URL('..', import.meta.url));

if (!radosgwInstalled()) {
  console.log('[demo] radosgw is missing; installing the local peers (Debian packages)...');
  const r = spawnSync('bash', ['scripts/install-peers.sh'], {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, S3H_WITH_DOCKER: '0' },
  });
  if (r.status !== 0) process.exit(1);
}

// The demo itself never talks to the real metadata service either.
installNetworkGuard('the demo');
process.env.AWS_EC2_METADATA_DISABLED = 'true';
console.log('[demo] starting radosgw (real S3) ...');
const rgw = await startRadosgw();
// S3 and STS over HTTPS, as production speaks to AWS, with a CA this run
// made: handed to the sidecar as a user would (NODE_EXTRA_CA_CERTS).
const ground = await startGround(await withProbeRole(rgw), {
  bucket: 'kb-demo-bucket',
  controlPort: CONTROL_PORT,
  tls: true,
});
const control = ground.imds.controlUrl ?? `http://127.0.0.1:${CONTROL_PORT}`;

const child = spawn(process.execPath, [...GUARD_NODE_ARGS, 'src/cli.ts', 'serve'], {
  cwd: root,
  stdio: 'inherit',
  env: {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '/root',
    ...ground.env,
    NODE_EXTRA_CA_CERTS: rgw.caFile,
    KB_STORAGE_URI: `s3://${ground.bucket}/kb/`,
    S3_HEALTH_PORT: String(PORT),
    S3_HEALTH_HOST: '127.0.0.1',
    S3_HEALTH_INTERVAL_SECONDS: process.env.S3_HEALTH_INTERVAL_SECONDS ?? '10',
    S3_HEALTH_TIMEOUT_SECONDS: '3',
  },
});

console.log(`
[demo] s3-health on http://127.0.0.1:${PORT}  (Ctrl-C stops everything)
  S3 ${ground.env.AWS_ENDPOINT_URL_S3} and STS ${ground.env.AWS_ENDPOINT_URL_STS} over HTTPS; the sidecar trusts ${rgw.caFile}
  curl -s http://127.0.0.1:${PORT}/healthz?verbose
  curl -s http://127.0.0.1:${PORT}/metrics | grep ^s3_health_
  curl -s http://127.0.0.1:${PORT}/diagnose
[demo] switch an IMDS fault on (then curl /diagnose), and back off:
  curl -X PUT ${control}/fault/token-blackhole          # hop limit 1, IMDSv1 fallback
  curl -X PUT ${control}/tokens-required/true           # ... and with IMDSv2 required
  curl -X PUT ${control}/fault/no-role                  # no instance profile
  curl -X PUT ${control}/fault/credentials-expiring?expiresInSeconds=200
  curl -X PUT ${control}/fault/none ; curl -X PUT ${control}/tokens-required/false
  faults: none token-blackhole token-reset disabled no-role role-error slow throttled hang malformed huge-body credentials-expiring credentials-expired
`);

let stopping = false;
async function stop(code: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  // The sidecar may be gone already (it exits on a bad configuration): its
  // 'exit' has fired then, and waiting for another would hang with the peers up.
  if (child.exitCode === null && child.signalCode === null) {
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  }
  await ground.close();
  await rgw.stop();
  process.exit(code);
}
process.on('SIGINT', () => void stop(0));
process.on('SIGTERM', () => void stop(0));
child.on('exit', (code) => void stop(code ?? 1));
