// The ground of ground/ground.ts with a fault proxy in front of every peer
// and an instance role whose session policy can change at run time, so a
// real per-action AccessDenied from radosgw can come and go during a run.
import { randomBytes } from 'node:crypto';
import { type FaultProxy, startFaultProxy } from '../../../ground/fault/proxy.ts';
import { GROUND_IDENTITY } from '../../../ground/ground.ts';
import {
  type EmulatorCreds,
  type ImdsEmulator,
  startImdsEmulator,
} from '../../../ground/imds/emulator.ts';
import { linkImdsToSts } from '../../../ground/imds/sts-link.ts';
import {
  assumeRoleSource,
  type BucketOptions,
  createBucket,
  type RgwInfo,
} from '../../../ground/radosgw/info.ts';
import { type StsEndpoint, startStsEndpoint } from '../../../ground/sts/endpoint.ts';

export interface FaultGround {
  rgw: RgwInfo;
  bucket: string;
  imds: ImdsEmulator;
  sts: StsEndpoint;
  proxies: { imds: FaultProxy; sts: FaultProxy; s3: FaultProxy };
  /** the sidecar's environment: every endpoint is a fault proxy */
  env: Record<string, string>;
  /** the instance role's session policy for credentials handed out from now on */
  setPolicy(policy: object | undefined): void;
  /** hand out new credentials on every fetch (rotation) */
  setRotateEveryFetch(on: boolean): void;
  /** every secret key and session token handed out so far */
  secrets: Set<string>;
  /** access key ids handed out so far */
  keyIds: Set<string>;
  /** clears every fault on emulators and proxies */
  clearFaults(): Promise<void>;
  close(): Promise<void>;
}

export async function startFaultGround(
  rgw: RgwInfo,
  bucketOptions: BucketOptions = {},
): Promise<FaultGround> {
  const bucket = `s3h-rel-${randomBytes(4).toString('hex')}`;
  await createBucket(rgw, bucket, bucketOptions);
  let policy: object | undefined;
  let version = 0;
  let rotate = false;
  let held: { creds: EmulatorCreds; version: number } | undefined;
  // The emulator asks on every fetch (refresh window > lifetime); this
  // source decides when there is really something new, as EC2 would.
  const source = async (): Promise<EmulatorCreds> => {
    if (held === undefined || held.version !== version || rotate) {
      const creds = await assumeRoleSource(rgw, { sessionPolicy: policy, durationSeconds: 3600 })();
      held = { creds, version };
    }
    return held.creds;
  };
  const sts = await startStsEndpoint({ host: '127.0.0.1', port: 0 });
  const imds = await startImdsEmulator({
    host: '127.0.0.1',
    port: 0,
    identity: GROUND_IDENTITY,
    credentials: source,
    refreshBeforeSeconds: 7200,
  });
  linkImdsToSts(imds, sts);
  const secrets = new Set<string>();
  const keyIds = new Set<string>();
  imds.onCredentials((c) => {
    secrets.add(c.secretAccessKey);
    secrets.add(c.sessionToken);
    keyIds.add(c.accessKeyId);
  });
  const proxies = {
    imds: await startFaultProxy({ target: imds.url }),
    sts: await startFaultProxy({ target: sts.url }),
    s3: await startFaultProxy({ target: rgw.endpoint }),
  };
  const env: Record<string, string> = {
    AWS_EC2_METADATA_SERVICE_ENDPOINT: proxies.imds.url,
    AWS_ENDPOINT_URL_S3: proxies.s3.url,
    AWS_ENDPOINT_URL_STS: proxies.sts.url,
    S3_HEALTH_BUCKET: bucket,
    S3_HEALTH_S3_FORCE_PATH_STYLE: 'true',
  };
  const clearFaults = async () => {
    imds.setFault('none');
    imds.setTokensRequired(false);
    sts.setFault('none');
    await Promise.all(Object.values(proxies).map((p) => p.set({ kind: 'pass' })));
  };
  return {
    rgw,
    bucket,
    imds,
    sts,
    proxies,
    env,
    setPolicy(p) {
      policy = p;
      version++;
    },
    setRotateEveryFetch(on) {
      rotate = on;
    },
    secrets,
    keyIds,
    clearFaults,
    async close() {
      await Promise.allSettled([
        ...Object.values(proxies).map((p) => p.close()),
        imds.close(),
        sts.close(),
      ]);
    },
  };
}
