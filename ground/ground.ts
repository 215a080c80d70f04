// The local verification ground: an IMDS emulator handing out real
// temporary credentials from radosgw's STS, an STS endpoint answering
// GetCallerIdentity for them, and a bucket on the real radosgw. Used by the
// tests and by `npm run demo`.
import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import { type ImdsEmulator, startImdsEmulator } from './imds/emulator.ts';
import { linkImdsToSts } from './imds/sts-link.ts';
import {
  assumeRoleSource,
  type BucketOptions,
  createBucket,
  type RgwInfo,
} from './radosgw/info.ts';
import { type StsEndpoint, startStsEndpoint } from './sts/endpoint.ts';

export interface Ground {
  imds: ImdsEmulator;
  sts: StsEndpoint;
  rgw: RgwInfo;
  bucket: string;
  /** The environment a sidecar needs to run against this ground (as an EC2 host would give it). */
  env: Record<string, string>;
  close(): Promise<void>;
}

export interface GroundOptions {
  bucket?: string;
  /** Versioning or Object Lock of the bucket the ground creates. */
  bucketOptions?: BucketOptions;
  /** Narrows the instance role for this ground (real per-action AccessDenied from rgw). */
  sessionPolicy?: object;
  tokensRequired?: boolean;
  controlPort?: number;
  durationSeconds?: number;
  /**
   * S3 and STS over HTTPS at 127.0.0.2 (the default, as production talks to
   * AWS), certificates from rgw's CA (`rgw.caFile`), trusted only where the
   * client is told to; false: plain HTTP at 127.0.0.1, where a test needs it.
   */
  tls?: boolean;
}

export const GROUND_IDENTITY = {
  instanceId: 'i-0a1b2c3d4e5f67890',
  region: 'eu-west-1',
  availabilityZone: 'eu-west-1a',
  accountId: '123456789012',
  roleName: 's3-health-demo-role',
};

export async function startGround(rgw: RgwInfo, opts: GroundOptions = {}): Promise<Ground> {
  const bucket = opts.bucket ?? `s3h-${randomBytes(4).toString('hex')}`;
  await createBucket(rgw, bucket, opts.bucketOptions);
  // Over TLS, S3 and STS answer at 127.0.0.2: an address the runbook's
  // NO_PROXY (…,localhost,127.0.0.1) does not exempt, as AWS's hosts are not.
  const tlsDir = dirname(rgw.caFile);
  const tls = opts.tls ?? true;
  const sts = await startStsEndpoint(
    tls
      ? {
          host: '127.0.0.2',
          port: 0,
          tls: { certFile: join(tlsDir, 'chain.pem'), keyFile: join(tlsDir, 'server.key') },
        }
      : { host: '127.0.0.1', port: 0 },
  );
  let imds: ImdsEmulator;
  try {
    imds = await startImdsEmulator({
      host: '127.0.0.1',
      port: 0,
      identity: GROUND_IDENTITY,
      tokensRequired: opts.tokensRequired ?? false,
      credentials: assumeRoleSource(rgw, {
        sessionPolicy: opts.sessionPolicy,
        durationSeconds: opts.durationSeconds,
      }),
      ...(opts.controlPort !== undefined ? { controlPort: opts.controlPort } : {}),
    });
  } catch (e) {
    await sts.close();
    throw e;
  }
  linkImdsToSts(imds, sts);
  const env: Record<string, string> = {
    AWS_EC2_METADATA_SERVICE_ENDPOINT: imds.url,
    AWS_ENDPOINT_URL_S3: tls ? rgw.httpsEndpoint : rgw.endpoint,
    AWS_ENDPOINT_URL_STS: sts.url,
    // What a user with a private CA sets; a process spawned with this env trusts it.
    ...(tls ? { NODE_EXTRA_CA_CERTS: rgw.caFile } : {}),
    S3_HEALTH_BUCKET: bucket,
    S3_HEALTH_S3_FORCE_PATH_STYLE: 'true',
  };
  return {
    imds,
    sts,
    rgw,
    bucket,
    env,
    close: async () => {
      await Promise.allSettled([imds.close(), sts.close()]);
    },
  };
}
