import http from 'node:http';

export type ImdsErrorKind =
  | 'timeout'
  | 'connect'
  | 'reset'
  | 'http'
  | 'too-large'
  | 'malformed'
  | 'aborted';

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
  /** A token lives one cycle; a short TTL keeps a leaked one short-lived. */
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
 * Here one token serves every GET of a check's pass.
 */
export class ImdsClient {
  private readonly url: URL;
  private readonly callTimeoutMs: number;
  private readonly tokenTtlSeconds: number;
  private readonly maxBodyBytes: number;

  constructor(opts: ImdsClientOptions) {
    this.url = new URL(opts.endpoint);
    this.callTimeoutMs = opts.callTimeoutMs ?? 1000;
    this.tokenTtlSeconds = opts.tokenTtlSeconds ?? 300;
    this.maxBodyBytes = opts.maxBodyBytes ?? 64 * 1024;
  }

  get endpoint(): string {
    return this.url.origin;
  }

  /**
   * A new token from a PUT. Callers keep it for one pass only: a token cached
   * across cycles would hide a hop limit lowered on a running instance, the
   * very failure this exists to see (one PUT per cycle is 120 an hour).
   */
  async token(signal: AbortSignal): Promise<{ token: string; durationMs: number }> {
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
    return { token, durationMs: answer.durationMs };
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
      let req: http.ClientRequest;
      try {
        req = http.request({
          // Node wants IPv6 literals without brackets (the SDK strips them too).
          hostname: this.url.hostname.replace(/^\[(.+)\]$/, '$1'),
          port: this.url.port || 80,
          path,
          method,
          headers,
          agent: false,
        });
      } catch (e) {
        reject(
          new ImdsError(
            'malformed',
            `${method} ${path}: ${e instanceof Error ? e.message : String(e)}`,
          ),
        );
        return;
      }
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
        const kind: ImdsErrorKind =
          code === 'ECONNRESET' || code === 'EPIPE'
            ? 'reset'
            : code?.startsWith('HPE_')
              ? 'malformed'
              : 'connect';
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
