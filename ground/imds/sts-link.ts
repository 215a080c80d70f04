import { createHash } from 'node:crypto';
import type { StsEndpoint, StsIdentity } from '../sts/endpoint.ts';
import type { ImdsEmulator, ImdsIdentity } from './emulator.ts';

/**
 * What real STS answers for EC2 role credentials:
 * `arn:aws:sts::ACCOUNT:assumed-role/ROLE/INSTANCE-ID`, UserId `AROA…:INSTANCE-ID`.
 */
export function instanceRoleIdentity(identity: ImdsIdentity): StsIdentity {
  const digest = createHash('sha256').update(`${identity.accountId}/${identity.roleName}`).digest();
  let roleId = 'AROA';
  for (const b of digest.subarray(0, 17)) roleId += 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'[b % 32];
  return {
    account: identity.accountId,
    arn: `arn:aws:sts::${identity.accountId}:assumed-role/${identity.roleName}/${identity.instanceId}`,
    userId: `${roleId}:${identity.instanceId}`,
  };
}

/** Makes the STS endpoint recognise every credential the IMDS emulator hands out. */
export function linkImdsToSts(imds: ImdsEmulator, sts: StsEndpoint): void {
  const base = instanceRoleIdentity(imds.identity);
  imds.onCredentials((c) => {
    sts.register(c.accessKeyId, {
      ...base,
      secretAccessKey: c.secretAccessKey,
      sessionToken: c.sessionToken,
      expiration: c.expiration,
    });
  });
}
