// The local ground for the platform credential sources: one STS endpoint
// (GetCallerIdentity plus AssumeRoleWithWebIdentity), one container
// credential endpoint (ECS agent and EKS Pod Identity Agent paths), and the
// node's IMDS (for what falls through to it), all handing out real radosgw
// temporary credentials, so S3 really checks what each source hands out.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ImdsEmulator, startImdsEmulator } from '../imds/emulator.ts';
import { linkImdsToSts } from '../imds/sts-link.ts';
import { assumeRoleSource, createBucket, type RgwInfo } from '../radosgw/info.ts';
import { type StsEndpoint, startStsEndpoint } from '../sts/endpoint.ts';
import {
  type ContainerCredentialsEndpoint,
  linkContainerToSts,
  startContainerCredentials,
} from './container-credentials.ts';
import { serveWebIdentity, type WebIdentity } from './web-identity.ts';

export const PLATFORM = {
  accountId: '123456789012',
  region: 'eu-west-1',
  clusterName: 's3h-ground',
  namespace: 'apps',
  serviceAccount: 's3-health',
  /** behind the container endpoint (ECS task role, Pod Identity association) */
  appRole: 's3-health-app',
  irsaRole: 's3-health-irsa',
  nodeRole: 's3-health-node-role',
} as const;

export const IRSA_ROLE_ARN = `arn:aws:iam::${PLATFORM.accountId}:role/${PLATFORM.irsaRole}`;

export interface PlatformGround {
  rgw: RgwInfo;
  bucket: string;
  sts: StsEndpoint;
  container: ContainerCredentialsEndpoint;
  webIdentity: WebIdentity;
  /** the node's IMDS: what the chain reaches when no platform source is configured */
  imds: ImdsEmulator;
  /** S3, STS and IMDS endpoints, bucket and region: what every source shares */
  common(): Record<string, string>;
  /** ECS task role, through FULL_URI on loopback (the SDK's fromHttp, as RELATIVE_URI) */
  ecs(): Record<string, string>;
  /** EKS Pod Identity with a token file holding `token` (default: a good one) */
  podIdentity(token?: string): Record<string, string>;
  /** IRSA with a token file holding `token` (default: a good one) */
  irsa(token?: string): Record<string, string>;
  /** writes a file in the ground's own directory, returns its path */
  writeFile(name: string, content: string): string;
  close(): Promise<void>;
}

export async function startPlatformGround(rgw: RgwInfo, bucket: string): Promise<PlatformGround> {
  await createBucket(rgw, bucket);
  const dir = mkdtempSync(join(tmpdir(), 's3h-platform-'));
  const closers: Array<() => Promise<void>> = [
    async () => rmSync(dir, { recursive: true, force: true }),
  ];
  const close = async () => {
    await Promise.allSettled(closers.map((c) => c()));
  };
  try {
    const sts = await startStsEndpoint();
    closers.push(() => sts.close());
    const container = await startContainerCredentials({
      credentials: assumeRoleSource(rgw),
      identity: {
        accountId: PLATFORM.accountId,
        roleName: PLATFORM.appRole,
        clusterName: PLATFORM.clusterName,
      },
    });
    closers.push(() => container.close());
    linkContainerToSts(container, sts);
    const imds = await startImdsEmulator({
      identity: {
        accountId: PLATFORM.accountId,
        region: PLATFORM.region,
        roleName: PLATFORM.nodeRole,
      },
      credentials: assumeRoleSource(rgw),
    });
    closers.push(() => imds.close());
    linkImdsToSts(imds, sts);
    const webIdentity = serveWebIdentity(sts, { credentials: assumeRoleSource(rgw) });
    webIdentity.trust({
      roleArn: IRSA_ROLE_ARN,
      issuer: webIdentity.issuer,
      namespace: PLATFORM.namespace,
      serviceAccount: PLATFORM.serviceAccount,
    });
    const writeFile = (name: string, content: string) => {
      const path = join(dir, name);
      writeFileSync(path, content, { mode: 0o600 });
      return path;
    };
    return {
      rgw,
      bucket,
      sts,
      container,
      webIdentity,
      imds,
      common: () => ({
        AWS_REGION: PLATFORM.region,
        AWS_DEFAULT_REGION: PLATFORM.region,
        AWS_ENDPOINT_URL_S3: rgw.endpoint,
        AWS_ENDPOINT_URL_STS: sts.url,
        AWS_EC2_METADATA_SERVICE_ENDPOINT: imds.url,
        S3_HEALTH_BUCKET: bucket,
        S3_HEALTH_S3_FORCE_PATH_STYLE: 'true',
      }),
      ecs: () => ({ AWS_CONTAINER_CREDENTIALS_FULL_URI: container.ecsUrl }),
      podIdentity: (token = container.issueToken()) => ({
        AWS_CONTAINER_CREDENTIALS_FULL_URI: container.podIdentityUrl,
        AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: writeFile('eks-pod-identity-token', token),
      }),
      irsa: (token = webIdentity.issueToken()) => ({
        AWS_ROLE_ARN: IRSA_ROLE_ARN,
        AWS_WEB_IDENTITY_TOKEN_FILE: writeFile('irsa-token', token),
      }),
      writeFile,
      close,
    };
  } catch (e) {
    await close();
    throw e;
  }
}
