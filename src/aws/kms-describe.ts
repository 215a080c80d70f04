import type { RequestSigner } from '@aws-sdk/types';
import type { NodeHttpHandler } from '@smithy/node-http-handler';

// KMS DescribeKey over the AWS JSON 1.1 protocol, signed by the STS client's
// own SigV4 signer (service name overridden): one read-only call, so the
// sidecar needs no KMS SDK package. With @aws-sdk/client-kms installed this
// file becomes `new KMSClient(...).send(new DescribeKeyCommand(...))`.

export interface KeyMetadata {
  keyId: string;
  arn: string;
  keyState?: string;
}

/** A KMS error answer, shaped like the SDK's: `name` is the `__type`, status in `$metadata`. */
class KmsError extends Error {
  readonly $metadata: { httpStatusCode?: number; requestId?: string };
  constructor(name: string, message: string, status?: number, requestId?: string) {
    super(message);
    this.name = name;
    this.$metadata = { httpStatusCode: status, requestId };
  }
}

const MAX_BODY = 64 * 1024;

/** The public endpoint KMS has in every commercial, China and GovCloud region. */
export function kmsEndpoint(region: string, override?: string): string {
  if (override !== undefined) return override;
  return `https://kms.${region}.amazonaws.com${region.startsWith('cn-') ? '.cn' : ''}`;
}

/** The region an alias or key ARN names (`arn:aws:kms:eu-west-1:…`), if any. */
export function kmsArnRegion(id: string): string | undefined {
  return /^arn:aws[a-z-]*:kms:([a-z0-9-]+):/.exec(id)?.[1];
}

export function isAlias(id: string): boolean {
  return id.startsWith('alias/') || /^arn:aws[a-z-]*:kms:[^:]*:\d*:alias\//.test(id);
}

async function readBody(body: unknown): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of body as AsyncIterable<Buffer | string>) {
    const b = typeof c === 'string' ? Buffer.from(c) : c;
    size += b.length;
    if (size > MAX_BODY) throw new KmsError('ResponseTooLarge', 'KMS answer over 64 KiB');
    chunks.push(b);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function parse(text: string): Record<string, unknown> {
  try {
    const v: unknown = JSON.parse(text);
    return typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

export interface DescribeKeyCall {
  signer: RequestSigner;
  handler: NodeHttpHandler;
  endpoint: string;
  region: string;
  keyId: string;
  signal: AbortSignal;
}

/** kms:DescribeKey: what key an id, ARN or alias names. Throws KmsError on an error answer. */
export async function describeKey(c: DescribeKeyCall): Promise<KeyMetadata> {
  const url = new URL(c.endpoint);
  const body = JSON.stringify({ KeyId: c.keyId });
  const request = {
    method: 'POST',
    protocol: url.protocol,
    hostname: url.hostname,
    ...(url.port ? { port: Number(url.port) } : {}),
    path: url.pathname === '' ? '/' : url.pathname,
    query: {},
    headers: {
      host: url.host,
      'content-type': 'application/x-amz-json-1.1',
      'x-amz-target': 'TrentService.DescribeKey',
      'content-length': String(Buffer.byteLength(body)),
    },
    body,
  };
  const signed = await c.signer.sign(request, {
    signingService: 'kms',
    signingRegion: c.region,
  });
  const { response } = await c.handler.handle(signed as Parameters<NodeHttpHandler['handle']>[0], {
    abortSignal: c.signal,
  });
  const text = await readBody(response.body);
  const doc = parse(text);
  const requestId = str(response.headers['x-amzn-requestid']);
  if (response.statusCode >= 300) {
    const type = str(doc.__type)?.split('#').pop() ?? `HTTP${response.statusCode}`;
    const message = str(doc.message) ?? str(doc.Message) ?? '';
    throw new KmsError(type, message, response.statusCode, requestId);
  }
  const meta = doc.KeyMetadata as Record<string, unknown> | undefined;
  const keyId = str(meta?.KeyId);
  const arn = str(meta?.Arn);
  if (keyId === undefined || arn === undefined) {
    throw new KmsError('MalformedResponse', 'DescribeKey answer has no KeyMetadata.KeyId/Arn');
  }
  return { keyId, arn, ...(str(meta?.KeyState) ? { keyState: str(meta?.KeyState) } : {}) };
}
