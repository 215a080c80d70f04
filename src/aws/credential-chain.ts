import { fromNodeProviderChain } from '@aws-sdk/credential-providers';
import type { AwsCredentialIdentity } from '@aws-sdk/types';
import type { AwsEnv } from '../model/config.ts';
import { containerPlan } from './credential-platform.ts';

export type CredentialSource =
  | 'env'
  | 'profile'
  | 'sso'
  | 'process'
  | 'web-identity'
  /** ECS task role (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI) */
  | 'ecs'
  /** EKS Pod Identity (FULL_URI on 169.254.170.23 with a token file) */
  | 'eks-pod-identity'
  /** any other container endpoint (FULL_URI) */
  | 'container'
  | 'imds'
  | 'unknown';

export interface ResolvedCredentials {
  identity: AwsCredentialIdentity;
  source: CredentialSource;
  expiration?: Date;
  /** Set when the SDK extended expired IMDS credentials (static stability). */
  originalExpiration?: Date;
}

// Feature ids the SDK writes into `$source` (@aws-sdk/types feature-ids).
const FEATURE_SOURCE: [string, CredentialSource][] = [
  ['CREDENTIALS_ENV_VARS_STS_WEB_ID_TOKEN', 'web-identity'],
  ['CREDENTIALS_STS_ASSUME_ROLE_WEB_ID', 'web-identity'],
  ['CREDENTIALS_PROFILE_STS_WEB_ID_TOKEN', 'web-identity'],
  ['CREDENTIALS_ENV_VARS', 'env'],
  ['CREDENTIALS_SSO', 'sso'],
  ['CREDENTIALS_PROCESS', 'process'],
  ['CREDENTIALS_HTTP', 'container'],
  ['CREDENTIALS_IMDS', 'imds'],
  ['CREDENTIALS_PROFILE', 'profile'],
];

/**
 * Which provider answered. The SDK's own tags are used when present; the
 * default chain's IMDS and container branches skip the tagging wrapper, so
 * without tags the answer follows the chain's order over what the
 * environment offers (a profile with keys would have carried a tag).
 */
export function sourceOf(
  features: Record<string, unknown> | undefined,
  env: AwsEnv,
): CredentialSource {
  // One tag covers every container endpoint; the variables tell ECS from Pod Identity.
  const container = containerPlan(env)?.flavour ?? 'container';
  if (features) {
    for (const [feature, source] of FEATURE_SOURCE) {
      if (feature in features) return source === 'container' ? container : source;
    }
  }
  if (env.containerFullUri !== undefined || env.containerRelativeUri !== undefined)
    return container;
  if (env.imdsDisabled) return 'unknown';
  return 'imds';
}

function dateOf(v: unknown): Date | undefined {
  return v instanceof Date && !Number.isNaN(v.getTime()) ? v : undefined;
}

/** The SDK's warnings (e.g. the static-stability extension) go to our logger, not stderr. */
export interface WarnLogger {
  warn: (msg: string) => void;
  debug: (msg: string) => void;
}

/**
 * Resolves the default chain afresh, as a container starting now would: a
 * provider cached across cycles would hide a refresh that stopped working.
 * A failure on a platform source (ECS, EKS Pod Identity, IRSA) is thrown as
 * a CheckFailure naming the platform's cause (credential-explain.ts).
 */
export async function resolveDefaultChain(
  env: AwsEnv,
  logger: WarnLogger,
): Promise<ResolvedCredentials> {
  const sdkLogger = {
    debug: (...a: unknown[]) => logger.debug(a.map(String).join(' ')),
    info: (...a: unknown[]) => logger.debug(a.map(String).join(' ')),
    warn: (...a: unknown[]) => logger.warn(a.map(String).join(' ')),
    error: (...a: unknown[]) => logger.warn(a.map(String).join(' ')),
  };
  const provider = fromNodeProviderChain({ logger: sdkLogger });
  let identity: AwsCredentialIdentity;
  try {
    identity = await provider();
  } catch (e) {
    // On ECS and EKS the chain's own error rarely says why; ask once more, bounded.
    // Loaded on failure only: a healthy start never reads the platform probes.
    const { explainChainFailure } = await import('./credential-explain.ts');
    throw await explainChainFailure(e, env);
  }
  const raw = identity as unknown as Record<string, unknown>;
  const features =
    typeof raw.$source === 'object' && raw.$source !== null
      ? (raw.$source as Record<string, unknown>)
      : undefined;
  return {
    identity,
    source: sourceOf(features, env),
    expiration: dateOf(raw.expiration),
    originalExpiration: dateOf(raw.originalExpiration),
  };
}
