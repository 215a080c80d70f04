/**
 * Server-side SigV4 check for the STS endpoint: re-sign the received request
 * with the registered secret using the SDK's own signer and compare.
 *
 * `@smithy/signature-v4` is not in package.json: it is a dependency of
 * @aws-sdk/core (installed with the SDK clients) and hoisted to node_modules.
 */
import { createHash, createHmac, type Hash, type Hmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { SignatureV4 } from '@smithy/signature-v4';
import type { SourceData } from '@smithy/types';

export interface SigV4Authorization {
  accessKeyId: string;
  /** YYYYMMDD from the credential scope */
  scopeDate: string;
  region: string;
  service: string;
  signedHeaders: string[];
  signature: string;
}

const AUTH_RE =
  /^AWS4-HMAC-SHA256\s+Credential=([^/,\s]+)\/(\d{8})\/([^/,\s]+)\/([^/,\s]+)\/aws4_request\s*,\s*SignedHeaders=([a-z0-9;._-]+)\s*,\s*Signature=([0-9a-f]{64})\s*$/;

/** undefined when the header is not a well-formed AWS4-HMAC-SHA256 authorization */
export function parseAuthorization(header: string): SigV4Authorization | undefined {
  const m = AUTH_RE.exec(header.trim());
  if (!m) return undefined;
  const [, accessKeyId, scopeDate, region, service, signed, signature] = m;
  if (!accessKeyId || !scopeDate || !region || !service || !signed || !signature) return undefined;
  return {
    accessKeyId,
    scopeDate,
    region,
    service,
    signedHeaders: signed.split(';'),
    signature,
  };
}

/** `20250102T030405Z` → Date, undefined if malformed */
export function parseAmzDate(value: string | undefined): Date | undefined {
  const m = value ? /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value) : null;
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s] = m.map(Number);
  if (y === undefined || mo === undefined || d === undefined) return undefined;
  const date = new Date(Date.UTC(y, mo - 1, d, h ?? 0, mi ?? 0, s ?? 0));
  return Number.isNaN(date.getTime()) ? undefined : date;
}

function toBuffer(data: SourceData): Buffer {
  if (typeof data === 'string') return Buffer.from(data, 'utf8');
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return Buffer.from(data);
}

/** The Checksum/Hash shape the signer expects, backed by node:crypto. */
export class NodeSha256 {
  private readonly secret: SourceData | undefined;
  private hash: Hash | Hmac;

  constructor(secret?: SourceData) {
    this.secret = secret;
    this.hash = this.fresh();
  }

  private fresh(): Hash | Hmac {
    return this.secret === undefined
      ? createHash('sha256')
      : createHmac('sha256', toBuffer(this.secret));
  }

  update(data: SourceData): void {
    this.hash.update(toBuffer(data));
  }

  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }

  reset(): void {
    this.hash = this.fresh();
  }
}

export interface ReceivedRequest {
  method: string;
  /** decoded path, e.g. `/` */
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  body: string;
}

function queryRecord(params: URLSearchParams): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of params) {
    const prev = out[k];
    out[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
  }
  return out;
}

/** true when `auth.signature` is what `secretAccessKey` produces for this request */
export async function signatureMatches(
  req: ReceivedRequest,
  auth: SigV4Authorization,
  secretAccessKey: string,
): Promise<boolean> {
  const signingDate = parseAmzDate(
    typeof req.headers['x-amz-date'] === 'string' ? req.headers['x-amz-date'] : undefined,
  );
  if (!signingDate) return false;
  const headers: Record<string, string> = {};
  for (const name of auth.signedHeaders) {
    const v = req.headers[name];
    if (v === undefined) return false;
    headers[name] = Array.isArray(v) ? v.join(',') : v;
  }
  const token = req.headers['x-amz-security-token'];
  const signer = new SignatureV4({
    service: auth.service,
    region: auth.region,
    credentials: {
      accessKeyId: auth.accessKeyId,
      secretAccessKey,
      ...(typeof token === 'string' ? { sessionToken: token } : {}),
    },
    sha256: NodeSha256,
    // Only the headers the client signed take part; nothing may be added.
    applyChecksum: false,
  });
  const host = headers.host ?? '';
  const signed = await signer.sign(
    {
      method: req.method,
      protocol: 'http:',
      hostname: host.replace(/:\d+$/, ''),
      path: req.path,
      query: queryRecord(req.query),
      headers,
      body: req.body === '' ? undefined : req.body,
    },
    { signingDate, signableHeaders: new Set(auth.signedHeaders) },
  );
  const produced = /Signature=([0-9a-f]{64})/.exec(String(signed.headers.authorization ?? ''))?.[1];
  if (!produced) return false;
  return timingSafeEqual(Buffer.from(produced), Buffer.from(auth.signature));
}

/** What a signed request's caller was registered with. */
export interface SigV4Caller {
  /** when set, the signature is verified with it */
  secretAccessKey?: string;
  /** temporary credentials: the X-Amz-Security-Token that must accompany the key */
  sessionToken?: string;
  expiration?: Date;
}

/**
 * Why a request was refused, in the order a caller meets the checks; each
 * emulator words these as its own service does.
 */
export type SigV4Refusal =
  | { reason: 'missing' }
  | { reason: 'malformed' }
  | { reason: 'unknown-key' }
  | { reason: 'expired-token' }
  | { reason: 'skewed'; signedAt: Date; now: number }
  | { reason: 'bad-signature' };

/**
 * The checks STS and KMS share: Authorization header present and well-formed
 * (for `service` when given), access key known, session token matching (a
 * long-term key must come without one), token not expired, request time
 * within `maxSkewMs`, then the signature when the caller has a secret.
 */
export async function checkSigV4<C extends SigV4Caller>(
  req: ReceivedRequest,
  callerOf: (accessKeyId: string) => C | undefined,
  opts: { maxSkewMs: number; service?: string },
): Promise<{ ok: true; caller: C } | ({ ok: false } & SigV4Refusal)> {
  const header = req.headers.authorization;
  if (header === undefined) return { ok: false, reason: 'missing' };
  const auth = parseAuthorization(header);
  const amzDate = req.headers['x-amz-date'];
  const signedAt = parseAmzDate(typeof amzDate === 'string' ? amzDate : undefined);
  if (!auth || !signedAt || (opts.service !== undefined && auth.service !== opts.service)) {
    return { ok: false, reason: 'malformed' };
  }
  const caller = callerOf(auth.accessKeyId);
  const token = req.headers['x-amz-security-token'];
  if (
    !caller ||
    (caller.sessionToken ?? undefined) !== (typeof token === 'string' ? token : undefined)
  ) {
    return { ok: false, reason: 'unknown-key' };
  }
  const now = Date.now();
  if (caller.expiration && caller.expiration.getTime() <= now) {
    return { ok: false, reason: 'expired-token' };
  }
  if (Math.abs(now - signedAt.getTime()) > opts.maxSkewMs) {
    return { ok: false, reason: 'skewed', signedAt, now };
  }
  if (
    caller.secretAccessKey !== undefined &&
    !(await signatureMatches(req, auth, caller.secretAccessKey))
  ) {
    return { ok: false, reason: 'bad-signature' };
  }
  return { ok: true, caller };
}
