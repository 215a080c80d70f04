import type { Facts } from '../model/check.ts';
import type { Config } from '../model/config.ts';

// What a caller without the diagnose token must not learn from `/` or
// `?verbose`: which account, role and instance this is. Verdicts and reasons
// stay; error texts keep their sense with the ids replaced.

const ARN = /\barn:aws[a-z-]*:[a-z0-9-]*:[a-z0-9-]*:\d{12}:[^\s"'`,;()<>]+/g;
const ACCOUNT = /(?<![\d.])\d{12}(?![\d.])/g;
const INSTANCE = /\bi-(?:[0-9a-f]{17}|[0-9a-f]{8})\b/g;

/** The identifiers learned or configured, longest first so an ARN goes before its role name. */
function knownIds(facts: Facts, config: Pick<Config, 'expectedAccount' | 'expectedRole'>) {
  const pairs: [string | undefined, string][] = [
    [facts.callerArn, '<ARN>'],
    [facts.instanceProfileArn, '<ARN>'],
    [config.expectedRole, '<ROLE_NAME>'],
    [facts.roleName, '<ROLE_NAME>'],
    [facts.instanceId, '<INSTANCE_ID>'],
    [facts.accountId, '<ACCOUNT_ID>'],
    [config.expectedAccount, '<ACCOUNT_ID>'],
  ];
  return pairs
    .filter((p): p is [string, string] => p[0] !== undefined && p[0] !== '')
    .sort((a, b) => b[0].length - a[0].length);
}

/** `text` with account ids, role names, instance ids and ARNs replaced by placeholders. */
export function hideIdentity(
  text: string,
  facts: Facts,
  config: Pick<Config, 'expectedAccount' | 'expectedRole'>,
): string {
  // Whole ARNs first, so one reads as <ARN> rather than a string of placeholders.
  let out = text.replace(ARN, '<ARN>');
  for (const [value, placeholder] of knownIds(facts, config)) {
    // Whole names only: a role called `app` must not turn `application` into a placeholder.
    const escaped = value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    out = out.replace(new RegExp(`(?<![\\w+=,.@-])${escaped}(?![\\w+=,.@-])`, 'g'), placeholder);
  }
  return out.replace(INSTANCE, '<INSTANCE_ID>').replace(ACCOUNT, '<ACCOUNT_ID>');
}

/** Facts without identity: where the sidecar probes, not who it is. */
export function publicFacts(facts: Facts): Facts {
  const { region, bucket, prefix, bucketRegion, imdsMode, clockOffsetSeconds } = facts;
  return { region, bucket, prefix, bucketRegion, imdsMode, clockOffsetSeconds };
}
