/**
 * A fault-injecting HTTP proxy for the ground: it sits between the sidecar
 * and a real peer (radosgw, the IMDS emulator, the STS endpoint) and breaks
 * the traffic the way networks and overloaded servers do, switchable at run
 * time, while the peer itself stays real. Faults a peer cannot produce on
 * demand (reset, black hole, truncated or trickled bodies, 503 SlowDown, a
 * closed port) come from here.
 *
 * HTTP-aware on purpose: a fault can be limited to one method or path (403 on
 * DELETE only), and kept-alive connections see a new mode on their very next
 * request. Headers go upstream as received, the Host header included, so
 * SigV4 signatures stay valid through the proxy.
 */
import { randomBytes } from 'node:crypto';
import {
  Agent,
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type OutgoingHttpHeaders,
  request,
  type ServerResponse,
} from 'node:http';
import type { Socket } from 'node:net';

export type FaultMode =
  /** forward untouched */
  | { kind: 'pass' }
  /** nothing listens on the port: ECONNREFUSED (a peer that is down); ignores `match` */
  | { kind: 'refuse' }
  /** TCP RST as soon as the request arrives */
  | { kind: 'reset' }
  /** forward after `ms` */
  | { kind: 'delay'; ms: number }
  /** accept and read the request, never answer */
  | { kind: 'blackhole' }
  /**
   * forward, then send the peer's status and headers and only `bytes` of its
   * body (default: half) before resetting: the peer did the work, the answer is lost
   */
  | { kind: 'truncate'; bytes?: number }
  /**
   * answer `status` without contacting the peer (a load balancer's or
   * throttler's answer); `body` may be built from the request (AWS echoes
   * the canonical request, signed headers included, in SignatureDoesNotMatch)
   */
  | { kind: 'status'; status: number; body?: BodyOf; headers?: Record<string, string> }
  /**
   * forward, let the peer act, then answer `status` instead of the peer's
   * answer: a 500 for a PUT the store did write (S3 allows exactly that)
   */
  | { kind: 'rewrite'; status: number; body?: BodyOf; headers?: Record<string, string> }
  /** forward, send headers at once, then trickle the body `chunkBytes` every `intervalMs` */
  | { kind: 'slow-body'; chunkBytes?: number; intervalMs?: number }
  /**
   * forward, and answer with the peer's status and body but these response
   * headers replaced (lower-case names): what a real service says where a
   * compatible peer says otherwise, e.g. AWS naming the KMS key ARN an alias
   * resolved to where radosgw echoes the alias
   */
  | { kind: 'set-headers'; headers: Record<string, string> };

export type BodyOf =
  | string
  | ((req: { method: string; url: string; headers: IncomingHttpHeaders }) => string);

/** Which requests a fault applies to; the others pass. Empty = all. */
export interface RequestMatch {
  method?: string;
  /** tested against the request target (path and query) */
  path?: string | RegExp;
}

export interface ProxyEvent {
  method: string;
  url: string;
  /** as the client sent them (e.g. to see which access key signed a request) */
  headers: IncomingHttpHeaders;
  faulted: boolean;
  /** set on 'answered' events: the status the client got (0 when it got none) */
  status?: number;
}

export interface ProxyStats {
  requests: number;
  faulted: number;
  byMethod: Record<string, number>;
  /** client connections open right now: a client leaking sockets shows here */
  openSockets: number;
}

export interface FaultProxy {
  /** http://127.0.0.1:PORT, stable across `refuse` and back */
  url: string;
  port: number;
  target: string;
  set(mode: FaultMode, match?: RequestMatch): Promise<void>;
  mode(): { mode: FaultMode; match: RequestMatch | undefined };
  stats(): ProxyStats;
  resetStats(): void;
  /** resolves on the next request matching `match` (phase 'answered': once the client got its answer) */
  next(
    match?: RequestMatch,
    phase?: 'request' | 'answered',
    timeoutMs?: number,
  ): Promise<ProxyEvent>;
  close(): Promise<void>;
}

export interface FaultProxyOptions {
  /** the real peer, e.g. http://127.0.0.1:7480 */
  target: string;
  host?: string;
  port?: number;
}

/** An S3 error document as AWS writes it. */
export function s3ErrorXml(code: string, message: string): string {
  const id = randomBytes(8).toString('hex').toUpperCase();
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message><RequestId>${id}</RequestId><HostId>fault-proxy</HostId></Error>`;
}

export const S3_SLOW_DOWN: FaultMode = {
  kind: 'status',
  status: 503,
  body: s3ErrorXml('SlowDown', 'Please reduce your request rate.'),
  headers: { 'content-type': 'application/xml' },
};

export const S3_INTERNAL_ERROR: FaultMode = {
  kind: 'status',
  status: 500,
  body: s3ErrorXml('InternalError', 'We encountered an internal error. Please try again.'),
  headers: { 'content-type': 'application/xml' },
};

export function matches(m: RequestMatch | undefined, method: string, url: string): boolean {
  if (m === undefined) return true;
  if (m.method !== undefined && m.method.toUpperCase() !== method.toUpperCase()) return false;
  if (m.path !== undefined) {
    if (typeof m.path === 'string' ? !url.includes(m.path) : !m.path.test(url)) return false;
  }
  return true;
}

interface Waiter {
  match: RequestMatch | undefined;
  phase: 'request' | 'answered';
  resolve: (e: ProxyEvent) => void;
}

function sleep(ms: number, cancels: Set<() => void>): Promise<boolean> {
  return new Promise((resolve) => {
    const cancel = () => {
      clearTimeout(timer);
      cancels.delete(cancel);
      resolve(false);
    };
    const timer = setTimeout(() => {
      cancels.delete(cancel);
      resolve(true);
    }, ms);
    cancels.add(cancel);
  });
}

export async function startFaultProxy(opts: FaultProxyOptions): Promise<FaultProxy> {
  const upstream = new URL(opts.target);
  const host = opts.host ?? '127.0.0.1';
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const sockets = new Set<Socket>();
  const cancels = new Set<() => void>();
  let waiters: Waiter[] = [];
  let mode: FaultMode = { kind: 'pass' };
  let match: RequestMatch | undefined;
  let stats: ProxyStats = { requests: 0, faulted: 0, byMethod: {}, openSockets: 0 };
  let closed = false;

  const emit = (phase: 'request' | 'answered', e: ProxyEvent) => {
    const still: Waiter[] = [];
    for (const w of waiters) {
      if (w.phase === phase && matches(w.match, e.method, e.url)) w.resolve(e);
      else still.push(w);
    }
    waiters = still;
  };

  const answered = (res: ServerResponse, e: ProxyEvent) => {
    res.once('close', () =>
      emit('answered', { ...e, status: res.headersSent ? res.statusCode : 0 }),
    );
  };

  /** Sends the request to the peer; the body is buffered (S3 probe bodies are tiny). */
  const forward = (req: IncomingMessage, body: Buffer): Promise<IncomingMessage> =>
    new Promise((resolve, reject) => {
      const up = request({
        host: upstream.hostname,
        port: upstream.port || 80,
        method: req.method,
        path: req.url,
        headers: req.rawHeaders,
        agent,
      });
      up.on('response', resolve);
      up.on('error', reject);
      up.end(body);
    });

  const readAll = (stream: IncomingMessage): Promise<Buffer> =>
    new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => resolve(Buffer.concat(chunks)));
      stream.on('error', reject);
    });

  const upstreamHeaders = (up: IncomingMessage): string[] => up.rawHeaders;

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const method = req.method ?? 'GET';
    const url = req.url ?? '/';
    const current = mode;
    const faulted = current.kind !== 'pass' && matches(match, method, url);
    stats.requests++;
    stats.byMethod[method] = (stats.byMethod[method] ?? 0) + 1;
    if (faulted) stats.faulted++;
    const event: ProxyEvent = { method, url, headers: req.headers, faulted };
    emit('request', event);
    answered(res, event);
    const fault: FaultMode = faulted ? current : { kind: 'pass' };

    if (fault.kind === 'reset' || fault.kind === 'refuse') {
      req.socket.resetAndDestroy();
      return;
    }
    if (fault.kind === 'blackhole') {
      req.resume();
      return;
    }
    const body = await readAll(req);
    if (fault.kind === 'rewrite') await readAll(await forward(req, body));
    if (fault.kind === 'status' || fault.kind === 'rewrite') {
      const text = typeof fault.body === 'function' ? fault.body(event) : (fault.body ?? '');
      const payload = Buffer.from(text, 'utf8');
      const headers: OutgoingHttpHeaders = {
        'content-type': 'text/plain',
        'x-amz-request-id': randomBytes(8).toString('hex').toUpperCase(),
        date: new Date().toUTCString(),
        ...fault.headers,
        'content-length': String(method === 'HEAD' ? 0 : payload.length),
      };
      res.writeHead(fault.status, headers);
      res.end(method === 'HEAD' ? undefined : payload);
      return;
    }
    if (fault.kind === 'delay' && !(await sleep(fault.ms, cancels))) {
      res.destroy();
      return;
    }
    if (res.destroyed) return;
    const up = await forward(req, body);
    if (fault.kind === 'set-headers') {
      const headers: OutgoingHttpHeaders = {};
      for (let i = 0; i + 1 < up.rawHeaders.length; i += 2) {
        const name = (up.rawHeaders[i] ?? '').toLowerCase();
        if (!(name in fault.headers)) headers[name] = up.rawHeaders[i + 1];
      }
      res.writeHead(up.statusCode ?? 502, up.statusMessage, { ...headers, ...fault.headers });
      up.pipe(res);
      return;
    }
    if (fault.kind === 'pass' || fault.kind === 'delay') {
      res.writeHead(up.statusCode ?? 502, up.statusMessage, upstreamHeaders(up));
      // A client that gives up must not strand the peer's answer on a pooled socket.
      res.once('close', () => {
        if (!up.complete) up.destroy();
      });
      up.pipe(res);
      return;
    }
    const full = await readAll(up);
    if (fault.kind === 'truncate') {
      if (full.length === 0) {
        // Nothing to cut but the answer itself: the peer acted, the client never hears.
        req.socket.resetAndDestroy();
        return;
      }
      const keep = Math.min(full.length - 1, fault.bytes ?? Math.floor(full.length / 2));
      res.writeHead(up.statusCode ?? 502, up.statusMessage, upstreamHeaders(up));
      res.write(full.subarray(0, keep), () => req.socket.resetAndDestroy());
      return;
    }
    // slow-body
    const chunk = Math.max(1, fault.chunkBytes ?? 1);
    const every = fault.intervalMs ?? 200;
    res.writeHead(up.statusCode ?? 502, up.statusMessage, upstreamHeaders(up));
    res.flushHeaders();
    for (let i = 0; i < full.length; i += chunk) {
      if (!(await sleep(every, cancels)) || res.destroyed) return;
      res.write(full.subarray(i, i + chunk));
    }
    res.end();
  };

  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      // The peer itself failed (closed, reset): the client sees a 502, as through a real proxy.
      if (!res.headersSent && !res.destroyed) {
        res.writeHead(502, { 'content-type': 'text/plain', connection: 'close' });
        res.end('fault-proxy: upstream failed\n');
      } else res.destroy();
    });
  });
  server.keepAliveTimeout = 60_000;
  server.headersTimeout = 0;
  server.requestTimeout = 0;
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    stats.openSockets = sockets.size;
    s.on('error', () => {});
    s.once('close', () => {
      sockets.delete(s);
      stats.openSockets = sockets.size;
    });
  });
  server.on('clientError', (_err, socket) => socket.destroy());

  const listen = (port: number) =>
    new Promise<number>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        const addr = server.address();
        if (addr === null || typeof addr === 'string') reject(new Error('fault proxy: no port'));
        else resolve(addr.port);
      });
    });
  const stopListening = () =>
    new Promise<void>((resolve) => {
      if (!server.listening) {
        resolve();
        return;
      }
      server.close(() => resolve());
      for (const s of sockets) s.destroy();
    });

  const port = await listen(opts.port ?? 0);
  const display = host.includes(':') ? `[${host}]` : host;

  return {
    url: `http://${display}:${port}`,
    port,
    target: opts.target,
    async set(next, nextMatch) {
      if (closed) throw new Error('fault proxy is closed');
      const wasRefusing = mode.kind === 'refuse';
      mode = next;
      match = nextMatch;
      if (next.kind === 'refuse' && !wasRefusing) await stopListening();
      if (next.kind !== 'refuse' && wasRefusing) await listen(port);
    },
    mode: () => ({ mode, match }),
    stats: () => ({ ...stats, byMethod: { ...stats.byMethod }, openSockets: sockets.size }),
    resetStats() {
      stats = { requests: 0, faulted: 0, byMethod: {}, openSockets: sockets.size };
    },
    next(m, phase = 'request', timeoutMs = 30_000) {
      return new Promise<ProxyEvent>((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters = waiters.filter((w) => w !== waiter);
          reject(
            new Error(`fault proxy: no ${phase} matching ${JSON.stringify(m)} in ${timeoutMs} ms`),
          );
        }, timeoutMs);
        const waiter: Waiter = {
          match: m,
          phase,
          resolve: (e) => {
            clearTimeout(timer);
            resolve(e);
          },
        };
        waiters.push(waiter);
      });
    },
    async close() {
      if (closed) return;
      closed = true;
      for (const cancel of [...cancels]) cancel();
      await stopListening();
      for (const s of sockets) s.destroy();
      agent.destroy();
    },
  };
}
