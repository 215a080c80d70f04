import {
  CreateBucketCommand,
  PutBucketVersioningCommand,
  PutObjectLockConfigurationCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { STSClient } from '@aws-sdk/client-sts';
import type { EmulatorCreds } from '../imds/emulator.ts';
import { assumeRoleWith, type StaticCreds } from './creds.ts';
import type { Radosgw } from './radosgw.ts';

/** A running radosgw as plain data, so test processes can use one started elsewhere. */
export interface RgwInfo {
  endpoint: string;
  /** https://127.0.0.2:PORT: the same rgw over TLS, certificate from its own CA */
  httpsEndpoint: string;
  caFile: string;
  region: string;
  admin: StaticCreds;
  /** A role allowing s3:*; tests narrow it per session with session policies. */
  roleArn: string;
  kmsKeys: string[];
}

export const PROBE_ROLE_POLICY = {
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Action: ['s3:*'], Resource: ['arn:aws:s3:::*'] }],
};

/** Creates the probe role on a running radosgw and describes both as plain data. */
export async function withProbeRole(rgw: Radosgw, roleName = 's3-health-probe'): Promise<RgwInfo> {
  const roleArn = await rgw.createRole(roleName, PROBE_ROLE_POLICY);
  return {
    endpoint: rgw.endpoint,
    httpsEndpoint: rgw.httpsEndpoint,
    caFile: rgw.caFile,
    region: rgw.region,
    admin: rgw.admin,
    roleArn,
    kmsKeys: rgw.kmsKeys,
  };
}

/** Session policy that allows everything but the given S3 actions: a real per-action AccessDenied. */
export function denyActions(actions: string[]): object {
  return {
    Version: '2012-10-17',
    Statement: [
      { Effect: 'Allow', Action: ['s3:*'], Resource: ['arn:aws:s3:::*'] },
      { Effect: 'Deny', Action: actions, Resource: ['arn:aws:s3:::*'] },
    ],
  };
}

export function adminS3(info: RgwInfo): S3Client {
  return new S3Client({
    endpoint: info.endpoint,
    region: info.region,
    credentials: info.admin,
    forcePathStyle: true,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

/** How a test bucket keeps versions: radosgw implements all of these as S3 does. */
export interface BucketOptions {
  versioning?: 'Enabled' | 'Suspended';
  /** Created with Object Lock (versioning Enabled with it); `days` sets a default retention. */
  objectLock?: { mode: 'GOVERNANCE' | 'COMPLIANCE'; days: number } | true;
}

export async function createBucket(
  info: RgwInfo,
  name: string,
  opts: BucketOptions = {},
): Promise<void> {
  const s3 = adminS3(info);
  try {
    await s3.send(
      new CreateBucketCommand({
        Bucket: name,
        ...(opts.objectLock === undefined ? {} : { ObjectLockEnabledForBucket: true }),
      }),
    );
    if (opts.versioning === 'Suspended') {
      // Suspended only exists after Enabled: S3 keeps what versioning wrote.
      await s3.send(
        new PutBucketVersioningCommand({
          Bucket: name,
          VersioningConfiguration: { Status: 'Enabled' },
        }),
      );
    }
    if (opts.versioning !== undefined) {
      await s3.send(
        new PutBucketVersioningCommand({
          Bucket: name,
          VersioningConfiguration: { Status: opts.versioning },
        }),
      );
    }
    if (typeof opts.objectLock === 'object') {
      await s3.send(
        new PutObjectLockConfigurationCommand({
          Bucket: name,
          ObjectLockConfiguration: {
            ObjectLockEnabled: 'Enabled',
            Rule: { DefaultRetention: { Mode: opts.objectLock.mode, Days: opts.objectLock.days } },
          },
        }),
      );
    }
  } catch (e) {
    if ((e as { name?: string }).name !== 'BucketAlreadyOwnedByYou') throw e;
  } finally {
    s3.destroy();
  }
}

/**
 * A credential source for the IMDS emulator: real temporary credentials from
 * rgw's STS, so the session token is checked and expiry enforced by S3 itself.
 */
export function assumeRoleSource(
  info: RgwInfo,
  opts: { sessionPolicy?: object; durationSeconds?: number } = {},
): () => Promise<EmulatorCreds> {
  return async () => {
    const sts = new STSClient({
      endpoint: info.endpoint,
      region: info.region,
      credentials: info.admin,
    });
    try {
      return await assumeRoleWith(sts, {
        roleArn: info.roleArn,
        sessionName: 'i-0123456789abcdef0',
        ...opts,
      });
    } finally {
      sts.destroy();
    }
  };
}
