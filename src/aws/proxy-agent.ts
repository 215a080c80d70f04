import { type ClientRequest, Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import type { Socket } from 'node:net';
import { Agent as AgentBase, type AgentConnectOpts } from 'agent-base';
import { HttpProxyAgent } from 'http-proxy-agent';
import { HttpsProxyAgent } from 'https-proxy-agent';
import { redactUrl } from '../config/mask.ts';
import { proxyFor } from '../config/proxy-env.ts';
import type { ProxyVars } from '../model/config.ts';

/** How the way through a proxy failed: each is its own reason with its own fix. */
export type ProxyFailure = 'unreachable' | 'auth_required' | 'denied' | 'timeout';

/**
 * The proxy, not the service, stopped the request: it could not be reached,
 * answered CONNECT with another status than 200, or did not answer it in time.
 * `proxy` is the proxy's URL with its credentials masked; `target` the
 * host:port the CONNECT asked for.
 */
export class ProxyError extends Error {
  override readonly name = 'ProxyError';
  readonly failure: ProxyFailure;
  readonly proxy: string;
  readonly target: string;
  readonly status: number | undefined;
  readonly code: string;
  constructor(
    failure: ProxyFailure,
    proxy: URL,
    target: string,
    detail: { status?: number; code?: string },
  ) {
    const masked = redactUrl(proxy.href);
    const what =
      detail.status !== undefined
        ? `answered CONNECT ${target} with ${detail.status}`
        : failure === 'timeout'
          ? `did not answer CONNECT ${target} in time`
          : `could not be reached (${detail.code ?? 'error'})`;
    super(`proxy ${masked} ${what}`);
    this.failure = failure;
    this.proxy = masked;
    this.target = target;
    this.status = detail.status;
    this.code = detail.code ?? (detail.status === undefined ? 'EPROXY' : `PROXY_${detail.status}`);
  }
}

/** Node's codes for a proxy that is not there to talk to. */
const UNREACHABLE = new Set([
  'ECONNREFUSED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ECONNRESET',
  'EPIPE',
]);

function codeOf(err: unknown): string | undefined {
  const code: unknown =
    typeof err === 'object' && err !== null ? Reflect.get(err, 'code') : undefined;
  return typeof code === 'string' ? code : undefined;
}

/**
 * HTTPS through a proxy by CONNECT (https-proxy-agent does the protocol),
 * with what the library leaves to its caller: a CONNECT answered with
 * anything but 200 becomes a ProxyError instead of the proxy's own page
 * replayed as if the service had said it (a proxy's 403 would read as S3's
 * AccessDenied); a CONNECT unanswered within `connectTimeoutMs` is a
 * ProxyError too, and its socket is destroyed rather than left to the proxy.
 */
class ConnectProxyAgent extends HttpsProxyAgent<string> {
  private readonly connectTimeoutMs: number;
  private readonly base: HttpsProxyAgent<string>['connectOpts'];

  constructor(proxy: URL, connectTimeoutMs: number) {
    super(proxy, { keepAlive: true });
    this.connectTimeoutMs = connectTimeoutMs;
    this.base = this.connectOpts;
  }

  override async connect(req: ClientRequest, opts: AgentConnectOpts): Promise<Socket> {
    const target = `${opts.host}:${opts.port}`;
    let status: number | undefined;
    req.once('proxyConnect', (c: { statusCode: number }) => {
      status = c.statusCode;
    });
    // The library opens its socket synchronously from connectOpts: a signal
    // there lets a CONNECT that hangs be torn down with its socket.
    const abort = new AbortController();
    this.connectOpts = { ...this.base, signal: abort.signal };
    const connecting = super.connect(req, opts);
    this.connectOpts = this.base;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        reject(new ProxyError('timeout', this.proxy, target, {}));
        abort.abort();
      }, this.connectTimeoutMs);
    });
    let socket: Socket;
    try {
      socket = await Promise.race([connecting, timedOut]);
    } catch (err) {
      if (err instanceof ProxyError) throw err;
      const code = codeOf(err);
      throw new ProxyError(
        code !== undefined && UNREACHABLE.has(code) ? 'unreachable' : 'denied',
        this.proxy,
        target,
        code === undefined ? {} : { code },
      );
    } finally {
      clearTimeout(timer);
      connecting.catch(() => {});
    }
    if (status !== undefined && status !== 200) {
      socket.destroy();
      throw new ProxyError(status === 407 ? 'auth_required' : 'denied', this.proxy, target, {
        status,
      });
    }
    return socket;
  }
}

/**
 * One agent per scheme for the SDK's handler: each request goes through the
 * proxy botocore would take for its URL (proxy-env.ts), or directly.
 * Kept-alive sockets are pooled per route, as the SDK's own agents pool them.
 */
class RoutingAgent extends AgentBase {
  private readonly vars: ProxyVars;
  private readonly secure: boolean;
  private readonly direct: HttpAgent;
  private readonly viaProxy = new Map<string, HttpAgent>();
  private readonly connectTimeoutMs: number;

  constructor(vars: ProxyVars, secure: boolean, connectTimeoutMs: number) {
    super({ keepAlive: true });
    this.vars = vars;
    this.secure = secure;
    this.connectTimeoutMs = connectTimeoutMs;
    this.direct = secure ? new HttpsAgent({ keepAlive: true }) : new HttpAgent({ keepAlive: true });
  }

  override connect(_req: ClientRequest, opts: AgentConnectOpts): HttpAgent {
    const scheme = this.secure ? 'https' : 'http';
    const port = opts.port === (this.secure ? 443 : 80) ? '' : `:${opts.port}`;
    const host = opts.host?.includes(':') ? `[${opts.host}]` : opts.host;
    const proxy = proxyFor(new URL(`${scheme}://${host}${port}/`), this.vars);
    if (proxy === undefined) return this.direct;
    let agent = this.viaProxy.get(proxy.href);
    if (agent === undefined) {
      // Plain HTTP goes to the proxy as an absolute-form request, as botocore
      // (urllib3) sends it; HTTPS by CONNECT.
      agent = this.secure
        ? new ConnectProxyAgent(proxy, this.connectTimeoutMs)
        : new HttpProxyAgent(proxy, { keepAlive: true });
      this.viaProxy.set(proxy.href, agent);
    }
    return agent;
  }

  override destroy(): void {
    this.direct.destroy();
    for (const a of this.viaProxy.values()) a.destroy();
    this.viaProxy.clear();
    super.destroy();
  }
}

/**
 * The agents for S3, STS and KMS when any proxy variable is set; undefined
 * when none is, so the SDK keeps its own agents. IMDS and the container
 * credential endpoints never come here: the SDK's credential providers open
 * their own connections, as they must (a proxy must never see them).
 */
export function proxyAgents(
  vars: ProxyVars,
  connectTimeoutMs: number,
): { httpAgent: HttpAgent; httpsAgent: HttpsAgent } | undefined {
  if (vars.http === undefined && vars.https === undefined) return undefined;
  return {
    httpAgent: new RoutingAgent(vars, false, connectTimeoutMs),
    // The handler only needs an https.Agent-shaped object; agent-base's is one.
    httpsAgent: new RoutingAgent(vars, true, connectTimeoutMs) as unknown as HttpsAgent,
  };
}
