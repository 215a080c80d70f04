import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { httpUrl, listen, trackServer } from '../shared/http-sockets.ts';

/**
 * The control plane of the IMDS emulator, on its own port so nothing that
 * probes the metadata address can flip faults by accident, and so a parent
 * process can steer an emulator running in another network namespace.
 */
export interface ImdsControlTarget {
  /** throws on an unknown fault name */
  setFault(fault: string, opts?: { delayMs?: number; expiresInSeconds?: number }): void;
  setTokensRequired(required: boolean): void;
  counters(): unknown;
  resetCounters(): void;
  state(): unknown;
}

export interface ImdsControl {
  url: string;
  close(): Promise<void>;
}

function numberParam(params: URLSearchParams, name: string): number | undefined {
  const raw = params.get(name);
  if (raw === null || raw === '') return undefined;
  const n = Number(raw);
  if (!Number.isFinite(n)) throw new Error(`${name} must be a number, got ${raw}`);
  return n;
}

function reply(res: ServerResponse, status: number, doc: unknown): void {
  const body = `${JSON.stringify(doc)}\n`;
  res.writeHead(status, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(body),
  });
  res.end(body);
}

function route(target: ImdsControlTarget, req: IncomingMessage, res: ServerResponse): void {
  const url = new URL(req.url ?? '/', 'http://control');
  const parts = url.pathname.split('/').filter(Boolean);
  const method = req.method ?? 'GET';
  const [head, arg] = parts;
  if (method === 'GET' && parts.length === 1 && head === 'counters') {
    reply(res, 200, target.counters());
    return;
  }
  if (method === 'GET' && parts.length === 1 && head === 'state') {
    reply(res, 200, target.state());
    return;
  }
  if (method === 'PUT' && parts.length === 2 && head === 'counters' && arg === 'reset') {
    target.resetCounters();
    reply(res, 200, target.counters());
    return;
  }
  if (method === 'PUT' && parts.length === 2 && head === 'fault' && arg !== undefined) {
    try {
      const delayMs = numberParam(url.searchParams, 'delayMs');
      const expiresInSeconds = numberParam(url.searchParams, 'expiresInSeconds');
      target.setFault(arg, { delayMs, expiresInSeconds });
    } catch (err) {
      reply(res, 400, { error: err instanceof Error ? err.message : String(err) });
      return;
    }
    reply(res, 200, target.state());
    return;
  }
  if (method === 'PUT' && parts.length === 2 && head === 'tokens-required') {
    if (arg !== 'true' && arg !== 'false') {
      reply(res, 400, { error: 'tokens-required takes true or false' });
      return;
    }
    target.setTokensRequired(arg === 'true');
    reply(res, 200, target.state());
    return;
  }
  reply(res, 404, {
    error: `no route ${method} ${url.pathname}`,
    routes: [
      'PUT /fault/<mode>?delayMs=&expiresInSeconds=',
      'PUT /tokens-required/<true|false>',
      'GET /counters',
      'PUT /counters/reset',
      'GET /state',
    ],
  });
}

export async function startImdsControl(
  target: ImdsControlTarget,
  host: string,
  port: number,
): Promise<ImdsControl> {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => route(target, req, res));
  });
  const tracked = trackServer(server);
  const actual = await listen(server, port, host);
  return { url: httpUrl(host, actual), close: () => tracked.close() };
}
