import { roleNameOf } from './checks/credentials.ts';
import type { Facts } from './model/check.ts';
import type { Config } from './model/config.ts';
import { signingRegion } from './model/region.ts';

/** Labels of `s3_health_target_info`: what this sidecar probes, for fleet joins. */
export interface TargetLabels {
  bucket: string;
  region: string;
  role: string;
  account: string;
  source: string;
}

export const TARGET_LABEL_NAMES = ['bucket', 'region', 'role', 'account', 'source'] as const;

// Bucket names, regions, IAM role names, account ids and source names all fit
// this set; anything else (a garbled IMDS answer) stays unknown rather than
// minting a label value nobody can group by.
const SAFE_VALUE = /^[\w+=,.@:-]{1,128}$/;

function safe(value: string | undefined): string {
  return value !== undefined && SAFE_VALUE.test(value) ? value : '';
}

/**
 * Config first where it names the target (bucket; the region S3 and STS sign
 * for, as everywhere else), what the checks
 * learned first where config only states an expectation (role, account): the
 * series says what is probed, not what should be. Empty until known.
 */
export function targetLabels(config: Config, facts: Facts): TargetLabels {
  const expectedRole =
    config.expectedRole === undefined
      ? undefined
      : config.expectedRole.startsWith('arn:')
        ? roleNameOf(config.expectedRole)
        : config.expectedRole;
  return {
    bucket: safe(config.bucket),
    region: safe(signingRegion(config.aws, facts)),
    role: safe(facts.roleName ?? expectedRole),
    account: safe(facts.accountId ?? config.expectedAccount),
    source: safe(facts.credentialSource),
  };
}
