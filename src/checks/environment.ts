import {
  containerPlan,
  type PlatformPlan,
  planSource,
  platformPlan,
} from '../aws/credential-platform.ts';
import { noProxyMissing } from '../aws/no-proxy.ts';
import { readTokenFile, tokenFileFailure } from '../aws/service-account-token.ts';
import { redactUrl } from '../config/mask.ts';
import { CheckFailure, type Observed } from '../model/check.ts';
import type { Config } from '../model/config.ts';
import type { Check, Step, StepOutcome } from './check.ts';
import type { ProbeDeps } from './deps.ts';

const STS_AUDIENCE = 'sts.amazonaws.com';

/** The role a platform source stands for, as the messages name it. */
function roleWord(plan: PlatformPlan | undefined): string {
  if (plan === undefined) return 'the instance role';
  if (plan.kind === 'web-identity') return 'the IRSA role';
  return plan.flavour === 'ecs' ? 'the task role' : 'the pod role';
}

export const environmentCheck: Check<ProbeDeps> = {
  name: 'environment',
  dependsOn: [],
  steps: ({ config }) => [
    ...BASE_STEPS,
    ...(hasContainerVariables(config) ? [containerStep] : []),
    ...(config.aws.webIdentityTokenFile !== undefined || config.aws.roleArn !== undefined
      ? [webIdentityStep]
      : []),
  ],
};

function hasContainerVariables(config: Config): boolean {
  const a = config.aws;
  return (
    a.containerRelativeUri !== undefined ||
    a.containerFullUri !== undefined ||
    a.containerAuthTokenFile !== undefined ||
    a.containerAuthTokenSet
  );
}

const BASE_STEPS: Step<ProbeDeps>[] = [
  {
    name: 'credentials-env',
    service: 'credentials',
    run: async ({ config }): Promise<StepOutcome> => {
      const a = config.aws;
      const plan = platformPlan(a);
      // Static keys and profiles come before every role source in the chain.
      const roleExpected = config.checks.includes('imds') || plan !== undefined;
      const observed = {
        accessKeyId: a.accessKeyIdMasked ?? null,
        profile: a.profile ?? null,
      };
      if (a.accessKeyIdMasked !== undefined && roleExpected) {
        return {
          observed,
          warning: {
            reason: 'env_static_keys',
            message: `AWS_ACCESS_KEY_ID (${a.accessKeyIdMasked}) is set: static keys shadow ${roleWord(plan)}`,
          },
        };
      }
      if (a.profile !== undefined && roleExpected) {
        return {
          observed,
          warning: {
            reason: 'env_profile_set',
            message: `AWS_PROFILE=${a.profile} is set: the profile is used before ${roleWord(plan)}`,
          },
        };
      }
      if (a.containerFullUri !== undefined && a.containerRelativeUri !== undefined) {
        return {
          observed,
          warning: {
            reason: 'env_container_credentials_conflict',
            message:
              'both AWS_CONTAINER_CREDENTIALS_RELATIVE_URI and _FULL_URI are set; the SDKs use RELATIVE_URI (169.254.170.2) and ignore FULL_URI',
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
      const imdsOff = !config.checks.includes('imds');
      if (region === undefined && (imdsOff || platformPlan(config.aws) !== undefined)) {
        return {
          observed,
          warning: {
            reason: 'env_region_missing',
            message: imdsOff
              ? 'AWS_REGION is not set and the imds check is off: the JS SDK has no region'
              : 'AWS_REGION is not set and IMDS is not used here: the JS SDK has no region',
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
      const missing = noProxyMissing(config.aws);
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
      // On ECS and EKS turning IMDS off is good practice: the imds check is not applicable there.
      if (a.imdsDisabled && config.checks.includes('imds') && platformPlan(a) === undefined) {
        throw new CheckFailure(
          'env_imds_disabled',
          `AWS_EC2_METADATA_DISABLED=${a.imdsDisabledRaw}: the SDK will not ask IMDS for the instance role`,
        );
      }
      return { observed };
    },
  },
];

const containerStep: Step<ProbeDeps> = {
  name: 'container-credentials',
  service: 'credentials',
  run: async ({ config }): Promise<StepOutcome> => {
    const a = config.aws;
    const plan = containerPlan(a);
    // Token variables without an endpoint: nothing reads them.
    if (plan === undefined) return { observed: { platform: null } };
    const url = redactUrl(plan.url);
    const observed: Observed = {
      platform: planSource(plan),
      variable: plan.variable,
      url,
      tokenFrom: plan.token?.from ?? null,
    };
    const relative = a.containerRelativeUri;
    const refusal =
      relative !== undefined && !relative.startsWith('/')
        ? `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI=${relative} does not start with '/': the SDK asks ${url}`
        : plan.refused === undefined
          ? undefined
          : `${plan.variable}=${url}: ${plan.refused}`;
    if (refusal !== undefined) {
      throw new CheckFailure('env_container_url_refused', refusal, {
        variable: plan.variable,
        url,
      });
    }
    if (plan.token?.from === 'file') {
      const variable = 'AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE';
      const path = plan.token.path;
      const t = await readTokenFile(path);
      if (!t.ok) throw tokenFileFailure(variable, path, `cannot be read (${t.code})`);
      if (t.empty) throw tokenFileFailure(variable, path, 'is empty');
      if (t.lineBreak) {
        throw tokenFileFailure(
          variable,
          path,
          'contains a line break: the SDK refuses \\r\\n and Node refuses \\n in the Authorization header it sends',
        );
      }
      observed.tokenFile = path;
      observed.subject = t.claims.subject ?? null;
      observed.tokenExpiresAt = t.claims.expiresAt ?? null;
    }
    return { observed };
  },
};

const webIdentityStep: Step<ProbeDeps> = {
  name: 'web-identity',
  service: 'credentials',
  run: async ({ config }): Promise<StepOutcome> => {
    const a = config.aws;
    const file = a.webIdentityTokenFile;
    const observed: Observed = { tokenFile: file ?? null, roleArn: a.roleArn ?? null };
    if (file === undefined || a.roleArn === undefined) {
      const [set, unset] =
        file === undefined
          ? ['AWS_ROLE_ARN', 'AWS_WEB_IDENTITY_TOKEN_FILE']
          : ['AWS_WEB_IDENTITY_TOKEN_FILE', 'AWS_ROLE_ARN'];
      const next =
        containerPlan(a) !== undefined
          ? 'the container credential endpoint'
          : "IMDS (on EKS: the node's role, when pods can reach it)";
      return {
        observed,
        warning: {
          reason: 'env_web_identity_incomplete',
          message: `${set} is set but ${unset} is not: the SDK skips web identity (IRSA) and falls through to ${next}`,
        },
      };
    }
    const variable = 'AWS_WEB_IDENTITY_TOKEN_FILE';
    const t = await readTokenFile(file);
    if (!t.ok) throw tokenFileFailure(variable, file, `cannot be read (${t.code})`);
    if (t.empty) throw tokenFileFailure(variable, file, 'is empty');
    const c = t.claims;
    observed.subject = c.subject ?? null;
    observed.issuer = c.issuer ?? null;
    observed.audience = c.audience ?? null;
    observed.tokenExpiresAt = c.expiresAt ?? null;
    const warn = (message: string): StepOutcome => ({
      observed,
      warning: { reason: 'env_token_file_invalid', message: `${variable}=${file} ${message}` },
    });
    if (c.expiresAt !== undefined && Date.parse(c.expiresAt) <= Date.now()) {
      return warn(
        `holds a token that expired at ${c.expiresAt}: the kubelet refreshes projected tokens, so this is a copy nobody refreshes`,
      );
    }
    if (c.audience !== undefined && !c.audience.split(',').includes(STS_AUDIENCE)) {
      return warn(`holds a token for audience ${c.audience}; STS accepts only ${STS_AUDIENCE}`);
    }
    if (t.lineBreak) return warn('contains a line break: STS may refuse the token');
    return { observed };
  },
};
