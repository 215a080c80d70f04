import { type PlatformPlan, planSource, platformPlan } from '../aws/credential-platform.ts';
import { type ImdsAnswer, ImdsError } from '../aws/imds-client.ts';
import {
  parseIamInfo,
  parseIdentityDocumentAccount,
  parseInstanceId,
  parseRegion,
  parseRoleCredentials,
  parseRoleList,
} from '../aws/imds-documents.ts';
import { CheckFailure } from '../model/check.ts';
import type { Check, CheckContext, Step, StepOutcome } from './check.ts';
import type { ProbeDeps } from './deps.ts';

type Ctx = CheckContext<ProbeDeps>;

/** Per-cycle IMDS session: the token (or null once fallen back to IMDSv1). */
interface Session {
  token: string | null;
}

function expectOk(path: string, a: ImdsAnswer): string {
  if (a.status === 200) return a.body;
  throw new ImdsError('http', `GET ${path} answered ${a.status}`, { status: a.status });
}

async function get(ctx: Ctx, session: Session, path: string): Promise<string> {
  return expectOk(path, await ctx.deps.imds.get(path, session.token, ctx.signal));
}

/**
 * On a token PUT that got no answer, a tokenless GET tells the hop-limit
 * variants apart (reference A.4): 200 = tokens optional, the SDK silently
 * falls back to IMDSv1; 401 = tokens required, the SDK gets nothing.
 */
async function diagnoseTokenTimeout(
  ctx: Ctx,
  session: Session,
  penaltyMs: number,
): Promise<StepOutcome> {
  const observed = { fallbackPenaltyMs: Math.round(penaltyMs), tokenPut: 'timeout' };
  let probe: ImdsAnswer;
  try {
    probe = await ctx.deps.imds.get('/latest/meta-data/instance-id', null, ctx.signal);
  } catch (e) {
    // Neither request answered: IMDS itself is silent, which says nothing about
    // tokens or the hop limit (a hop-limit drop spares the tokenless GET).
    if (e instanceof ImdsError && (e.kind === 'timeout' || e.kind === 'aborted')) {
      throw new CheckFailure(
        'imds_timeout',
        `token PUT got no answer within ${Math.round(penaltyMs)} ms and a tokenless GET got none either: IMDS does not answer at all`,
      );
    }
    throw new CheckFailure(
      'imds_token_timeout',
      `token PUT got no answer within ${Math.round(penaltyMs)} ms and a tokenless GET failed too (${e instanceof Error ? e.message : String(e)})`,
    );
  }
  if (probe.status === 401) {
    throw new CheckFailure(
      'imds_hop_limit_tokens_required',
      `token PUT got no answer within ${Math.round(penaltyMs)} ms and tokenless GET answers 401: hop limit 1 with IMDSv2 required; the SDK gets no credentials`,
      { fallbackPenaltyMs: Math.round(penaltyMs) },
    );
  }
  if (probe.status !== 200) {
    throw new CheckFailure(
      'imds_token_timeout',
      `token PUT got no answer within ${Math.round(penaltyMs)} ms; tokenless GET answered ${probe.status}`,
    );
  }
  if (ctx.config.aws.imdsV1Disabled) {
    throw new CheckFailure(
      'imds_token_timeout',
      `token PUT got no answer within ${Math.round(penaltyMs)} ms; IMDSv1 answers but AWS_EC2_METADATA_V1_DISABLED forbids the fallback: the SDK gets no credentials`,
      { fallbackPenaltyMs: Math.round(penaltyMs) },
    );
  }
  session.token = null;
  ctx.facts.imdsMode = 'v1-fallback';
  return {
    observed: { ...observed, mode: 'v1-fallback' },
    warning: {
      reason: 'imds_hop_limit_v1_fallback',
      message: `token PUT got no answer within ${Math.round(penaltyMs)} ms; IMDSv1 answers: hop limit 1 likely, every credential refresh pays the timeout`,
    },
  };
}

const NOT_APPLICABLE_BECAUSE: Record<PlatformPlan['kind'], string> = {
  container:
    'AWS_CONTAINER_CREDENTIALS_* is set: the SDK asks the container credential endpoint and never IMDS',
  'web-identity':
    'AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN are set: the SDK assumes the role with the token and never reaches IMDS',
};

/**
 * On ECS and EKS (task role, Pod Identity, IRSA) the app's credentials never
 * come from IMDS, and pods are often kept from it on purpose (hop limit 1 on
 * EKS nodes). The check then makes no IMDS call and passes as not applicable,
 * so the checks that depend on it still run.
 */
function notApplicable(plan: PlatformPlan): Step<ProbeDeps> {
  return {
    name: 'applicability',
    service: 'imds',
    run: async (): Promise<StepOutcome> => ({
      observed: {
        applicable: false,
        reason: 'imds_not_applicable',
        credentialSource: planSource(plan),
        because: NOT_APPLICABLE_BECAUSE[plan.kind],
      },
    }),
  };
}

export const imdsCheck: Check<ProbeDeps> = {
  name: 'imds',
  dependsOn: [],
  steps: (ctx) => {
    const plan = platformPlan(ctx.config.aws);
    if (plan !== undefined) return [notApplicable(plan)];
    const session: Session = { token: null };
    return [
      {
        name: 'token',
        service: 'imds',
        run: async (ctx): Promise<StepOutcome> => {
          if (ctx.config.aws.imdsDisabled) {
            throw new CheckFailure(
              'env_imds_disabled',
              `AWS_EC2_METADATA_DISABLED=${ctx.config.aws.imdsDisabledRaw}: the SDK does not use IMDS`,
            );
          }
          const t0 = performance.now();
          try {
            const t = await ctx.deps.imds.token(ctx.signal);
            session.token = t.token;
            ctx.facts.imdsMode = 'v2';
            return { observed: { mode: 'v2', endpoint: ctx.deps.imds.endpoint } };
          } catch (e) {
            if (e instanceof ImdsError && e.kind === 'timeout') {
              return diagnoseTokenTimeout(ctx, session, performance.now() - t0);
            }
            if (e instanceof ImdsError && e.kind === 'http' && e.status === 403) {
              throw new CheckFailure(
                'imds_disabled',
                'token PUT answered 403: the metadata endpoint is disabled for this instance (HttpEndpoint=disabled)',
              );
            }
            if (e instanceof ImdsError && e.kind === 'http' && e.status !== undefined) {
              if (e.status === 429) throw e;
              throw new CheckFailure(
                'imds_token_rejected',
                `token PUT answered ${e.status}: IMDSv2 tokens are refused`,
              );
            }
            if (e instanceof ImdsError) ctx.facts.imdsMode = 'unreachable';
            throw e;
          }
        },
      },
      {
        name: 'identity',
        service: 'imds',
        run: async (ctx): Promise<StepOutcome> => {
          const instanceId = parseInstanceId(
            await get(ctx, session, '/latest/meta-data/instance-id'),
          );
          const region = parseRegion(await get(ctx, session, '/latest/meta-data/placement/region'));
          if (!instanceId || !region) {
            throw new CheckFailure(
              'imds_bad_response',
              'instance-id or placement/region is not in the documented format',
            );
          }
          ctx.facts.instanceId = instanceId;
          ctx.facts.instanceIdSource = 'imds';
          ctx.facts.region = region;
          let infoBody: string;
          try {
            infoBody = await get(ctx, session, '/latest/meta-data/iam/info');
          } catch (e) {
            if (e instanceof ImdsError && e.status === 404) {
              throw new CheckFailure(
                'imds_no_role',
                'iam/info answers 404: no IAM role (instance profile) is attached to this instance',
              );
            }
            throw e;
          }
          const info = parseIamInfo(infoBody);
          if (!info.ok) throw new CheckFailure('imds_bad_response', info.problem);
          if (info.value.code !== 'Success') {
            throw new CheckFailure(
              'imds_role_error',
              `iam/info Code=${info.value.code}${info.value.message ? `: ${info.value.message}` : ''}`,
              { code: info.value.code },
            );
          }
          if (info.value.instanceProfileArn)
            ctx.facts.instanceProfileArn = info.value.instanceProfileArn;
          if (ctx.deps.deep) {
            // /diagnose only: the account fills the fixes even when STS is what broke.
            const doc = await get(ctx, session, '/latest/dynamic/instance-identity/document').catch(
              () => undefined,
            );
            const account = doc === undefined ? undefined : parseIdentityDocumentAccount(doc);
            if (account) ctx.facts.accountId = account;
          }
          return {
            observed: {
              instanceId,
              region,
              instanceProfileArn: info.value.instanceProfileArn ?? null,
            },
          };
        },
      },
      {
        name: 'role',
        service: 'imds',
        run: async (ctx): Promise<StepOutcome> => {
          let list: string;
          try {
            list = await get(ctx, session, '/latest/meta-data/iam/security-credentials/');
          } catch (e) {
            if (e instanceof ImdsError && e.status === 404) {
              throw new CheckFailure(
                'imds_no_role',
                'iam/security-credentials/ answers 404: no role attached',
              );
            }
            throw e;
          }
          const roleName = parseRoleList(list);
          if (!roleName) throw new CheckFailure('imds_bad_response', 'no role name listed');
          ctx.facts.roleName = roleName;
          const doc = parseRoleCredentials(
            await get(ctx, session, `/latest/meta-data/iam/security-credentials/${roleName}`),
          );
          if (!doc.ok) throw new CheckFailure('imds_bad_response', doc.problem);
          if (doc.value.code !== 'Success') {
            throw new CheckFailure(
              'imds_role_error',
              `credentials for ${roleName}: Code=${doc.value.code}${doc.value.message ? `: ${doc.value.message}` : ''}`,
              { code: doc.value.code },
            );
          }
          return {
            observed: {
              roleName,
              accessKeyId: doc.value.accessKeyIdMasked ?? null,
              expiration: doc.value.expiration?.toISOString() ?? null,
              lastUpdated: doc.value.lastUpdated?.toISOString() ?? null,
            },
          };
        },
      },
    ];
  },
};
