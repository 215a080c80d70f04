import type { Check, StepOutcome } from './check.ts';
import { CheckFailure } from './check.ts';
import type { ProbeDeps } from './deps.ts';

const METADATA_HOSTS = ['169.254.169.254', '169.254.170.2'];

/** Whether NO_PROXY exempts a host the way curl/botocore read it (exact, suffix or `*`). */
export function noProxyCovers(noProxy: string | undefined, host: string): boolean {
  if (noProxy === undefined) return false;
  return noProxy
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .some((e) => e === '*' || e === host || (e.startsWith('.') && host.endsWith(e)));
}

export const environmentCheck: Check<ProbeDeps> = {
  name: 'environment',
  dependsOn: [],
  steps: () => [
    {
      name: 'credentials-env',
      service: 'credentials',
      run: async ({ config }): Promise<StepOutcome> => {
        const a = config.aws;
        const observed = {
          accessKeyId: a.accessKeyIdMasked ?? null,
          profile: a.profile ?? null,
        };
        if (a.accessKeyIdMasked !== undefined && config.checks.includes('imds')) {
          return {
            observed,
            warning: {
              reason: 'env_static_keys',
              message: `AWS_ACCESS_KEY_ID (${a.accessKeyIdMasked}) is set: static keys shadow the instance role`,
            },
          };
        }
        if (a.profile !== undefined && config.checks.includes('imds')) {
          return {
            observed,
            warning: {
              reason: 'env_profile_set',
              message: `AWS_PROFILE=${a.profile} is set: the profile is used before the instance role`,
            },
          };
        }
        if (a.containerFullUri !== undefined && a.containerRelativeUri !== undefined) {
          return {
            observed,
            warning: {
              reason: 'env_container_credentials_conflict',
              message:
                'both AWS_CONTAINER_CREDENTIALS_FULL_URI and _RELATIVE_URI are set; FULL_URI wins',
            },
          };
        }
        return { observed };
      },
    },
    {
      name: 'region',
      service: 'credentials',
      run: async ({ config }): Promise<StepOutcome> => {
        const { region, defaultRegion } = config.aws;
        const observed = { AWS_REGION: region ?? null, AWS_DEFAULT_REGION: defaultRegion ?? null };
        if (region !== undefined && defaultRegion !== undefined && region !== defaultRegion) {
          return {
            observed,
            warning: {
              reason: 'env_region_mismatch',
              message: `AWS_REGION=${region} but AWS_DEFAULT_REGION=${defaultRegion}: Node and Python clients use different regions`,
            },
          };
        }
        if (region === undefined && !config.checks.includes('imds')) {
          return {
            observed,
            warning: {
              reason: 'env_region_missing',
              message: 'AWS_REGION is not set and the imds check is off: the JS SDK has no region',
            },
          };
        }
        return { observed };
      },
    },
    {
      name: 'proxy',
      service: 'credentials',
      run: async ({ config }): Promise<StepOutcome> => {
        const { httpProxy, httpsProxy, noProxy } = config.aws;
        const observed = {
          proxy: httpProxy !== undefined || httpsProxy !== undefined,
          noProxy: noProxy ?? null,
        };
        if (httpProxy === undefined && httpsProxy === undefined) return { observed };
        const missing = METADATA_HOSTS.filter((h) => !noProxyCovers(noProxy, h));
        if (missing.length === 0) return { observed };
        return {
          observed,
          warning: {
            reason: 'env_proxy_without_no_proxy',
            message: `a proxy is set but NO_PROXY lacks ${missing.join(', ')}: curl and botocore send metadata requests to the proxy`,
          },
        };
      },
    },
    {
      name: 'imds-switch',
      service: 'credentials',
      run: async ({ config }): Promise<StepOutcome> => {
        const a = config.aws;
        const observed = { AWS_EC2_METADATA_DISABLED: a.imdsDisabledRaw ?? null };
        if (a.imdsDisabled && config.checks.includes('imds')) {
          throw new CheckFailure(
            'env_imds_disabled',
            `AWS_EC2_METADATA_DISABLED=${a.imdsDisabledRaw}: the SDK will not ask IMDS for the instance role`,
          );
        }
        return { observed };
      },
    },
  ],
};
