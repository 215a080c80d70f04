import type { ClientPool, CredentialHolder } from '../aws/clients.ts';
import type { ResolvedCredentials } from '../aws/credential-chain.ts';
import type { ImdsClient } from '../aws/imds-client.ts';
import type { KeyMetadata } from '../aws/kms-describe.ts';
import type { OwnKeys } from '../aws/own-keys.ts';

/** Everything the checks do I/O with; built once by the service, shared by cycles and /diagnose. */
export interface ProbeDeps {
  imds: ImdsClient;
  clients: ClientPool;
  holder: CredentialHolder;
  ownKeys: OwnKeys;
  resolveCredentials: (signal: AbortSignal) => Promise<ResolvedCredentials>;
  /** The instance id where IMDS gave none (the board asset tag), for the probe prefix. */
  instanceIdWithoutImds: () => Promise<string | undefined>;
  /** Whether the once-per-process sweep of a predecessor's leftovers has run. */
  leftovers: { swept: boolean; since: number };
  /**
   * The key each configured alias named when DescribeKey last answered, and
   * when: reused while HEAD keeps showing that key, so a fleet pays one KMS
   * call per alias and hour, not one per cycle.
   */
  kmsAliases: Map<string, { target: KeyMetadata; at: number }>;
  /** The wall clock the caches above age by; a test moves it to expire them. */
  now: () => number;
  /** Deep mode (/diagnose) collects extra detail a cycle skips. */
  deep: boolean;
}
