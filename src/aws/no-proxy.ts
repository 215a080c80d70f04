import { bypassesProxy } from '../config/proxy-env.ts';
import type { AwsEnv } from '../model/config.ts';
import { containerPlan } from './credential-platform.ts';

/** Where IMDS is for the app: the endpoint override, or the link-local address of its mode. */
function imdsNetloc(aws: AwsEnv): string {
  if (aws.imdsEndpoint !== undefined) {
    try {
      return new URL(aws.imdsEndpoint).host;
    } catch {}
  }
  return aws.imdsEndpointMode === 'IPv6' ? '[fd00:ec2::254]' : '169.254.169.254';
}

const isLoopback = (host: string) =>
  host === 'localhost' || host === '::1' || host.startsWith('127.');

/**
 * The metadata endpoints this host's configuration uses, as netlocs: IMDS
 * (unless AWS_EC2_METADATA_DISABLED), and the container credential endpoint
 * where one is configured (ECS's 169.254.170.2, EKS Pod Identity's
 * 169.254.170.23). botocore sends IMDS calls through a proxy NO_PROXY does
 * not exempt; curl and the other tools on the host do the same for the
 * container endpoint. An address nothing here uses is not asked for.
 */
function metadataNetlocs(aws: AwsEnv): string[] {
  const out = aws.imdsDisabled ? [] : [imdsNetloc(aws)];
  const plan = containerPlan(aws);
  if (plan !== undefined) {
    try {
      const host = new URL(plan.url).host;
      if (!isLoopback(host.replace(/:\d+$/, '').replace(/^\[|\]$/g, ''))) out.push(host);
    } catch {}
  }
  return [...new Set(out)];
}

/** NO_PROXY's entries, trimmed and lower-cased. */
export function noProxyEntries(noProxy: string | undefined): string[] {
  return (noProxy ?? '')
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter((s) => s !== '');
}

/**
 * The metadata hosts (without port) a set proxy would see because NO_PROXY,
 * read as botocore reads it, does not exempt them.
 */
export function noProxyMissing(aws: AwsEnv): string[] {
  return metadataNetlocs(aws)
    .filter((netloc) => !bypassesProxy(netloc, aws.noProxy))
    .map((netloc) => netloc.replace(/:\d+$/, '').replace(/^\[|\]$/g, ''));
}
