/**
 * A KMS endpoint answering DescribeKey only, in the documented AWS JSON 1.1
 * shape (POST /, `X-Amz-Target: TrentService.DescribeKey`, SigV4 for
 * service `kms`): radosgw has no KMS API, so the sidecar's alias check
 * (kms:DescribeKey) is pointed here through AWS_ENDPOINT_URL_KMS.
 *
 * Resolves a key id, key ARN, alias name (`alias/x`) or alias ARN; unknown
 * ones get 400 NotFoundException with AWS's wording; `setDenied` answers
 * AccessDeniedException (400) as an IAM policy without kms:DescribeKey does.
 * The signature is checked with the registered secret by checkSigV4, as in sts/endpoint.ts.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { ImdsEmulator } from '../imds/emulator.ts';
import { instanceRoleIdentity } from '../imds/sts-link.ts';
import { httpUrl, listen, trackServer } from '../shared/http-sockets.ts';
import { readBody } from '../shared/request-body.ts';
import { checkSigV4 } from '../sts/sigv4.ts';

export interface KmsKey {
  keyId: string;
  /** e.g. ['alias/app-data'] */
  aliases: string[];
}

export interface KmsCaller {
  arn: string;
  secretAccessKey: string;
  sessionToken?: string;
  expiration?: Date;
}

export interface KmsEndpoint {
  url: string;
  region: string;
  account: string;
  arnOf(keyId: string): string;
  register(accessKeyId: string, caller: KmsCaller): void;
  /** Points an alias at another key (UpdateAlias). */
  setAlias(alias: string, keyId: string): void;
  setDenied(on: boolean): void;
  calls(): number;
  close(): Promise<void>;
}

const MAX_BODY = 64 * 1024;
const MAX_SKEW_MS = 5 * 60 * 1000;

interface KmsError {
  status: number;
  type: string;
  message: string;
}

function send(res: ServerResponse, status: number, requestId: string, doc: object): void {
  const body = Buffer.from(JSON.stringify(doc), 'utf8');
  res.writeHead(status, {
    'Content-Type': 'application/x-amz-json-1.1',
    'Content-Length': String(body.length),
    'x-amzn-RequestId': requestId,
  });
  res.end(body);
}

export async function startKmsEndpoint(opts: {
  keys: KmsKey[];
  region?: string;
  account?: string;
  host?: string;
  port?: number;
}): Promise<KmsEndpoint> {
  const region = opts.region ?? 'us-east-1';
  const account = opts.account ?? '123456789012';
  const arnOf = (keyId: string) => `arn:aws:kms:${region}:${account}:key/${keyId}`;
  const keys = new Set(opts.keys.map((k) => k.keyId));
  const aliases = new Map<string, string>();
  for (const k of opts.keys) for (const a of k.aliases) aliases.set(a, k.keyId);
  const callers = new Map<string, KmsCaller>();
  let denied = false;
  let calls = 0;

  const resolve = (id: string): string | KmsError => {
    const aliasArn = new RegExp(`^arn:aws:kms:${region}:${account}:(alias/.+)$`).exec(id)?.[1];
    const alias = aliasArn ?? (id.startsWith('alias/') ? id : undefined);
    if (alias !== undefined) {
      const target = aliases.get(alias);
      if (target !== undefined) return target;
      return {
        status: 400,
        type: 'NotFoundException',
        message: `Alias arn:aws:kms:${region}:${account}:${alias} is not found.`,
      };
    }
    const keyId = new RegExp(`^arn:aws:kms:${region}:${account}:key/(.+)$`).exec(id)?.[1] ?? id;
    if (keys.has(keyId)) return keyId;
    return {
      status: 400,
      type: 'NotFoundException',
      message: `Key '${arnOf(keyId)}' does not exist`,
    };
  };

  const authenticate = async (
    req: IncomingMessage,
    body: string,
  ): Promise<KmsCaller | KmsError> => {
    const url = new URL(req.url ?? '/', 'http://kms');
    const checked = await checkSigV4(
      {
        method: req.method ?? 'POST',
        path: url.pathname,
        query: url.searchParams,
        headers: req.headers,
        body,
      },
      (accessKeyId) => callers.get(accessKeyId),
      { maxSkewMs: MAX_SKEW_MS, service: 'kms' },
    );
    if (checked.ok) return checked.caller;
    switch (checked.reason) {
      case 'missing':
      case 'malformed':
        return {
          status: 400,
          type: 'MissingAuthenticationTokenException',
          message: 'Missing Authentication Token',
        };
      case 'unknown-key':
        return {
          status: 400,
          type: 'UnrecognizedClientException',
          message: 'The security token included in the request is invalid.',
        };
      case 'expired-token':
        return {
          status: 400,
          type: 'ExpiredTokenException',
          message: 'The security token included in the request is expired',
        };
      case 'skewed':
        return { status: 400, type: 'InvalidSignatureException', message: 'Signature expired' };
      case 'bad-signature':
        return {
          status: 400,
          type: 'InvalidSignatureException',
          message:
            'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.',
        };
    }
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    calls++;
    const requestId = randomUUID();
    const body = await readBody(req, MAX_BODY);
    const fail = (e: KmsError) =>
      send(res, e.status, requestId, { __type: e.type, message: e.message });
    if (body === undefined)
      return fail({
        status: 413,
        type: 'RequestEntityTooLarge',
        message: 'Request body too large',
      });
    const who = await authenticate(req, body);
    if ('type' in who) return fail(who);
    const target = String(req.headers['x-amz-target'] ?? '');
    if (req.method !== 'POST' || target !== 'TrentService.DescribeKey') {
      return fail({ status: 400, type: 'UnknownOperationException', message: '' });
    }
    let keyIdIn: unknown;
    try {
      keyIdIn = (JSON.parse(body) as { KeyId?: unknown }).KeyId;
    } catch {
      return fail({ status: 400, type: 'SerializationException', message: '' });
    }
    if (typeof keyIdIn !== 'string' || keyIdIn === '') {
      return fail({
        status: 400,
        type: 'ValidationException',
        message:
          "1 validation error detected: Value null at 'keyId' failed to satisfy constraint: Member must not be null",
      });
    }
    const keyId = resolve(keyIdIn);
    if (typeof keyId !== 'string') return fail(keyId);
    if (denied) {
      return fail({
        status: 400,
        type: 'AccessDeniedException',
        message: `User: ${who.arn} is not authorized to perform: kms:DescribeKey on resource: ${arnOf(keyId)} because no identity-based policy allows the kms:DescribeKey action`,
      });
    }
    send(res, 200, requestId, {
      KeyMetadata: {
        AWSAccountId: account,
        KeyId: keyId,
        Arn: arnOf(keyId),
        CreationDate: 1_764_000_000,
        Enabled: true,
        Description: '',
        KeyUsage: 'ENCRYPT_DECRYPT',
        KeyState: 'Enabled',
        Origin: 'AWS_KMS',
        KeyManager: 'CUSTOMER',
        CustomerMasterKeySpec: 'SYMMETRIC_DEFAULT',
        KeySpec: 'SYMMETRIC_DEFAULT',
        EncryptionAlgorithms: ['SYMMETRIC_DEFAULT'],
        MultiRegion: false,
      },
    });
  };

  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500).end();
    });
  });
  const sockets = trackServer(server);
  const port = await listen(server, opts.port ?? 0, opts.host ?? '127.0.0.1');
  return {
    url: httpUrl(opts.host ?? '127.0.0.1', port),
    region,
    account,
    arnOf,
    register(accessKeyId, caller) {
      callers.set(accessKeyId, caller);
    },
    setAlias(alias, keyId) {
      aliases.set(alias, keyId);
    },
    setDenied(on) {
      denied = on;
    },
    calls: () => calls,
    close: () => sockets.close(),
  };
}

/** Makes the KMS endpoint accept every credential the IMDS emulator hands out, as the instance role. */
export function linkImdsToKms(imds: ImdsEmulator, kms: KmsEndpoint): void {
  const { arn } = instanceRoleIdentity(imds.identity);
  imds.onCredentials((c) =>
    kms.register(c.accessKeyId, {
      arn,
      secretAccessKey: c.secretAccessKey,
      sessionToken: c.sessionToken,
      expiration: c.expiration,
    }),
  );
}
