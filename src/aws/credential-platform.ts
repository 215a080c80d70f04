import type { AwsEnv } from '../model/config.ts';

/**
 * Which platform credential source the SDK's default chain reaches, read
 * from the environment alone (no I/O), following the SDK's own precedence
 * (@aws-sdk/credential-provider-http fromHttp, credential-provider-web-identity
 * fromTokenFile, credential-provider-node remoteProvider).
 */

/** ECS task role, EKS Pod Identity, or another container endpoint (Greengrass, a local agent). */
export type ContainerFlavour = 'ecs' | 'eks-pod-identity' | 'container';

export interface ContainerPlan {
  kind: 'container';
  flavour: ContainerFlavour;
  /** the variable that decides the URL: RELATIVE_URI wins over FULL_URI in the JS SDK and botocore */
  variable: 'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI' | 'AWS_CONTAINER_CREDENTIALS_FULL_URI';
  /** the URL the SDK asks (for RELATIVE_URI: http://169.254.170.2 + the path) */
  url: string;
  /** why the SDK refuses this URL; absent when it accepts it */
  refused?: string;
  /** the token the SDK sends as `Authorization`: the file wins over the variable */
  token?: { from: 'file'; path: string } | { from: 'env' };
}

export interface WebIdentityPlan {
  kind: 'web-identity';
  tokenFile: string;
  roleArn: string;
}

export type PlatformPlan = ContainerPlan | WebIdentityPlan;

const ECS_CONTAINER_HOST = '169.254.170.2';
const EKS_CONTAINER_HOSTS = ['169.254.170.23', '[fd00:ec2::23]'];

/** The JS SDK's checkUrl: https anywhere; plain http only to loopback or the container hosts. */
export function sdkRefusal(url: string): string | undefined {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return 'not a URL';
  }
  if (u.protocol === 'https:') return undefined;
  if (u.protocol !== 'http:') return `scheme ${u.protocol} is neither http: nor https:`;
  const h = u.hostname;
  if (h === ECS_CONTAINER_HOST || EKS_CONTAINER_HOSTS.includes(h)) return undefined;
  if (h === 'localhost' || h === '[::1]') return undefined;
  const parts = h.split('.');
  const octet = (p: string | undefined) =>
    p !== undefined && /^\d{1,3}$/.test(p) && Number(p) <= 255;
  if (parts.length === 4 && parts[0] === '127' && parts.slice(1).every(octet)) return undefined;
  return `plain http to ${h}: the SDK accepts http only for 127.0.0.0/8, [::1], 169.254.170.2, 169.254.170.23 and [fd00:ec2::23]`;
}

export function containerPlan(env: AwsEnv): ContainerPlan | undefined {
  const relative = env.containerRelativeUri;
  const full = env.containerFullUri;
  if (relative === undefined && full === undefined) return undefined;
  const variable =
    relative !== undefined
      ? 'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI'
      : 'AWS_CONTAINER_CREDENTIALS_FULL_URI';
  const url = relative !== undefined ? `http://${ECS_CONTAINER_HOST}${relative}` : (full ?? '');
  const token =
    env.containerAuthTokenFile !== undefined
      ? ({ from: 'file', path: env.containerAuthTokenFile } as const)
      : env.containerAuthTokenSet
        ? ({ from: 'env' } as const)
        : undefined;
  let host = '';
  let path = '';
  try {
    const u = new URL(url);
    host = u.hostname;
    path = u.pathname;
  } catch {}
  // ECS injects RELATIVE_URI; Pod Identity a FULL_URI on its link-local host with a token file.
  // The path tells them apart when tests (or ECS Anywhere) reach an agent on another address.
  const flavour: ContainerFlavour =
    relative !== undefined || (path.startsWith('/v2/credentials/') && token === undefined)
      ? 'ecs'
      : EKS_CONTAINER_HOSTS.includes(host) || (path === '/v1/credentials' && token?.from === 'file')
        ? 'eks-pod-identity'
        : 'container';
  const refused = sdkRefusal(url);
  return {
    kind: 'container',
    flavour,
    variable,
    url,
    ...(refused ? { refused } : {}),
    ...(token ? { token } : {}),
  };
}

/**
 * The platform source the chain will use, or undefined when it would reach
 * IMDS (or nothing). Static keys and profiles come first in the chain; they
 * are the environment lint's business, not this one's.
 */
export function platformPlan(env: AwsEnv): PlatformPlan | undefined {
  // fromTokenFile runs before the container provider and, once both variables
  // are set, never hands over: its failures end the chain.
  if (env.webIdentityTokenFile !== undefined && env.roleArn !== undefined) {
    return { kind: 'web-identity', tokenFile: env.webIdentityTokenFile, roleArn: env.roleArn };
  }
  return containerPlan(env);
}

/** The name reported as the credential source for a plan (also a metric label value). */
export function planSource(plan: PlatformPlan): 'web-identity' | ContainerFlavour {
  return plan.kind === 'web-identity' ? 'web-identity' : plan.flavour;
}
