/** Pure ARN helpers: what a caller or key ARN says about role, account and partition. */

export interface RoleIdentity {
  partition: string;
  accountId: string;
  roleName: string;
  /** The IAM role ARN, as key policies and `put-role-policy` need it. */
  roleArn: string;
}

const ASSUMED_ROLE = /^arn:(aws[a-z-]*):sts::(\d{12}):assumed-role\/([\w+=,.@-]+)\/[^/]+$/;
const IAM_ROLE = /^arn:(aws[a-z-]*):iam::(\d{12}):role\/((?:[\w+=,.@-]+\/)*)([\w+=,.@-]+)$/;

/**
 * `arn:aws:sts::ACCT:assumed-role/NAME/i-…` -> role `arn:aws:iam::ACCT:role/NAME`.
 * An assumed-role ARN drops the role's path, so a role created under a path
 * gets a path-less ARN here; the KMS fix says how to read the exact one.
 */
export function roleFromArn(arn: string): RoleIdentity | undefined {
  const assumed = ASSUMED_ROLE.exec(arn);
  if (assumed) {
    const [, partition = 'aws', accountId = '', roleName = ''] = assumed;
    return {
      partition,
      accountId,
      roleName,
      roleArn: `arn:${partition}:iam::${accountId}:role/${roleName}`,
    };
  }
  const role = IAM_ROLE.exec(arn);
  if (role) {
    const [, partition = 'aws', accountId = '', , roleName = ''] = role;
    return { partition, accountId, roleName, roleArn: arn };
  }
  return undefined;
}

export function partitionOf(arn: string | undefined): string | undefined {
  return arn === undefined ? undefined : /^arn:(aws[a-z-]*):/.exec(arn)?.[1];
}

export function accountOf(arn: string | undefined): string | undefined {
  return arn === undefined
    ? undefined
    : /^arn:aws[a-z-]*:[a-z0-9-]+:[a-z0-9-]*:(\d{12}):/.exec(arn)?.[1];
}

/** Last path segment of `arn:aws:iam::ACCT:instance-profile/path/NAME`. */
export function instanceProfileName(arn: string | undefined): string | undefined {
  if (arn === undefined) return undefined;
  return /:instance-profile\/(?:.*\/)?([\w+=,.@-]+)$/.exec(arn)?.[1];
}

export function kmsRegionOf(arn: string): string | undefined {
  return /^arn:aws[a-z-]*:kms:([a-z0-9-]+):/.exec(arn)?.[1];
}
