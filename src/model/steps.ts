import type { CheckName } from './check.ts';

/**
 * Every step of every check, in the order a check runs them. Metric labels,
 * reports and remediation rows key on these strings; a check's steps come
 * from this list so a new step cannot miss its series.
 */
export const STEP_NAMES = {
  environment: [
    'credentials-env',
    'region',
    'proxy',
    'imds-switch',
    'container-credentials',
    'web-identity',
  ],
  imds: ['applicability', 'token', 'identity', 'role'],
  credentials: ['resolve', 'identity', 'expiry'],
  s3: ['put', 'head', 'get', 'delete'],
} as const satisfies Record<CheckName, readonly string[]>;

export type StepName<C extends CheckName = CheckName> = (typeof STEP_NAMES)[C][number];
