import { type IncomingHttpHeaders, request } from 'node:http';

/** Raw HTTP for emulator tests: no pooling, explicit timeouts, bounded bodies. */
export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  bytes: number;
  /** the body was cut at maxBytes */
  truncated: boolean;
}

export interface RawOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  /** reject with Error('timeout') when no complete answer within this many ms */
  timeoutMs?: number;
  /** stop reading (and drop the connection) after this many body bytes */
  maxBytes?: number;
}

export function raw(url: string, opts: RawOptions = {}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: opts.method ?? 'GET', headers: opts.headers, agent: false });
    const timer =
      opts.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            req.destroy();
            reject(new Error('timeout'));
          }, opts.timeoutMs);
    req.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      let bytes = 0;
      res.on('data', (c: Buffer) => {
        bytes += c.length;
        if (chunks.length < 64) chunks.push(c);
        if (opts.maxBytes !== undefined && bytes >= opts.maxBytes) {
          clearTimeout(timer);
          req.destroy();
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString(),
            bytes,
            truncated: true,
          });
        }
      });
      res.on('end', () => {
        clearTimeout(timer);
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks).toString(),
          bytes,
          truncated: false,
        });
      });
      res.on('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
    req.end(opts.body);
  });
}

const ENV_KEYS = [
  'AWS_EC2_METADATA_SERVICE_ENDPOINT',
  'AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE',
  'AWS_EC2_METADATA_DISABLED',
  'AWS_EC2_METADATA_V1_DISABLED',
  'AWS_CONFIG_FILE',
  'AWS_SHARED_CREDENTIALS_FILE',
  'AWS_PROFILE',
] as const;

/**
 * Runs fn with the SDK pointed at `imdsUrl` and away from any shared config,
 * then restores the environment. Never leaves the SDK free to reach
 * 169.254.169.254.
 */
export async function withImdsEnv<T>(imdsUrl: string, fn: () => Promise<T>): Promise<T> {
  const saved = new Map(ENV_KEYS.map((k) => [k, process.env[k]]));
  for (const k of ENV_KEYS) delete process.env[k];
  process.env.AWS_EC2_METADATA_SERVICE_ENDPOINT = imdsUrl;
  process.env.AWS_CONFIG_FILE = '/nonexistent/s3-health-test-config';
  process.env.AWS_SHARED_CREDENTIALS_FILE = '/nonexistent/s3-health-test-credentials';
  try {
    return await fn();
  } finally {
    for (const [k, v] of saved) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}
