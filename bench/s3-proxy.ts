// A counting, switchable HTTP proxy in front of radosgw: every S3 request a
// sidecar makes is counted by operation (the cost figures), and in
// `blackhole` mode requests are accepted and never answered (a hung S3) on
// new and kept-alive sockets alike, without restarting the sidecar.
import { Agent, createServer, type IncomingMessage, request, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

export type ProxyMode = 'pass' | 'blackhole';

export interface ProxyCounts {
  /** by S3 operation: PutObject, GetObject, HeadObject, DeleteObject, ListObjectsV2, other */
  byOp: Record<string, number>;
  total: number;
  /** request bodies sent to S3 (the probe objects' payload) */
  bodyBytes: number;
  /** request line + headers + body, as forwarded */
  requestBytes: number;
}

export interface S3Proxy {
  url: string;
  setMode(mode: ProxyMode): void;
  counts(): ProxyCounts;
  reset(): void;
  close(): Promise<void>;
}

function opOf(method: string, url: string): string {
  const q = url.includes('?') ? url.slice(url.indexOf('?')) : '';
  if (method === 'GET' && q.includes('list-type=2')) return 'ListObjectsV2';
  if (method === 'PUT') return 'PutObject';
  if (method === 'GET') return 'GetObject';
  if (method === 'HEAD') return 'HeadObject';
  if (method === 'DELETE') return 'DeleteObject';
  return 'other';
}

function headerBytes(req: IncomingMessage): number {
  let n = `${req.method} ${req.url} HTTP/1.1\r\n`.length + 2;
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    n += (req.rawHeaders[i]?.length ?? 0) + (req.rawHeaders[i + 1]?.length ?? 0) + 4;
  }
  return n;
}

export async function startS3Proxy(target: string): Promise<S3Proxy> {
  const upstream = new URL(target);
  const agent = new Agent({ keepAlive: true, maxSockets: 16 });
  let mode: ProxyMode = 'pass';
  let counts: ProxyCounts = { byOp: {}, total: 0, bodyBytes: 0, requestBytes: 0 };
  const held = new Set<ServerResponse>();
  const sockets = new Set<Socket>();

  const forward = (req: IncomingMessage, res: ServerResponse) => {
    const up = request(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        // The Host header is forwarded as signed: SigV4 covers it.
        headers: req.headers,
        agent,
      },
      (ures) => {
        res.writeHead(ures.statusCode ?? 502, ures.headers);
        ures.pipe(res);
      },
    );
    up.on('error', () => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
    req.on('data', (c: Buffer) => {
      counts.bodyBytes += c.length;
      counts.requestBytes += c.length;
    });
    req.pipe(up);
  };

  const server = createServer((req, res) => {
    const method = req.method ?? 'GET';
    const op = opOf(method, req.url ?? '/');
    counts.byOp[op] = (counts.byOp[op] ?? 0) + 1;
    counts.total++;
    counts.requestBytes += headerBytes(req);
    if (mode === 'blackhole') {
      req.resume();
      held.add(res);
      res.on('close', () => held.delete(res));
      return;
    }
    forward(req, res);
  });
  server.keepAliveTimeout = 60_000;
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address();
  if (addr === null || typeof addr === 'string') throw new Error('proxy has no port');

  return {
    url: `http://127.0.0.1:${addr.port}`,
    setMode: (m) => {
      mode = m;
      // Requests held while black-holed stay unanswered: the client's own timeout ends them.
    },
    counts: () => ({ ...counts, byOp: { ...counts.byOp } }),
    reset: () => {
      counts = { byOp: {}, total: 0, bodyBytes: 0, requestBytes: 0 };
    },
    close: async () => {
      for (const res of held) res.destroy();
      for (const s of sockets) s.destroy();
      agent.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
