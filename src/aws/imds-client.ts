import http from 'node:http';

export type ImdsErrorKind = 'timeout' | 'connect' | 'reset' | 'http' | 'too-large' | 'aborted';

/** Typed failure of one IMDS call; `status` only for `http`. */
export class ImdsError extends Error {
  readonly kind: ImdsErrorKind;
  readonly status: number | undefined;
  readonly code: string | undefined;
  constructor(kind: ImdsErrorKind, message: string, opts: { status?: number; code?: string } = {}) {
    super(message);
    this.name = 'ImdsError';
    this.kind = kind;
    this.status = opts.status;
    this.code = opts.code;
  }
}

export interface ImdsClientOptions {
  /** Base URL; resolved from the AWS_EC2_METADATA_SERVICE_ENDPOINT(_MODE) rules by `imdsEndpoint`. */
  endpoint: string;
  /** Per-call deadline; 1 s as the SDK, so fallback penalties equal what the app pays. */
  callTimeoutMs?: number;
  tokenTtlSeconds?: number;
  /** Metadata answers are tiny; anything bigger is a broken or hostile endpoint. */
  maxBodyBytes?: number;
}

export interface ImdsAnswer {
  status: number;
  body: string;
  durationMs: number;
}

const TOKEN_PATH = '/latest/api/token';

/** The SDK's resolution order: explicit endpoint, else the mode's default address. */
export function imdsEndpoint(env: { imdsEndpoint?: string; imdsEndpointMode?: 'IPv4' | 'IPv6' }) {
  if (env.imdsEndpoint) return env.imdsEndpoint.replace(/\/+$/, '');
  return env.imdsEndpointMode === 'IPv6' ? 'http://[fd00:ec2::254]' : 'http://169.254.169.254';
}

/**
 * A small IMDSv2 client written here rather than `@aws-sdk/ec2-metadata-service`:
 * that client has no timeout by default, fetches a token for every call and
 * hides the distinctions (PUT timeout vs 401 vs 403) the checks classify on.
 */
export class ImdsClient {
  private readonly url: URL;
  private readonly callTimeoutMs: number;
  private readonly tokenTtlSeconds: number;
  private readonly maxBodyBytes: number;
  private cached: { token: string; expiresAt: number } | undefined;

  constructor(opts: ImdsClientOptions) {
    this.url = new URL(opts.endpoint);
    this.callTimeoutMs = opts.callTimeoutMs ?? 1000;
    this.tokenTtlSeconds = opts.tokenTtlSeconds ?? 21600;
    this.maxBodyBytes = opts.maxBodyBytes ?? 64 * 1024;
  }

  get endpoint(): string {
    return this.url.origin;
  }

  /** A cached token while it has more than a minute left, else a new one. */
  async token(signal: AbortSignal): Promise<{ token: string; fresh: boolean; durationMs: number }> {
    const now = Date.now();
    if (this.cached && this.cached.expiresAt - 60_000 > now) {
      return { token: this.cached.token, fresh: false, durationMs: 0 };
    }
    const answer = await this.request('PUT', TOKEN_PATH, signal, {
      'x-aws-ec2-metadata-token-ttl-seconds': String(this.tokenTtlSeconds),
    });
    if (answer.status !== 200) {
      throw new ImdsError('http', `token PUT answered ${answer.status}`, { status: answer.status });
    }
    const token = answer.body.trim();
    if (token === '' || token.length > 1024 || /\s/.test(token)) {
      throw new ImdsError('http', 'token PUT answered 200 without a usable token', { status: 200 });
    }
    this.cached = { token, expiresAt: now + this.tokenTtlSeconds * 1000 };
    return { token, fresh: true, durationMs: answer.durationMs };
  }

  /** Drops the cached token (after a 401) so the next call fetches a new one. */
  forgetToken(): void {
    this.cached = undefined;
  }

  /** GET a metadata path; `token: null` sends an IMDSv1 (tokenless) request. */
  async get(path: string, token: string | null, signal: AbortSignal): Promise<ImdsAnswer> {
    const headers: Record<string, string> = {};
    if (token !== null) headers['x-aws-ec2-metadata-token'] = token;
    return this.request('GET', path, signal, headers);
  }

  private request(
    method: 'GET' | 'PUT',
    path: string,
    signal: AbortSignal,
    headers: Record<string, string>,
  ): Promise<ImdsAnswer> {
    const started = performance.now();
    return new Promise<ImdsAnswer>((resolve, reject) => {
      if (signal.aborted) {
        reject(new ImdsError('aborted', `${method} ${path} aborted before it started`));
        return;
      }
      let settled = false;
      const finish = (err: ImdsError | undefined, answer?: ImdsAnswer) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        if (err) {
          req.destroy();
          reject(err);
        } else if (answer) resolve(answer);
      };
      const req = http.request({
        // Node wants IPv6 literals without brackets (the SDK strips them too).
        hostname: this.url.hostname.replace(/^\[(.+)\]$/, '$1'),
        port: this.url.port || 80,
        path,
        method,
        headers,
        agent: false,
      });
      const timer = setTimeout(
        () =>
          finish(
            new ImdsError(
              'timeout',
              `${method} ${path}: no answer within ${this.callTimeoutMs} ms`,
            ),
          ),
        this.callTimeoutMs,
      );
      const onAbort = () =>
        finish(new ImdsError('aborted', `${method} ${path}: check deadline reached`));
      signal.addEventListener('abort', onAbort, { once: true });
      req.on('error', (e: NodeJS.ErrnoException) => {
        const code = e.code;
        const kind: ImdsErrorKind = code === 'ECONNRESET' || code === 'EPIPE' ? 'reset' : 'connect';
        finish(new ImdsError(kind, `${method} ${path}: ${code ?? e.message}`, { code }));
      });
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > this.maxBodyBytes) {
            finish(
              new ImdsError('too-large', `${method} ${path}: body over ${this.maxBodyBytes} bytes`),
            );
            return;
          }
          chunks.push(c);
        });
        res.on('error', (e: NodeJS.ErrnoException) =>
          finish(new ImdsError('reset', `${method} ${path}: ${e.code ?? e.message}`)),
        );
        res.on('end', () =>
          finish(undefined, {
            status: res.statusCode ?? 0,
            body: Buffer.concat(chunks).toString('utf8'),
            durationMs: performance.now() - started,
          }),
        );
      });
      req.end();
    });
  }
}
