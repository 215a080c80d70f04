import type { AwsEnv } from '../model/config.ts';
import { containerPlan, ECS_CONTAINER_HOST } from './credential-platform.ts';

/** IMDS and the ECS credential endpoint: a proxy must never see requests to them. */
const METADATA_HOSTS = ['169.254.169.254', ECS_CONTAINER_HOST];

/**
 * The metadata hosts this process's credentials depend on: IMDS, ECS, and
 * the container endpoint in use (EKS Pod Identity's 169.254.170.23 only when
 * configured). The environment check's warning and its fix both use this list.
 */
function metadataHosts(aws: AwsEnv): string[] {
  const plan = containerPlan(aws);
  if (plan === undefined) return METADATA_HOSTS;
  let host = '';
  try {
    host = new URL(plan.url).hostname.replace(/^\[|\]$/g, '');
  } catch {}
  const local = host === '' || host === 'localhost' || host === '::1' || host.startsWith('127.');
  return local || METADATA_HOSTS.includes(host) ? METADATA_HOSTS : [...METADATA_HOSTS, host];
}

/** NO_PROXY's entries, trimmed and lower-cased, as curl and botocore read them. */
export function noProxyEntries(noProxy: string | undefined): string[] {
  return (noProxy ?? '')
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter((s) => s !== '');
}

/** Whether NO_PROXY exempts a host the way curl/botocore read it (exact, suffix or `*`). */
export function noProxyCovers(noProxy: string | undefined, host: string): boolean {
  return noProxyEntries(noProxy).some(
    (e) => e === '*' || e === host || (e.startsWith('.') && host.endsWith(e)),
  );
}

/** The metadata hosts a set proxy would see because NO_PROXY does not exempt them. */
export function noProxyMissing(aws: AwsEnv): string[] {
  return metadataHosts(aws).filter((h) => !noProxyCovers(aws.noProxy, h));
}
