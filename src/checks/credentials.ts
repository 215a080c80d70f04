import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import { maskKeyId } from '../config/mask.ts';
import { CheckFailure } from '../model/check.ts';
import { regionFor } from '../model/region.ts';
import type { Check, StepOutcome } from './check.ts';
import type { ProbeDeps } from './deps.ts';

/** `arn:aws:sts::ACCT:assumed-role/NAME/SESSION` or `arn:aws:iam::ACCT:role/NAME` → NAME. */
export function roleNameOf(arn: string): string | undefined {
  const resource = arn.split(':').slice(5).join(':');
  const parts = resource.split('/');
  if (parts[0] === 'assumed-role') return parts[1] || undefined;
  if (parts[0] === 'role') return parts.at(-1) || undefined;
  return undefined;
}

function roleMatches(expected: string, arn: string): boolean {
  if (expected.startsWith('arn:')) {
    if (expected === arn) return true;
    return roleNameOf(expected) === roleNameOf(arn);
  }
  return roleNameOf(arn) === expected;
}

export const credentialsCheck: Check<ProbeDeps> = {
  name: 'credentials',
  dependsOn: ['imds'],
  steps: () => [
    {
      name: 'resolve',
      service: 'credentials',
      run: async (ctx): Promise<StepOutcome> => {
        ctx.deps.holder.resolved = undefined;
        const r = await ctx.deps.resolveCredentials(ctx.signal);
        ctx.deps.holder.resolved = r;
        ctx.facts.credentialSource = r.source;
        ctx.facts.accessKeyId = maskKeyId(r.identity.accessKeyId);
        if (r.expiration) ctx.facts.credentialsExpiration = r.expiration.toISOString();
        return {
          observed: {
            source: r.source,
            accessKeyId: maskKeyId(r.identity.accessKeyId),
            expiration: r.expiration?.toISOString() ?? null,
            originalExpiration: r.originalExpiration?.toISOString() ?? null,
            sessionToken: r.identity.sessionToken !== undefined,
          },
        };
      },
    },
    {
      name: 'identity',
      service: 'sts',
      run: async (ctx): Promise<StepOutcome> => {
        const region = regionFor(ctx.config.aws, ctx.facts);
        const out = await ctx.deps.clients
          .sts(region)
          .send(new GetCallerIdentityCommand({}), { abortSignal: ctx.signal })
          .catch((e: unknown) => {
            const original = ctx.deps.holder.resolved?.originalExpiration;
            if (original === undefined) throw e;
            // The SDK kept expired credentials alive: that, not STS, is the cause.
            throw new CheckFailure(
              'credentials_extended',
              `STS refused credentials the SDK extended after they expired at ${original.toISOString()}: the credential source stopped refreshing`,
              { originalExpiration: original.toISOString() },
              e,
            );
          });
        const account = out.Account ?? '';
        const arn = out.Arn ?? '';
        ctx.facts.accountId = account;
        ctx.facts.callerArn = arn;
        const role = roleNameOf(arn);
        if (role && ctx.facts.roleName === undefined) ctx.facts.roleName = role;
        const observed = { account, arn, requestId: out.$metadata.requestId ?? null };
        const { expectedAccount, expectedRole } = ctx.config;
        if (expectedAccount !== undefined && account !== expectedAccount) {
          throw new CheckFailure(
            'credentials_wrong_account',
            `caller is in account ${account}, expected ${expectedAccount}`,
            { account, expected: expectedAccount },
          );
        }
        if (expectedRole !== undefined && !roleMatches(expectedRole, arn)) {
          throw new CheckFailure(
            'credentials_wrong_role',
            `caller is ${arn}, expected role ${expectedRole}`,
            { arn, expected: expectedRole },
          );
        }
        return { observed };
      },
    },
    {
      name: 'expiry',
      service: 'credentials',
      run: async (ctx): Promise<StepOutcome> => {
        const raw = ctx.deps.holder.resolved;
        const exp = raw?.expiration;
        if (exp === undefined) return { observed: { expiresInSeconds: null, kind: 'long-term' } };
        const left = Math.round((exp.getTime() - Date.now()) / 1000);
        const observed = { expiresInSeconds: left, expiration: exp.toISOString() };
        if (raw?.originalExpiration) {
          return {
            observed: { ...observed, originalExpiration: raw.originalExpiration.toISOString() },
            warning: {
              reason: 'credentials_extended',
              message: `the SDK extended credentials that expired at ${raw.originalExpiration.toISOString()}: the credential source is failing to refresh`,
            },
          };
        }
        if (left <= 0) {
          throw new CheckFailure('credentials_expired', `credentials expired ${-left} s ago`);
        }
        if (left < ctx.config.credentialsFailSeconds) {
          throw new CheckFailure(
            'credentials_expiring',
            `credentials expire in ${left} s (fail below ${ctx.config.credentialsFailSeconds} s) and were not refreshed`,
          );
        }
        if (left < ctx.config.credentialsWarnSeconds) {
          return {
            observed,
            warning: {
              reason: 'credentials_expiring',
              message: `credentials expire in ${left} s (warn below ${ctx.config.credentialsWarnSeconds} s)`,
            },
          };
        }
        return { observed };
      },
    },
  ],
};
