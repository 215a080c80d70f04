import type { KMSClient } from '@aws-sdk/client-kms';
import { S3Client } from '@aws-sdk/client-s3';
import { STSClient } from '@aws-sdk/client-sts';
import type { AwsCredentialIdentity } from '@aws-sdk/types';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { Config } from '../model/config.ts';
import type { ResolvedCredentials } from './credential-chain.ts';
import { describeKey, type KeyMetadata } from './kms-describe.ts';
import { proxyAgents } from './proxy-agent.ts';

/** The credentials the `credentials` check resolved this cycle; S3 and STS sign with them. */
export class CredentialHolder {
  resolved: ResolvedCredentials | undefined;
}

/**
 * Long-lived SDK clients, one per region (the region may only be learned from
 * IMDS), so keep-alive sockets survive across cycles. Retries are off: the
 * engine's thresholds and re-probe decide what a transient failure means,
 * instead of retries hiding it.
 */
export class ClientPool {
  private readonly s3ByRegion = new Map<string, S3Client>();
  private readonly stsByRegion = new Map<string, STSClient>();
  private readonly kmsByRegion = new Map<string, KMSClient>();
  private readonly config: Config;
  private readonly credentials: () => Promise<AwsCredentialIdentity>;

  constructor(config: Config, holder: CredentialHolder) {
    this.config = config;
    this.credentials = Object.assign(
      async () => {
        const r = holder.resolved;
        if (r === undefined) throw new Error('no credentials resolved in this cycle');
        return r.identity;
      },
      { memoized: true },
    );
  }

  private handler(): NodeHttpHandler {
    const ms = this.config.timeoutMs;
    return new NodeHttpHandler({
      connectionTimeout: ms,
      requestTimeout: ms,
      throwOnRequestTimeout: true,
      // The proxy the app's SDK would take (HTTPS_PROXY, HTTP_PROXY, NO_PROXY as
      // botocore reads them); a CONNECT gets half the deadline, so a silent
      // proxy is named before the check's deadline fires.
      ...proxyAgents(this.config.aws.proxyVars, Math.max(1, Math.round(ms / 2))),
    });
  }

  s3(region: string): S3Client {
    let c = this.s3ByRegion.get(region);
    if (c === undefined) {
      const endpoint = this.config.aws.endpointUrlS3 ?? this.config.aws.endpointUrl;
      c = new S3Client({
        region,
        credentials: this.credentials,
        maxAttempts: 1,
        forcePathStyle: this.config.forcePathStyle,
        requestHandler: this.handler(),
        ...(endpoint
          ? {
              endpoint,
              // S3-compatible stores choke on the SDK's default CRC32 trailers (reference C.8).
              requestChecksumCalculation: 'WHEN_REQUIRED',
              responseChecksumValidation: 'WHEN_REQUIRED',
            }
          : {}),
      });
      this.s3ByRegion.set(region, c);
    }
    return c;
  }

  sts(region: string): STSClient {
    let c = this.stsByRegion.get(region);
    if (c === undefined) {
      const endpoint = this.config.aws.endpointUrlSts ?? this.config.aws.endpointUrl;
      c = new STSClient({
        region,
        credentials: this.credentials,
        maxAttempts: 1,
        requestHandler: this.handler(),
        ...(endpoint ? { endpoint } : {}),
      });
      this.stsByRegion.set(region, c);
    }
    return c;
  }

  /**
   * kms:DescribeKey for `keyId` in `region`, with the same credentials and
   * deadlines as S3 and STS; AWS_ENDPOINT_URL_KMS or AWS_ENDPOINT_URL
   * override the endpoint as the SDKs do. The client is created on first use:
   * only a sidecar configured with a KMS alias ever loads it.
   */
  async describeKey(region: string, keyId: string, signal: AbortSignal): Promise<KeyMetadata> {
    let c = this.kmsByRegion.get(region);
    if (c === undefined) {
      // Loaded here, not at start: most sidecars never verify an alias.
      const { KMSClient } = await import('@aws-sdk/client-kms');
      const endpoint = this.config.aws.endpointUrlKms ?? this.config.aws.endpointUrl;
      c = new KMSClient({
        region,
        credentials: this.credentials,
        maxAttempts: 1,
        requestHandler: this.handler(),
        ...(endpoint ? { endpoint } : {}),
      });
      this.kmsByRegion.set(region, c);
    }
    return describeKey(c, keyId, signal);
  }

  /** The SDK's clock correction (ms) from the last signed answer, if any client has one. */
  clockOffsetMs(): number {
    let offset = 0;
    for (const c of [...this.s3ByRegion.values(), ...this.stsByRegion.values()]) {
      const o = c.config.systemClockOffset;
      if (Math.abs(o) > Math.abs(offset)) offset = o;
    }
    return offset;
  }

  destroy(): void {
    for (const c of [
      ...this.s3ByRegion.values(),
      ...this.stsByRegion.values(),
      ...this.kmsByRegion.values(),
    ])
      c.destroy();
    this.s3ByRegion.clear();
    this.stsByRegion.clear();
    this.kmsByRegion.clear();
  }
}
