// The "AWS side" of a simulated EC2 instance, run as one process inside the
// aws network namespace of ground/netns/netns.ts (see ground/netns/ec2-sim.ts):
//   - a real radosgw (S3 + STS AssumeRole) on the peer address,
//   - the STS endpoint answering GetCallerIdentity on the peer address,
//   - the IMDS emulator on 169.254.169.254:80 handing out rgw's real
//     temporary credentials.
// The parent lives in another network namespace and cannot reach any TCP
// address in here, so the control plane is HTTP over a unix socket: a
// filesystem path is shared across network namespaces.
//
// CLI: node ground/netns/ec2-aws-side.ts --peer-address A --control-socket PATH
//   [--imds-address 169.254.169.254] [--rgw-port 7480] [--sts-port 7481]
// Prints one JSON line (Ec2AwsSideInfo) when ready; SIGTERM stops everything.
import { rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { GROUND_IDENTITY } from '../ground.ts';
import type { ImdsEmulator, ImdsIdentity } from '../imds/emulator.ts';
import { startImdsEmulator } from '../imds/emulator.ts';
import { linkImdsToSts } from '../imds/sts-link.ts';
import { startSquid } from '../proxy/squid.ts';
import { assumeRoleSource, createBucket, withProbeRole } from '../radosgw/info.ts';
import { type Radosgw, startRadosgw } from '../radosgw/radosgw.ts';
import { type StsEndpoint, startStsEndpoint } from '../sts/endpoint.ts';
import { makeGroundTls } from '../tls/ca.ts';

export interface Ec2AwsSideInfo {
  /** S3 endpoint as seen from the host and container namespaces */
  s3Endpoint: string;
  /** the same radosgw over HTTPS, certificate from `caFile` */
  s3TlsEndpoint: string;
  /** the CA a client must be given to trust s3TlsEndpoint */
  caFile: string;
  /** squid on the peer address, letting every CONNECT through */
  proxyUrl: string;
  /** its access log (a path: the filesystem is shared across namespaces) */
  proxyLog: string;
  stsEndpoint: string;
  imdsUrl: string;
  bucket: string;
  identity: ImdsIdentity;
  /** rgw's role behind the instance profile */
  roleArn: string;
  /** pids inside the aws namespace, for leak checks */
  pids: { self: number; mon: number; osd: number; rgw: number };
  startMs: number;
}

interface Args {
  peerAddress: string;
  imdsAddress: string;
  controlSocket: string;
  rgwPort: number;
  stsPort: number;
  bucket: string;
}

function reply(res: ServerResponse, status: number, doc: unknown): void {
  const body = `${JSON.stringify(doc)}\n`;
  res.writeHead(status, { 'Content-Type': 'application/json' });
  res.end(body);
}

/** Same routes as the emulator's TCP control plane (ground/imds/control.ts), minus faults. */
function route(imds: ImdsEmulator, method: string, path: string): [number, unknown] {
  if (method === 'GET' && path === '/state') return [200, imds.state()];
  if (method === 'GET' && path === '/counters') return [200, imds.counters()];
  if (method === 'PUT' && path === '/counters/reset') {
    imds.resetCounters();
    return [200, imds.counters()];
  }
  const tokens = /^\/tokens-required\/(true|false)$/.exec(path);
  if (method === 'PUT' && tokens) {
    imds.setTokensRequired(tokens[1] === 'true');
    return [200, imds.state()];
  }
  return [404, { error: `no route ${method} ${path}` }];
}

function controlHandler(imds: ImdsEmulator) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    req.resume();
    const path = new URL(req.url ?? '/', 'http://control').pathname;
    const [status, doc] = route(imds, req.method ?? 'GET', path);
    reply(res, status, doc);
  };
}

async function start(a: Args): Promise<{ info: Ec2AwsSideInfo; stop: () => Promise<void> }> {
  const t0 = performance.now();
  const stops: (() => Promise<void>)[] = [];
  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      for (const s of [...stops].reverse()) await s().catch(() => {});
    })();
    return stopping;
  };
  try {
    // Beast listens on loopback (for this process's admin calls, which
    // startRadosgw expects on 127.0.0.1) and on the peer address. ceph.conf
    // keeps the last value of a repeated key, so this replaces the default.
    // A CA of this side's own whose certificate also names the peer address:
    // clients in other namespaces reach rgw over HTTPS there.
    const tls = makeGroundTls(join(process.env.TMPDIR ?? tmpdir(), 'aws-side-tls'), [
      a.peerAddress,
    ]);
    const tlsPort = a.rgwPort + 2;
    const rgw: Radosgw = await startRadosgw({
      port: a.rgwPort,
      rgwConf: {
        'rgw frontends': `beast endpoint=127.0.0.1:${a.rgwPort} endpoint=${a.peerAddress}:${a.rgwPort} ssl_endpoint=${a.peerAddress}:${tlsPort} ssl_certificate=${tls.combinedFile} tcp_nodelay=1`,
      },
    });
    stops.push(() => rgw.stop());
    // A forward proxy on the AWS side, as the egress proxy of a VPC would be.
    const squid = await startSquid('0.0.0.0/32', a.peerAddress);
    stops.push(() => squid.stop());
    const info = await withProbeRole(rgw, 's3-health-instance-role');
    await createBucket(info, a.bucket);
    const sts: StsEndpoint = await startStsEndpoint({ host: a.peerAddress, port: a.stsPort });
    stops.push(() => sts.close());
    const imds = await startImdsEmulator({
      host: a.imdsAddress,
      port: 80,
      identity: GROUND_IDENTITY,
      tokensRequired: false,
      credentials: assumeRoleSource(info),
      log: (m) => process.stderr.write(`imds-emulator: ${m}\n`),
    });
    stops.push(() => imds.close());
    linkImdsToSts(imds, sts);

    rmSync(a.controlSocket, { force: true });
    const control = createServer(controlHandler(imds));
    await new Promise<void>((resolve, reject) => {
      control.once('error', reject);
      control.listen(a.controlSocket, () => resolve());
    });
    stops.push(
      () =>
        new Promise<void>((resolve) => {
          control.close(() => resolve());
          control.closeAllConnections();
        }),
    );
    return {
      info: {
        s3Endpoint: `http://${a.peerAddress}:${a.rgwPort}`,
        s3TlsEndpoint: `https://${a.peerAddress}:${tlsPort}`,
        caFile: tls.caFile,
        proxyUrl: squid.url('open'),
        proxyLog: squid.accessLog,
        stsEndpoint: sts.url,
        imdsUrl: imds.url,
        bucket: a.bucket,
        identity: imds.identity,
        roleArn: info.roleArn,
        pids: { self: process.pid, ...rgw.pids },
        startMs: Math.round(performance.now() - t0),
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

async function main(): Promise<void> {
  // Only explicit credentials are used here; never let the SDK wander to IMDS.
  process.env.AWS_EC2_METADATA_DISABLED = 'true';
  const { values } = parseArgs({
    options: {
      'peer-address': { type: 'string' },
      'imds-address': { type: 'string', default: '169.254.169.254' },
      'control-socket': { type: 'string' },
      'rgw-port': { type: 'string', default: '7480' },
      'sts-port': { type: 'string', default: '7481' },
      bucket: { type: 'string', default: 's3-health-system' },
    },
    strict: true,
  });
  const peerAddress = values['peer-address'];
  const controlSocket = values['control-socket'];
  if (!peerAddress || !controlSocket) throw new Error('--peer-address and --control-socket needed');
  const { info, stop } = await start({
    peerAddress,
    imdsAddress: values['imds-address'],
    controlSocket,
    rgwPort: Number(values['rgw-port']),
    stsPort: Number(values['sts-port']),
    bucket: values.bucket,
  });
  let stopping = false;
  const shutdown = () => {
    if (stopping) return;
    stopping = true;
    stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
  process.stdout.write(`${JSON.stringify(info)}\n`);
}

if (import.meta.main) {
  main().catch((err: unknown) => {
    process.stderr.write(`ec2-aws-side: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
