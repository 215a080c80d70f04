/**
 * STS AssumeRoleWithWebIdentity (IRSA) on the ground's STS endpoint: the
 * pod's projected service-account token is checked the way STS does, in the
 * order a caller meets the failures, and a good one is exchanged for real
 * radosgw temporary credentials (any CredentialSource), which the endpoint
 * then also recognises for GetCallerIdentity.
 *
 * Error codes and statuses are STS's; the messages marked [real] are the ones
 * users report from AWS, the others are ours.
 *   1. token not a JWT                 400 InvalidIdentityToken
 *   2. issuer has no OIDC provider     400 InvalidIdentityToken [real] "No OpenIDConnect provider found in your account for ISSUER"
 *   3. signature                       400 InvalidIdentityToken
 *   4. expired                         400 ExpiredTokenException [real format]
 *   5. audience not sts.amazonaws.com  400 InvalidIdentityToken [real] "Incorrect token audience"
 *   6. role does not trust the subject 403 AccessDenied [real] "Not authorized to perform sts:AssumeRoleWithWebIdentity"
 * Fault `idp-unreachable`: 400 IDPCommunicationError, as when STS cannot fetch the issuer's keys.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { CredentialSource } from '../imds/credentials.ts';
import {
  type StsEndpoint,
  type StsError,
  type UnsignedAnswer,
  xmlEscape,
} from '../sts/endpoint.ts';
import { audiences, newSigningKey, readClaims, serviceAccountToken, verifyToken } from './jwt.ts';

export const STS_AUDIENCE = 'sts.amazonaws.com';

export type WebIdentityFault = 'none' | 'idp-unreachable';

/** A role whose trust policy lets one service account of one cluster (issuer) assume it. */
export interface WebIdentityRole {
  roleArn: string;
  issuer: string;
  namespace: string;
  serviceAccount: string;
}

export interface WebIdentityTokenOptions {
  namespace?: string;
  serviceAccount?: string;
  audience?: string;
  issuer?: string;
  expiresInSeconds?: number;
}

export interface WebIdentityCall {
  roleArn: string;
  roleSessionName: string;
  /** the STS error code, or null on success */
  error: string | null;
}

export interface WebIdentity {
  /** the cluster's OIDC issuer, registered as a provider from the start */
  issuer: string;
  issueToken(opts?: WebIdentityTokenOptions): string;
  trust(role: WebIdentityRole): void;
  distrust(roleArn: string): void;
  addProvider(issuer: string): void;
  removeProvider(issuer: string): void;
  setFault(fault: WebIdentityFault): void;
  calls(): WebIdentityCall[];
}

export interface WebIdentityOptions {
  credentials: CredentialSource;
  /** default: a random EKS-shaped issuer */
  issuer?: string;
}

const XMLNS = 'https://sts.amazonaws.com/doc/2011-06-15/';

const invalidToken = (message: string): StsError => ({
  status: 400,
  type: 'Sender',
  code: 'InvalidIdentityToken',
  message,
});

function roleParts(roleArn: string): { account: string; roleName: string } | undefined {
  const m = /^arn:aws[a-z-]*:iam::(\d{12}):role\/(?:[\w+=,.@-]+\/)*([\w+=,.@-]+)$/.exec(roleArn);
  return m?.[1] && m[2] ? { account: m[1], roleName: m[2] } : undefined;
}

function roleId(roleArn: string): string {
  const digest = createHash('sha256').update(roleArn).digest();
  let id = 'AROA';
  for (const b of digest.subarray(0, 17)) id += 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'[b % 32];
  return id;
}

export function serveWebIdentity(sts: StsEndpoint, opts: WebIdentityOptions): WebIdentity {
  const key = newSigningKey();
  const issuer =
    opts.issuer ??
    `https://oidc.eks.eu-west-1.amazonaws.com/id/${randomUUID().replace(/-/g, '').toUpperCase()}`;
  const providers = new Set<string>([issuer]);
  const roles = new Map<string, WebIdentityRole>();
  const seen: WebIdentityCall[] = [];
  let fault: WebIdentityFault = 'none';

  const check = (
    roleArn: string,
    token: string,
  ): StsError | { subject: string; issuer: string } => {
    if (fault === 'idp-unreachable') {
      return {
        status: 400,
        type: 'Sender',
        code: 'IDPCommunicationError',
        message:
          'The request could not be fulfilled because the identity provider (IDP) that was asked to verify the incoming identity token could not be reached.',
      };
    }
    const claims = readClaims(token);
    if (!claims) return invalidToken('The web identity token is not a valid JWT.');
    if (!providers.has(claims.iss)) {
      return invalidToken(`No OpenIDConnect provider found in your account for ${claims.iss}`);
    }
    if (!verifyToken(token, key).ok) {
      return invalidToken('The signature of the web identity token could not be verified.');
    }
    const now = Math.floor(Date.now() / 1000);
    if (claims.exp <= now) {
      return {
        status: 400,
        type: 'Sender',
        code: 'ExpiredTokenException',
        message: `Token expired: current date/time ${now} must be before the expiration date/time ${claims.exp}`,
      };
    }
    if (!audiences(claims).includes(STS_AUDIENCE)) return invalidToken('Incorrect token audience');
    const role = roles.get(roleArn);
    const subject = role ? `system:serviceaccount:${role.namespace}:${role.serviceAccount}` : '';
    if (!role || role.issuer !== claims.iss || subject !== claims.sub) {
      return {
        status: 403,
        type: 'Sender',
        code: 'AccessDenied',
        message: 'Not authorized to perform sts:AssumeRoleWithWebIdentity',
      };
    }
    return { subject, issuer: claims.iss };
  };

  const assume = async (
    param: (name: string) => string | null,
    requestId: string,
  ): Promise<UnsignedAnswer> => {
    const roleArn = param('RoleArn') ?? '';
    const sessionName = param('RoleSessionName') ?? '';
    const token = param('WebIdentityToken') ?? '';
    const call: WebIdentityCall = { roleArn, roleSessionName: sessionName, error: null };
    seen.push(call);
    const parts = roleParts(roleArn);
    if (!parts || !/^[\w+=,.@-]{2,64}$/.test(sessionName) || token === '') {
      call.error = 'ValidationError';
      return {
        ok: false,
        error: {
          status: 400,
          type: 'Sender',
          code: 'ValidationError',
          message: 'RoleArn, RoleSessionName and WebIdentityToken are required and well-formed',
        },
      };
    }
    const verdict = check(roleArn, token);
    if ('code' in verdict) {
      call.error = verdict.code;
      return { ok: false, error: verdict };
    }
    const creds = await opts.credentials();
    const arn = `arn:aws:sts::${parts.account}:assumed-role/${parts.roleName}/${sessionName}`;
    const assumedRoleId = `${roleId(roleArn)}:${sessionName}`;
    sts.register(creds.accessKeyId, {
      account: parts.account,
      arn,
      userId: assumedRoleId,
      secretAccessKey: creds.secretAccessKey,
      sessionToken: creds.sessionToken,
      expiration: creds.expiration,
    });
    const x = xmlEscape;
    return {
      ok: true,
      xml: `<AssumeRoleWithWebIdentityResponse xmlns="${XMLNS}">
  <AssumeRoleWithWebIdentityResult>
    <SubjectFromWebIdentityToken>${x(verdict.subject)}</SubjectFromWebIdentityToken>
    <Audience>${STS_AUDIENCE}</Audience>
    <AssumedRoleUser>
      <Arn>${x(arn)}</Arn>
      <AssumedRoleId>${x(assumedRoleId)}</AssumedRoleId>
    </AssumedRoleUser>
    <Credentials>
      <SessionToken>${x(creds.sessionToken)}</SessionToken>
      <SecretAccessKey>${x(creds.secretAccessKey)}</SecretAccessKey>
      <Expiration>${creds.expiration.toISOString()}</Expiration>
      <AccessKeyId>${x(creds.accessKeyId)}</AccessKeyId>
    </Credentials>
    <Provider>arn:aws:iam::${parts.account}:oidc-provider/${x(verdict.issuer.replace(/^https:\/\//, ''))}</Provider>
  </AssumeRoleWithWebIdentityResult>
  <ResponseMetadata>
    <RequestId>${requestId}</RequestId>
  </ResponseMetadata>
</AssumeRoleWithWebIdentityResponse>
`,
    };
  };

  sts.serveUnsigned('AssumeRoleWithWebIdentity', assume);

  return {
    issuer,
    issueToken: (t = {}) =>
      serviceAccountToken(
        {
          issuer: t.issuer ?? issuer,
          namespace: t.namespace ?? 'apps',
          serviceAccount: t.serviceAccount ?? 's3-health',
          audience: t.audience ?? STS_AUDIENCE,
          ...(t.expiresInSeconds === undefined ? {} : { expiresInSeconds: t.expiresInSeconds }),
        },
        key,
      ),
    trust(role) {
      roles.set(role.roleArn, role);
    },
    distrust(roleArn) {
      roles.delete(roleArn);
    },
    addProvider(i) {
      providers.add(i);
    },
    removeProvider(i) {
      providers.delete(i);
    },
    setFault(f) {
      fault = f;
    },
    calls: () => seen.map((c) => ({ ...c })),
  };
}
