// One real radosgw for the whole run (it takes seconds to start): tests get
// its address, admin keys and a probe role through `inject('rgw')`.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { type RgwInfo, withProbeRole } from '../../ground/radosgw/info.ts';
import { type Radosgw, radosgwInstalled, startRadosgw } from '../../ground/radosgw/radosgw.ts';
import { makeGroundTls, SHARED_TLS_DIR_ENV } from '../../ground/tls/ca.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    rgw: RgwInfo;
  }
}

let rgw: Radosgw | undefined;

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  if (!radosgwInstalled()) {
    throw new Error(
      'radosgw is not installed: the S3 peer of the tests is a real radosgw. Run scripts/install-peers.sh (as .ci/run does).',
    );
  }
  process.env.AWS_EC2_METADATA_DISABLED = 'true';
  // One CA for every radosgw and STS endpoint of the run, trusted by the
  // workers from their start (they fork after this): the tiers talk HTTPS.
  const tlsDir = mkdtempSync(join(tmpdir(), 's3h-ground-tls-'));
  makeGroundTls(tlsDir);
  process.env[SHARED_TLS_DIR_ENV] = tlsDir;
  process.env.NODE_EXTRA_CA_CERTS = join(tlsDir, 'ca.pem');
  const t0 = Date.now();
  rgw = await startRadosgw();
  const info = await withProbeRole(rgw);
  project.provide('rgw', info);
  process.stdout.write(`[ground] radosgw ${rgw.endpoint} ready in ${Date.now() - t0} ms\n`);
  return async () => {
    await rgw?.stop();
    rmSync(tlsDir, { recursive: true, force: true });
  };
}
