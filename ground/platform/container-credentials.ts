/**
 * The two container credential endpoints the SDKs' HTTP provider talks to,
 * on one port:
 *
 *  - ECS agent, `GET /v2/credentials/<id>` (the task role; the container gets
 *    AWS_CONTAINER_CREDENTIALS_RELATIVE_URI=/v2/credentials/<id> and asks
 *    169.254.170.2). Errors as the agent's credentials handler writes them:
 *    JSON `{"code","message"}`, 400 for a missing or unknown id, 503 while the
 *    agent is still reconciling (amazon-ecs-agent handlers/v1).
 *  - EKS Pod Identity Agent, `GET /v1/credentials` with `Authorization: <the
 *    pod's service-account token>` (AWS_CONTAINER_CREDENTIALS_FULL_URI=
 *    http://169.254.170.23/v1/credentials, AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE).
 *    Errors as the agent writes them (Go http.Error, text/plain): 400 for an
 *    empty, unparseable or expired token (its own checks), otherwise EKS Auth's
 *    code and HTTP status in `[request-id]: (Code): message, fault: client`
 *    (eks-pod-identity-agent pkg/errors).
 *
 * Not emulated: the Pod Identity Agent's check that the request was addressed
 * to 169.254.170.23 (tests reach it on loopback, the only plain-http address
 * besides the link-local ones the SDK accepts).
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import {
  CredentialCache,
  type CredentialSource,
  type EmulatorCreds,
  fakeCredentialSource,
} from '../imds/credentials.ts';
import { Delays, httpUrl, listen, trackServer } from '../shared/http-sockets.ts';
import type { StsEndpoint } from '../sts/endpoint.ts';
import { audiences, newSigningKey, readClaims, serviceAccountToken, verifyToken } from './jwt.ts';

export type ContainerFault =
  | 'none'
  /** Pod Identity: EKS Auth finds no association for the service account (404) */
  | 'no-association'
  /** Pod Identity: EKS Auth may not assume the role (its trust policy lacks pods.eks.amazonaws.com) */
  | 'access-denied'
  /** Pod Identity: EKS Auth says the token expired (clock or a stale copy of the token) */
  | 'token-expired'
  /** ECS: the agent does not know the credentials id (task role removed, agent state lost) */
  | 'unknown-id'
  /** ECS: the agent restarted and has not reconciled its tasks yet */
  | 'uninitialized'
  | 'error500'
  /** 200 without a session token */
  | 'malformed'
  | 'slow'
  | 'hang'
  | 'reset';

export const CONTAINER_FAULTS: readonly ContainerFault[] = [
  'none',
  'no-association',
  'access-denied',
  'token-expired',
  'unknown-id',
  'uninitialized',
  'error500',
  'malformed',
  'slow',
  'hang',
  'reset',
];

export interface ContainerIdentity {
  accountId: string;
  roleName: string;
  /** EKS: the cluster the Pod Identity Agent serves */
  clusterName: string;
}

export interface ContainerRequest {
  path: string;
  /** the Authorization header as received (a test-made token), or null */
  authorization: string | null;
  status: number;
}

export interface TokenOptions {
  namespace?: string;
  serviceAccount?: string;
  expiresInSeconds?: number;
  audience?: string;
}

export interface ContainerCredentialsEndpoint {
  /** http://HOST:PORT */
  url: string;
  identity: ContainerIdentity;
  /** what the ECS agent injects as AWS_CONTAINER_CREDENTIALS_RELATIVE_URI */
  ecsRelativeUri: string;
  /** the same credentials as a FULL_URI on this endpoint (loopback tests) */
  ecsUrl: string;
  /** FULL_URI of the Pod Identity path on this endpoint */
  podIdentityUrl: string;
  /** the issuer Pod Identity tokens carry */
  issuer: string;
  /** a projected service-account token the Pod Identity path accepts */
  issueToken(opts?: TokenOptions): string;
  setFault(fault: ContainerFault, opts?: { delayMs?: number }): void;
  requests(): ContainerRequest[];
  resetRequests(): void;
  /** every credential handed out so far, then each new one (so STS can answer for them) */
  onCredentials(listener: (c: EmulatorCreds) => void): void;
  close(): Promise<void>;
}

export interface ContainerCredentialsOptions {
  host?: string;
  port?: number;
  credentials?: CredentialSource;
  identity?: Partial<ContainerIdentity>;
  log?: (message: string) => void;
}

export const POD_IDENTITY_AUDIENCE = 'pods.eks.amazonaws.com';
const ECS_V2 = '/v2/credentials';
const POD_IDENTITY_PATH = '/v1/credentials';

interface Answer {
  status: number;
  type: 'json' | 'text';
  body: string;
}

const json = (status: number, doc: unknown): Answer => ({
  status,
  type: 'json',
  body: JSON.stringify(doc),
});
// Go's http.Error: the message plus a newline, as text/plain.
const text = (status: number, message: string): Answer => ({
  status,
  type: 'text',
  body: `${message}\n`,
});
const ecsError = (status: number, code: string, message: string) =>
  json(status, { code, message: `CredentialsV2Request: ${message}` });
const eksAuthError = (status: number, code: string, message: string) =>
  text(status, `[${randomUUID()}]: (${code}): ${message}, fault: client`);

export async function startContainerCredentials(
  opts: ContainerCredentialsOptions = {},
): Promise<ContainerCredentialsEndpoint> {
  const host = opts.host ?? '127.0.0.1';
  const identity: ContainerIdentity = {
    accountId: opts.identity?.accountId ?? '123456789012',
    roleName: opts.identity?.roleName ?? 's3-health-task-role',
    clusterName: opts.identity?.clusterName ?? 's3h-ground',
  };
  const cache = new CredentialCache(opts.credentials ?? fakeCredentialSource, 300_000);
  const log = opts.log ?? (() => {});
  const key = newSigningKey();
  const issuer = `https://oidc.eks.eu-west-1.amazonaws.com/id/${randomUUID().replace(/-/g, '').toUpperCase()}`;
  const ecsId = randomUUID();
  const delays = new Delays();
  const listeners: Array<(c: EmulatorCreds) => void> = [];
  const handedOut = new Set<string>();
  let fault: ContainerFault = 'none';
  let delayMs = 2000;
  let seen: ContainerRequest[] = [];

  const credentials = async (extra: Record<string, string>): Promise<Answer> => {
    let creds: EmulatorCreds;
    try {
      creds = (await cache.get()).creds;
    } catch (err) {
      log(`credential source failed: ${err instanceof Error ? err.message : String(err)}`);
      return text(500, 'Internal Server Error');
    }
    if (!handedOut.has(creds.accessKeyId)) {
      handedOut.add(creds.accessKeyId);
      for (const l of listeners) l(creds);
    }
    return json(200, {
      ...extra,
      AccessKeyId: creds.accessKeyId,
      SecretAccessKey: creds.secretAccessKey,
      ...(fault === 'malformed' ? {} : { Token: creds.sessionToken }),
      Expiration: creds.expiration.toISOString(),
    });
  };

  const ecs = (id: string): Promise<Answer> | Answer => {
    if (id === '') return ecsError(400, 'NoIdInRequest', 'No ID in the request');
    if (fault === 'unknown-id' || id !== ecsId) {
      return ecsError(400, 'InvalidIdInRequest', 'ID not found');
    }
    if (fault === 'uninitialized') {
      return ecsError(503, 'CredentialsUninitialized', 'Credentials uninitialized for ID');
    }
    return credentials({
      RoleArn: `arn:aws:iam::${identity.accountId}:role/${identity.roleName}`,
    });
  };

  const podIdentity = (token: string): Promise<Answer> | Answer => {
    // The agent's own checks first (internal/validation/request.go), then EKS Auth's.
    if (token === '') return text(400, 'Service account token cannot be empty');
    const claims = readClaims(token);
    if (!claims) {
      return text(
        400,
        'Service account token cannot be parsed: token is malformed: token contains an invalid number of segments',
      );
    }
    if (claims.exp * 1000 <= Date.now()) {
      return text(
        400,
        'Service account token failed basic claim validations: token has invalid claims: token is expired',
      );
    }
    const verified = verifyToken(token, key);
    if (
      !verified.ok ||
      verified.claims.iss !== issuer ||
      !audiences(verified.claims).includes(POD_IDENTITY_AUDIENCE)
    ) {
      return eksAuthError(
        400,
        'InvalidTokenException',
        'The specified Kubernetes service account token is invalid.',
      );
    }
    if (fault === 'token-expired') {
      return eksAuthError(
        400,
        'ExpiredTokenException',
        'The specified Kubernetes service account token is expired.',
      );
    }
    if (fault === 'no-association') {
      return eksAuthError(
        404,
        'ResourceNotFoundException',
        `No Pod Identity Association found for cluster ${identity.clusterName} and ${claims.sub}`,
      );
    }
    if (fault === 'access-denied') {
      return eksAuthError(
        400,
        'AccessDeniedException',
        `EKS Auth is not authorized to assume role arn:aws:iam::${identity.accountId}:role/${identity.roleName}: its trust policy does not allow pods.eks.amazonaws.com`,
      );
    }
    return credentials({ AccountId: identity.accountId });
  };

  const route = (req: IncomingMessage, path: string): Promise<Answer> | Answer => {
    if (req.method !== 'GET') return text(405, 'Method Not Allowed');
    if (fault === 'error500') return text(500, 'Internal Server Error');
    if (path === ECS_V2 || path === `${ECS_V2}/`) return ecs('');
    if (path.startsWith(`${ECS_V2}/`)) return ecs(path.slice(ECS_V2.length + 1));
    if (path === POD_IDENTITY_PATH) return podIdentity(req.headers.authorization ?? '');
    return text(404, '404 page not found');
  };

  const send = (res: ServerResponse, a: Answer) => {
    const body = Buffer.from(a.body, 'utf8');
    res.writeHead(a.status, {
      'Content-Type': a.type === 'json' ? 'application/json' : 'text/plain; charset=utf-8',
      'Content-Length': String(body.length),
      ...(a.type === 'text' ? { 'X-Content-Type-Options': 'nosniff' } : {}),
    });
    res.end(body);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const path = new URL(req.url ?? '/', 'http://container').pathname;
    const entry: ContainerRequest = {
      path,
      authorization: req.headers.authorization ?? null,
      status: 0,
    };
    seen.push(entry);
    if (fault === 'reset') {
      req.socket.resetAndDestroy();
      return;
    }
    req.resume();
    if (fault === 'hang') return;
    if (fault === 'slow' && !(await delays.wait(delayMs))) return;
    const answer = await route(req, path);
    if (res.destroyed) return;
    entry.status = answer.status;
    send(res, answer);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      log(`handler failed: ${err instanceof Error ? err.message : String(err)}`);
      if (!res.headersSent) send(res, text(500, 'Internal Server Error'));
      else res.destroy();
    });
  });
  const tracked = trackServer(server);
  const port = await listen(server, opts.port ?? 0, host);
  const url = httpUrl(host, port);

  return {
    url,
    identity,
    ecsRelativeUri: `${ECS_V2}/${ecsId}`,
    ecsUrl: `${url}${ECS_V2}/${ecsId}`,
    podIdentityUrl: `${url}${POD_IDENTITY_PATH}`,
    issuer,
    issueToken: (t = {}) =>
      serviceAccountToken(
        {
          issuer,
          namespace: t.namespace ?? 'apps',
          serviceAccount: t.serviceAccount ?? 's3-health',
          audience: t.audience ?? POD_IDENTITY_AUDIENCE,
          ...(t.expiresInSeconds === undefined ? {} : { expiresInSeconds: t.expiresInSeconds }),
        },
        key,
      ),
    setFault(f, fo = {}) {
      fault = f;
      delayMs = fo.delayMs ?? 2000;
    },
    requests: () => seen.map((r) => ({ ...r })),
    resetRequests() {
      seen = [];
    },
    onCredentials(listener) {
      listeners.push(listener);
      const held = cache.peek();
      if (held && handedOut.has(held.creds.accessKeyId)) listener(held.creds);
    },
    async close() {
      delays.cancelAll();
      await tracked.close();
    },
  };
}

/**
 * Makes the STS endpoint recognise the endpoint's credentials as the role's
 * session, as real STS would (`assumed-role/ROLE/SESSION`).
 */
export function linkContainerToSts(
  ep: ContainerCredentialsEndpoint,
  sts: StsEndpoint,
  sessionName = 'ecs-task-0123456789abcdef0',
): void {
  const { accountId, roleName } = ep.identity;
  ep.onCredentials((c) => {
    sts.register(c.accessKeyId, {
      account: accountId,
      arn: `arn:aws:sts::${accountId}:assumed-role/${roleName}/${sessionName}`,
      userId: `AROAS3HEALTHCONTAINER:${sessionName}`,
      secretAccessKey: c.secretAccessKey,
      sessionToken: c.sessionToken,
      expiration: c.expiration,
    });
  });
}
