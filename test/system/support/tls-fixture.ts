// A throwaway CA and a server certificate for 127.0.0.1, made with the
// openssl CLI: proves that Node in the image trusts whatever root sits in the
// system bundle, not only its own compiled-in roots.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TlsFixture {
  dir: string;
  /** file names inside dir */
  files: { caCert: string; serverCert: string; serverKey: string };
}

function openssl(args: string[], cwd: string): void {
  const r = spawnSync('openssl', args, { cwd, encoding: 'utf8', timeout: 30_000 });
  if (r.status !== 0) throw new Error(`openssl ${args.join(' ')}: ${r.stderr}`);
}

export function makeTlsFixture(): TlsFixture {
  const dir = mkdtempSync(join(tmpdir(), 's3h-tls-'));
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl(
    ['req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2'].concat([
      '-subj',
      '/CN=s3-health container test CA',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign',
    ]),
    dir,
  );
  openssl(
    ['req', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1'],
    dir,
  );
  writeFileSync(join(dir, 'server.ext'), 'subjectAltName=IP:127.0.0.1\n');
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
  // Read inside the container by its non-root user.
  chmodSync(dir, 0o755);
  for (const f of readdirSync(dir)) chmodSync(join(dir, f), 0o644);
  return { dir, files: { caCert: 'ca.pem', serverCert: 'server.pem', serverKey: 'server.key' } };
}

/**
 * Run inside the image (`node -e`): an HTTPS server on 127.0.0.1 with the
 * fixture's certificate, one request to it with Node's default trust, and a
 * JSON line saying whether the handshake was trusted.
 */
export const TLS_PROBE = `
const https = require('node:https');
const tls = require('node:tls');
const fs = require('node:fs');
const server = https.createServer(
  { key: fs.readFileSync('/tls/server.key'), cert: fs.readFileSync('/tls/server.pem') },
  (req, res) => res.end('ok'),
);
server.listen(0, '127.0.0.1', () => {
  const port = server.address().port;
  const done = (r) => {
    console.log(JSON.stringify({ ...r, defaultRoots: tls.getCACertificates('default').length }));
    server.close();
  };
  https.get({ host: '127.0.0.1', port, path: '/', timeout: 5000 }, (res) => {
    res.resume();
    done({ trusted: true, status: res.statusCode });
  }).on('error', (e) => done({ trusted: false, code: e.code }));
});
`;
