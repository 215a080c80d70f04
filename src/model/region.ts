import type { Facts } from './check.ts';
import type { AwsEnv } from './config.ts';

/** What a region name looks like (`eu-west-1`, `us-gov-west-1`); checked on config and on IMDS answers. */
export const REGION_RE = /^[a-z]{2}(-[a-z]+)+-\d+$/;

/** Where the JS SDK sends requests when neither AWS_REGION nor IMDS names a region. */
const DEFAULT_REGION = 'us-east-1';

/**
 * The region S3 and STS requests are signed for, as the app's SDK picks it:
 * AWS_REGION first (the JS SDK ignores AWS_DEFAULT_REGION), else the
 * instance's own region from IMDS. Undefined when neither is known.
 */
export function signingRegion(aws: AwsEnv, facts: Facts): string | undefined {
  return aws.region ?? facts.region;
}

/** `signingRegion`, falling back to the SDK's default. */
export function regionFor(aws: AwsEnv, facts: Facts): string {
  return signingRegion(aws, facts) ?? DEFAULT_REGION;
}
