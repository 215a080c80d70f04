import type { CheckName } from '../model/check.ts';
import type { Check } from './check.ts';
import { credentialsCheck } from './credentials.ts';
import type { ProbeDeps } from './deps.ts';
import { environmentCheck } from './environment.ts';
import { imdsCheck } from './imds.ts';
import { s3Check } from './s3.ts';

const ALL: Record<CheckName, Check<ProbeDeps>> = {
  environment: environmentCheck,
  imds: imdsCheck,
  credentials: credentialsCheck,
  s3: s3Check,
};

/** The enabled checks in chain order. */
export function enabledChecks(names: readonly CheckName[]): Check<ProbeDeps>[] {
  return names.map((n) => ALL[n]);
}
