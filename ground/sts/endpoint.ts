/**
 * A minimal STS endpoint that answers GetCallerIdentity, in the real
 * awsQuery XML shape, for the credentials registered with it, plus the
 * unsigned actions plugged in with serveUnsigned(). radosgw does not
 * implement GetCallerIdentity (405), so tests and the demo point the SDK here.
 *
 * Checks, in the order a caller meets them: SigV4 header present and
 * well-formed, access key known, session token matches (a long-term key must
 * come without one), token not expired, request time within 15 min, then the
 * signature itself when a secret was registered.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { Delays, httpUrl, listen, trackServer } from '../shared/http-sockets.ts';
import { readBody } from '../shared/request-body.ts';
import { checkSigV4 } from './sigv4.ts';

export interface StsIdentity {
  account: string;
  arn: string;
  userId: string;
  /** when set, the request signature is verified with it */
  secretAccessKey?: string;
  /** temporary credentials: the X-Amz-Security-Token that must accompany the key */
  sessionToken?: string;
  expiration?: Date;
}

export type StsFault = 'none' | 'reset' | 'slow' | 'hang' | 'error500';

/** What an action served without a signature answers: its result document, or an STS error. */
export type UnsignedAnswer = { ok: true; xml: string } | { ok: false; error: StsError };

/**
 * An action real STS accepts unsigned (AssumeRoleWithWebIdentity): it gets the
 * request's parameters (form or query) and the request id it must echo.
 */
export type UnsignedAction = (
  param: (name: string) => string | null,
  requestId: string,
) => Promise<UnsignedAnswer>;

export interface StsEndpoint {
  url: string;
  register(accessKeyId: string, id: StsIdentity): void;
  /** Serves `action` without authentication, after the fault modes (see ground/platform/web-identity.ts). */
  serveUnsigned(action: string, handler: UnsignedAction): void;
  setFault(f: StsFault, opts?: { delayMs?: number }): void;
  /** requests received, whatever their outcome */
  calls(): number;
  close(): Promise<void>;
}

const XMLNS = 'https://sts.amazonaws.com/doc/2011-06-15/';
const API_VERSION = '2011-06-15';
const MAX_BODY = 64 * 1024;
const MAX_SKEW_MS = 15 * 60 * 1000;

export interface StsError {
  status: number;
  type: 'Sender' | 'Receiver';
  code: string;
  message: string;
}

const invalidToken = (): StsError => ({
  status: 403,
  type: 'Sender',
  code: 'InvalidClientTokenId',
  message: 'The security token included in the request is invalid.',
});

export function xmlEscape(s: string): string {
  return s.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);
}

function sendXml(res: ServerResponse, status: number, requestId: string, xml: string): void {
  const body = Buffer.from(xml, 'utf8');
  res.writeHead(status, {
    'Content-Type': 'text/xml',
    'Content-Length': String(body.length),
    'x-amzn-RequestId': requestId,
  });
  res.end(body);
}

function sendError(res: ServerResponse, requestId: string, e: StsError): void {
  sendXml(
    res,
    e.status,
    requestId,
    `<ErrorResponse xmlns="${XMLNS}">
  <Error>
    <Type>${e.type}</Type>
    <Code>${e.code}</Code>
    <Message>${xmlEscape(e.message)}</Message>
  </Error>
  <RequestId>${requestId}</RequestId>
</ErrorResponse>
`,
  );
}

function sendIdentity(res: ServerResponse, requestId: string, id: StsIdentity): void {
  sendXml(
    res,
    200,
    requestId,
    `<GetCallerIdentityResponse xmlns="${XMLNS}">
  <GetCallerIdentityResult>
    <Arn>${xmlEscape(id.arn)}</Arn>
    <UserId>${xmlEscape(id.userId)}</UserId>
    <Account>${xmlEscape(id.account)}</Account>
  </GetCallerIdentityResult>
  <ResponseMetadata>
    <RequestId>${requestId}</RequestId>
  </ResponseMetadata>
</GetCallerIdentityResponse>
`,
  );
}

function amzDateText(d: Date): string {
  return d
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
}

export async function startStsEndpoint(
  opts: { host?: string; port?: number; tls?: { certFile: string; keyFile: string } } = {},
): Promise<StsEndpoint> {
  const host = opts.host ?? '127.0.0.1';
  const identities = new Map<string, StsIdentity>();
  const unsignedActions = new Map<string, UnsignedAction>();
  const delays = new Delays();
  let fault: StsFault = 'none';
  let delayMs = 2000;
  let calls = 0;

  const authenticate = async (
    req: IncomingMessage,
    path: string,
    query: URLSearchParams,
    body: string,
  ): Promise<StsIdentity | StsError> => {
    const checked = await checkSigV4(
      { method: req.method ?? 'GET', path, query, headers: req.headers, body },
      (accessKeyId) => identities.get(accessKeyId),
      { maxSkewMs: MAX_SKEW_MS },
    );
    if (checked.ok) return checked.caller;
    switch (checked.reason) {
      case 'missing':
        return {
          status: 403,
          type: 'Sender',
          code: 'MissingAuthenticationToken',
          message: 'Request is missing Authentication Token',
        };
      case 'malformed':
        return {
          status: 400,
          type: 'Sender',
          code: 'IncompleteSignature',
          message:
            'Authorization header requires Credential, SignedHeaders and Signature, and X-Amz-Date.',
        };
      case 'unknown-key':
        return invalidToken();
      case 'expired-token':
        return {
          status: 400,
          type: 'Sender',
          code: 'ExpiredToken',
          message: 'The security token included in the request is expired',
        };
      case 'skewed':
        return {
          status: 403,
          type: 'Sender',
          code: 'SignatureDoesNotMatch',
          message: `Signature expired: ${amzDateText(checked.signedAt)} is now earlier than ${amzDateText(new Date(checked.now - MAX_SKEW_MS))} (${amzDateText(new Date(checked.now))} - 15 min.)`,
        };
      case 'bad-signature':
        return {
          status: 403,
          type: 'Sender',
          code: 'SignatureDoesNotMatch',
          message:
            'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.',
        };
    }
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    calls++;
    const requestId = randomUUID();
    if (fault === 'reset') {
      req.socket.resetAndDestroy();
      return;
    }
    if (fault === 'hang') {
      req.resume();
      return;
    }
    const body = await readBody(req, MAX_BODY);
    if (fault === 'slow' && !(await delays.wait(delayMs))) return;
    if (res.destroyed) return;
    if (fault === 'error500') {
      return sendError(res, requestId, {
        status: 500,
        type: 'Receiver',
        code: 'InternalFailure',
        message:
          'The request processing has failed because of an unknown error, exception or failure.',
      });
    }
    if (body === undefined) {
      return sendError(res, requestId, {
        status: 413,
        type: 'Sender',
        code: 'RequestEntityTooLarge',
        message: 'Request body too large',
      });
    }
    const url = new URL(req.url ?? '/', 'http://sts');
    let path: string;
    try {
      path = decodeURIComponent(url.pathname);
    } catch {
      path = url.pathname;
    }
    const contentType = String(req.headers['content-type'] ?? '');
    const form =
      req.method === 'POST' && contentType.startsWith('application/x-www-form-urlencoded')
        ? new URLSearchParams(body)
        : new URLSearchParams();
    const param = (name: string) => form.get(name) ?? url.searchParams.get(name);

    const unsigned = unsignedActions.get(param('Action') ?? '');
    if (unsigned !== undefined && param('Version') === API_VERSION) {
      const answer = await unsigned(param, requestId);
      if (res.destroyed) return;
      if (!answer.ok) return sendError(res, requestId, answer.error);
      return sendXml(res, 200, requestId, answer.xml);
    }
    const who = await authenticate(req, path, url.searchParams, body);
    if (res.destroyed) return;
    if ('code' in who) return sendError(res, requestId, who);
    const action = param('Action');
    const version = param('Version');
    if (action !== 'GetCallerIdentity' || version !== API_VERSION) {
      return sendError(res, requestId, {
        status: 400,
        type: 'Sender',
        code: 'InvalidAction',
        message: `Could not find operation ${action ?? ''} for version ${version ?? 'NO_VERSION_SPECIFIED'}`,
      });
    }
    sendIdentity(res, requestId, who);
  };

  const handler = (req: IncomingMessage, res: ServerResponse) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) {
        sendError(res, randomUUID(), {
          status: 500,
          type: 'Receiver',
          code: 'InternalFailure',
          message: 'emulator error',
        });
      } else res.destroy();
    });
  };
  // HTTPS as AWS serves it, with a certificate from the run's CA.
  const server =
    opts.tls === undefined
      ? createServer(handler)
      : createHttpsServer(
          { cert: readFileSync(opts.tls.certFile), key: readFileSync(opts.tls.keyFile) },
          handler,
        );
  const tracked = trackServer(server);
  const port = await listen(server, opts.port ?? 0, host);
  const plain = httpUrl(host, port);

  return {
    url: opts.tls === undefined ? plain : plain.replace(/^http:/, 'https:'),
    register(accessKeyId, id) {
      identities.set(accessKeyId, id);
    },
    serveUnsigned(action, handler) {
      unsignedActions.set(action, handler);
    },
    setFault(f, fo = {}) {
      fault = f;
      delayMs = fo.delayMs ?? 2000;
    },
    calls: () => calls,
    async close() {
      delays.cancelAll();
      await tracked.close();
    },
  };
}
