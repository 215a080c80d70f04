// A throwaway CA and a server certificate for 127.0.0.1, made with the
// openssl CLI (ground/tls/ca.ts): proves that Node in the image trusts whatever root sits in the
// system bundle, not only its own compiled-in roots.
import { chmodSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeGroundTls } from '../../../ground/tls/ca.ts';

export interface TlsFixture {
  dir: string;
  /** file names inside dir */
  files: { caCert: string; serverCert: string; serverKey: string };
}

/** The ground's CA and server certificate (ground/tls/ca.ts), readable by the image's non-root user. */
export function makeTlsFixture(): TlsFixture {
  const dir = mkdtempSync(join(tmpdir(), 's3h-tls-'));
  makeGroundTls(dir);
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
