import { readFile } from 'node:fs/promises';
import { redactUrl } from '../config/mask.ts';
import { CheckFailure, type PlatformDetail, type TokenClaims } from '../model/check.ts';
import type { AwsEnv } from '../model/config.ts';
import type { Reason } from '../model/reasons.ts';
import { type ProbeAnswer, probeContainerEndpoint } from './container-probe.ts';
import { type ContainerPlan, platformPlan, type WebIdentityPlan } from './credential-platform.ts';
import { readTokenFile, tokenFileFailure } from './service-account-token.ts';

/**
 * Turns a failure of the default chain on a platform source (ECS, EKS Pod
 * Identity, IRSA) into the cause an operator can act on. The chain hides
 * container failures behind "Could not load credentials from any providers"
 * and reports STS's web-identity refusals under names other services share;
 * this asks again once, bounded, and names the platform's own reason.
 * Anything it cannot explain comes back unchanged.
 */
export async function explainChainFailure(err: unknown, env: AwsEnv): Promise<unknown> {
  const plan = platformPlan(env);
  if (plan === undefined) return err;
  return plan.kind === 'web-identity' ? explainWebIdentity(err, plan) : explainContainer(err, plan);
}

function claimDetail(c: TokenClaims): PlatformDetail {
  const out: PlatformDetail = {};
  for (const [k, v] of Object.entries(c) as [keyof TokenClaims, string | undefined][]) {
    if (v !== undefined) out[k] = v;
  }
  return out;
}

function shape(err: unknown): { name: string; message: string } {
  const e = (typeof err === 'object' && err !== null ? err : {}) as Record<string, unknown>;
  return {
    name: typeof e.name === 'string' ? e.name : 'Error',
    message: typeof e.message === 'string' ? e.message : String(err),
  };
}

const WEB_IDENTITY_REASONS: [RegExp, Reason][] = [
  [/^AccessDenied(Exception)?$/, 'web_identity_access_denied'],
  [/^ExpiredToken(Exception)?$/, 'web_identity_token_expired'],
  [/^InvalidIdentityToken(Exception)?$/, 'web_identity_token_invalid'],
  [/^IDPCommunicationError(Exception)?$/, 'sts_error'],
];

async function explainWebIdentity(err: unknown, plan: WebIdentityPlan): Promise<unknown> {
  const file = await readTokenFile(plan.tokenFile);
  if (!file.ok) {
    return tokenFileFailure(
      'AWS_WEB_IDENTITY_TOKEN_FILE',
      plan.tokenFile,
      `cannot be read (${file.code})`,
      err,
    );
  }
  const { name, message } = shape(err);
  let reason = WEB_IDENTITY_REASONS.find(([re]) => re.test(name))?.[1];
  if (reason === undefined) return err;
  if (reason === 'web_identity_token_invalid' && /No OpenIDConnect provider/i.test(message)) {
    reason = 'web_identity_no_oidc_provider';
  }
  const who = file.claims.subject ?? 'the token in the file';
  const lineBreak = file.lineBreak ? ' (the token file ends with a line break)' : '';
  return new CheckFailure(
    reason,
    `STS AssumeRoleWithWebIdentity for ${plan.roleArn} as ${who}: ${name}: ${message}${lineBreak}`,
    { roleArn: plan.roleArn, tokenFile: plan.tokenFile, ...claimDetail(file.claims) },
    err,
  );
}

/** The agent's code: EKS Pod Identity Agent text `[id]: (Code): …`, ECS agent JSON `{code}`. */
function agentCode(body: string): { code?: string; requestId?: string } {
  const eks = /\((\w+Exception)\)/.exec(body);
  const requestId = /^\[([0-9a-fA-F-]{16,64})\]/.exec(body)?.[1];
  if (eks?.[1]) return { code: eks[1], ...(requestId ? { requestId } : {}) };
  try {
    const doc: unknown = JSON.parse(body);
    if (typeof doc === 'object' && doc !== null) {
      const d = doc as Record<string, unknown>;
      const code = d.code ?? d.Code;
      if (typeof code === 'string') return { code };
    }
  } catch {}
  return {};
}

function hasCredentialFields(body: string): boolean {
  try {
    const d = JSON.parse(body) as Record<string, unknown>;
    return ['AccessKeyId', 'SecretAccessKey', 'Token', 'Expiration'].every(
      (k) => typeof d[k] === 'string',
    );
  } catch {
    return false;
  }
}

function containerReason(status: number, code: string | undefined): Reason {
  if (code === 'ResourceNotFoundException') return 'pod_identity_no_association';
  if (code === 'AccessDeniedException') return 'pod_identity_access_denied';
  if (status >= 400 && status < 500) return 'container_credentials_refused';
  return 'container_credentials_error';
}

/** An error shaped like an SDK one, so the report shows the endpoint's status, code and id. */
function answerError(message: string, code: string, status?: number, requestId?: string) {
  return Object.assign(new Error(message), {
    name: code,
    code,
    ...(status === undefined ? {} : { $metadata: { httpStatusCode: status, requestId } }),
  });
}

function fromAnswer(
  plan: ContainerPlan,
  answer: ProbeAnswer,
  detail: PlatformDetail,
  original: unknown,
): unknown {
  if (answer.kind === 'network') {
    return new CheckFailure(
      'container_credentials_unreachable',
      `nothing answers at ${redactUrl(plan.url)} (${answer.code}: ${answer.message})`,
      { ...detail, code: answer.code },
      answerError(answer.message, answer.code),
    );
  }
  const { status, body } = answer;
  if (status === 200) {
    // It answers now: the chain's failure was transient, and its own error is all there is.
    if (hasCredentialFields(body)) return original;
    return new CheckFailure(
      'container_credentials_error',
      `${redactUrl(plan.url)} answered 200 without AccessKeyId, SecretAccessKey, Token and Expiration`,
      detail,
      answerError('malformed credentials document', 'MalformedCredentials', status),
    );
  }
  const { code, requestId } = agentCode(body);
  // Never a 200 body (it holds a secret); refusals carry only codes and names.
  const said = body.replace(/\s+/g, ' ').trim().slice(0, 240);
  return new CheckFailure(
    containerReason(status, code),
    `${redactUrl(plan.url)} answered ${status}${said ? `: ${said}` : ''}`,
    { ...detail, httpStatus: status, ...(code ? { agentCode: code } : {}) },
    answerError(said || `status ${status}`, code ?? `HTTP${status}`, status, requestId),
  );
}

async function explainContainer(err: unknown, plan: ContainerPlan): Promise<unknown> {
  if (plan.refused !== undefined) {
    return new CheckFailure(
      'env_container_url_refused',
      `${plan.variable} gives ${redactUrl(plan.url)}: ${plan.refused}`,
      { variable: plan.variable, url: redactUrl(plan.url) },
      err,
    );
  }
  // The variable's value is not kept in the config; with it, the SDK's own error is all there is.
  if (plan.token?.from === 'env') return err;
  let authorization: string | undefined;
  let claims: TokenClaims = {};
  if (plan.token?.from === 'file') {
    const variable = 'AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE';
    const file = await readTokenFile(plan.token.path);
    if (!file.ok) {
      return tokenFileFailure(variable, plan.token.path, `cannot be read (${file.code})`, err);
    }
    if (file.lineBreak) {
      return tokenFileFailure(
        variable,
        plan.token.path,
        'contains a line break: the SDK refuses \\r\\n and Node refuses \\n in the Authorization header',
        err,
      );
    }
    claims = file.claims;
    authorization = await readFile(plan.token.path, 'utf8').catch(() => undefined);
  }
  const answer = await probeContainerEndpoint(plan.url, authorization);
  return fromAnswer(
    plan,
    answer,
    { url: redactUrl(plan.url), platform: plan.flavour, ...claimDetail(claims) },
    err,
  );
}
