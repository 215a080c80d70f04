// A private CA that the run makes (openssl, Debian's), and a server
// certificate from it for the ground's loopback peers: what a host with a
// corporate or private CA has. Trusted by the sidecar through
// NODE_EXTRA_CA_CERTS, by boto3 through AWS_CA_BUNDLE; by nobody otherwise.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface GroundTls {
  /** The CA's certificate (PEM): what clients are told to trust. */
  caFile: string;
  /** Server certificate followed by the CA (PEM), and its key. */
  certFile: string;
  keyFile: string;
  /** certificate, chain and key in one file (beast's ssl_certificate takes this) */
  combinedFile: string;
}

/** Names the server certificate answers for: every loopback peer address of the ground. */
const SAN = 'IP:127.0.0.1,IP:127.0.0.2,IP:127.0.0.3,DNS:localhost';

function openssl(args: string[], cwd: string): void {
  const r = spawnSync('openssl', args, { cwd, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`openssl ${args[0]} failed: ${r.stderr || r.error?.message}`);
}

/**
 * Set by a test run's global setup: every radosgw and STS endpoint of the run
 * (in any worker) serves a certificate from this one CA, which the workers
 * trust from their start (NODE_EXTRA_CA_CERTS is read only then).
 */
export const SHARED_TLS_DIR_ENV = 'S3H_GROUND_TLS_DIR';

function filesIn(dir: string): GroundTls {
  return {
    caFile: join(dir, 'ca.pem'),
    certFile: join(dir, 'chain.pem'),
    keyFile: join(dir, 'server.key'),
    combinedFile: join(dir, 'combined.pem'),
  };
}

/** The run's shared CA where its global setup made one, else a new one in `dir`. */
export function groundTls(dir: string): GroundTls {
  const shared = process.env[SHARED_TLS_DIR_ENV];
  if (shared !== undefined && existsSync(join(shared, 'combined.pem'))) return filesIn(shared);
  return makeGroundTls(dir);
}

/**
 * Writes a CA and a server certificate into `dir` (created if needed); the
 * certificate also names `extraIps` (a peer address in a network namespace).
 */
export function makeGroundTls(dir: string, extraIps: readonly string[] = []): GroundTls {
  mkdirSync(dir, { recursive: true });
  openssl(
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      'ca.key',
      '-out',
      'ca.pem',
      '-days',
      '2',
      '-subj',
      '/CN=s3-health ground CA',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ],
    dir,
  );
  openssl(
    [
      'req',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      'server.key',
      '-out',
      'server.csr',
      '-subj',
      '/CN=127.0.0.1',
    ],
    dir,
  );
  writeFileSync(
    join(dir, 'server.ext'),
    `subjectAltName=${[SAN, ...extraIps.map((ip) => `IP:${ip}`)].join(',')}\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n`,
  );
  openssl(
    [
      'x509',
      '-req',
      '-in',
      'server.csr',
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-out',
      'server.pem',
      '-days',
      '2',
      '-extfile',
      'server.ext',
    ],
    dir,
  );
  const ca = readFileSync(join(dir, 'ca.pem'), 'utf8');
  const cert = readFileSync(join(dir, 'server.pem'), 'utf8');
  const key = readFileSync(join(dir, 'server.key'), 'utf8');
  writeFileSync(join(dir, 'chain.pem'), cert + ca);
  writeFileSync(join(dir, 'combined.pem'), cert + ca + key);
  return filesIn(dir);
}
