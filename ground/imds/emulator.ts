/**
 * An EC2 Instance Metadata Service (IMDSv1/v2) emulator for tests and the demo.
 *
 * Follows the documented behaviour (docs/aws-behaviour §A, §E) where AEMM does
 * not: token TTL bounds, per-request token expiry, 401 for bad tokens even when
 * tokens are optional, 405 for non-PUT on the token path, 403 for versioned
 * token paths, text/plain everywhere, credentials that expire and rotate.
 *
 * Our choice, not documented by AWS: a token PUT carrying X-Forwarded-For gets
 * 403 (AWS only says such PUTs are rejected).
 */
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { parseArgs } from 'node:util';
import { Delays, httpUrl, listen, trackServer } from '../shared/http-sockets.ts';
import { type ImdsControl, startImdsControl } from './control.ts';
import {
  type CachedCreds,
  CredentialCache,
  type CredentialSource,
  credentialsFromFile,
  type EmulatorCreds,
  fakeCredentialSource,
} from './credentials.ts';
import { errorPage, imdsJson, imdsTime } from './format.ts';

export type { EmulatorCreds } from './credentials.ts';

export type ImdsFault =
  | 'none'
  | 'token-blackhole'
  | 'token-reset'
  | 'disabled'
  | 'no-role'
  | 'role-error'
  | 'slow'
  | 'throttled'
  | 'hang'
  | 'malformed'
  | 'huge-body'
  | 'credentials-expiring'
  | 'credentials-expired';

export const IMDS_FAULTS: readonly ImdsFault[] = [
  'none',
  'token-blackhole',
  'token-reset',
  'disabled',
  'no-role',
  'role-error',
  'slow',
  'throttled',
  'hang',
  'malformed',
  'huge-body',
  'credentials-expiring',
  'credentials-expired',
];

export function isImdsFault(s: string): s is ImdsFault {
  return (IMDS_FAULTS as readonly string[]).includes(s);
}

export interface ImdsIdentity {
  instanceId: string;
  region: string;
  availabilityZone: string;
  accountId: string;
  roleName: string;
}

export interface ImdsCounters {
  tokenPuts: number;
  gets: number;
  tokenlessGets: number;
  byPath: Record<string, number>;
}

export interface ImdsState {
  fault: ImdsFault;
  tokensRequired: boolean;
  delayMs: number;
  /** the Expiration served while a credentials-expiring/-expired fault is on */
  frozenExpiration: string | null;
}

export interface ImdsFaultOptions {
  /** `slow`: added latency per request (default 2000) */
  delayMs?: number;
  /**
   * `credentials-expiring`: Expiration = now + N s (default 120).
   * `credentials-expired`: Expiration = now - |N| s (default 600).
   * Fixed when the fault is set, so expiring credentials do expire later.
   */
  expiresInSeconds?: number;
}

export interface ImdsEmulator {
  /** http://HOST:PORT */
  url: string;
  /** set when `controlPort` was given */
  controlUrl?: string;
  identity: ImdsIdentity;
  setFault(fault: ImdsFault, opts?: ImdsFaultOptions): void;
  setTokensRequired(required: boolean): void;
  state(): ImdsState;
  counters(): ImdsCounters;
  resetCounters(): void;
  /** every credential handed out so far, then each new one (so an STS endpoint can answer for them) */
  onCredentials(listener: (c: EmulatorCreds) => void): void;
  /** closes all sockets, including black-holed ones */
  close(): Promise<void>;
}

export interface ImdsEmulatorOptions {
  host?: string;
  port?: number;
  identity?: Partial<ImdsIdentity>;
  tokensRequired?: boolean;
  credentials?: CredentialSource;
  /** fetch new credentials when fewer than this many seconds remain (default 300, as EC2) */
  refreshBeforeSeconds?: number;
  /** start the control server on this port (0 = any); never the IMDS port */
  controlPort?: number;
  /** defaults to `host` */
  controlHost?: string;
  /** where to report credential-source failures (default: silent) */
  log?: (message: string) => void;
}

const TOKEN_PATH = '/latest/api/token';
const TTL_HEADER = 'x-aws-ec2-metadata-token-ttl-seconds';
const TOKEN_HEADER = 'x-aws-ec2-metadata-token';
const MAX_TTL_SECONDS = 21600;
const HUGE_CHUNK = Buffer.alloc(64 * 1024, 'A');
const API_VERSIONS = [
  '1.0',
  '2007-01-19',
  '2007-03-01',
  '2008-02-01',
  '2009-04-04',
  '2011-01-01',
  '2012-01-12',
  '2014-02-25',
  '2016-09-02',
  '2018-09-24',
  '2019-10-01',
  '2020-10-27',
  '2021-03-23',
  '2021-07-15',
  '2022-09-24',
  'latest',
];

const ID_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

const DEFAULT_IDENTITY: ImdsIdentity = {
  instanceId: 'i-0123456789abcdef0',
  region: 'us-east-1',
  availabilityZone: 'us-east-1a',
  accountId: '123456789012',
  roleName: 's3-health-role',
};

function resolveIdentity(partial: Partial<ImdsIdentity> = {}): ImdsIdentity {
  const region = partial.region ?? DEFAULT_IDENTITY.region;
  return {
    instanceId: partial.instanceId ?? DEFAULT_IDENTITY.instanceId,
    region,
    // An AZ always belongs to the region; derive it unless given.
    availabilityZone:
      partial.availabilityZone ??
      (partial.region ? `${region}a` : DEFAULT_IDENTITY.availabilityZone),
    accountId: partial.accountId ?? DEFAULT_IDENTITY.accountId,
    roleName: partial.roleName ?? DEFAULT_IDENTITY.roleName,
  };
}

interface Answer {
  status: number;
  body: string;
}
type Leaf = () => Promise<Answer>;
interface Tree {
  [name: string]: Tree | Leaf;
}

const ok = (body: string): Answer => ({ status: 200, body });
const text =
  (body: string): Leaf =>
  async () =>
    ok(body);

function headerValue(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v.join(',') : v;
}

function parseTtl(raw: string | undefined): number | undefined {
  if (raw === undefined || !/^[0-9]{1,6}$/.test(raw)) return undefined;
  const n = Number(raw);
  return n >= 1 && n <= MAX_TTL_SECONDS ? n : undefined;
}

/** Deterministic per identity, so iam/info does not change between requests. */
function stableId(prefix: string, seed: string): string {
  const digest = createHash('sha256').update(seed).digest();
  let out = prefix;
  for (const b of digest.subarray(0, 21 - prefix.length)) out += ID_ALPHABET[b % 32];
  return out;
}

/** What one running emulator holds and the control plane changes. */
interface Instance {
  readonly identity: ImdsIdentity;
  readonly cache: CredentialCache;
  readonly log: (message: string) => void;
  readonly startedAt: Date;
  /** token -> expiry (ms since epoch) */
  readonly tokens: Map<string, number>;
  readonly delays: Delays;
  readonly listeners: Array<(c: EmulatorCreds) => void>;
  readonly handedOut: Map<string, EmulatorCreds>;
  fault: ImdsFault;
  delayMs: number;
  frozenExpiration: Date | undefined;
  tokensRequired: boolean;
  counters: ImdsCounters;
}

const noCounters = (): ImdsCounters => ({ tokenPuts: 0, gets: 0, tokenlessGets: 0, byPath: {} });

function send(
  res: ServerResponse,
  status: number,
  body: string,
  headers: Record<string, string> = {},
): void {
  const buf = Buffer.from(body, 'utf8');
  res.writeHead(status, {
    'Content-Type': 'text/plain',
    'Content-Length': String(buf.length),
    Server: 'EC2ws',
    ...headers,
  });
  res.end(buf);
}

function sendError(res: ServerResponse, status: number, headers?: Record<string, string>): void {
  send(res, status, errorPage(status), headers);
}

function streamHuge(req: IncomingMessage, res: ServerResponse): void {
  res.writeHead(200, { 'Content-Type': 'text/plain', Server: 'EC2ws' });
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  // Endless, but paced by the reader: stops when the client or close() drops the socket.
  const pump = () => {
    while (!res.destroyed && res.write(HUGE_CHUNK)) {}
  };
  res.on('drain', pump);
  pump();
}

function handOut(inst: Instance, creds: EmulatorCreds): void {
  const prev = inst.handedOut.get(creds.accessKeyId);
  if (prev && prev.expiration.getTime() === creds.expiration.getTime()) return;
  inst.handedOut.set(creds.accessKeyId, creds);
  for (const l of inst.listeners) l(creds);
}

function roleErrorJson(identity: ImdsIdentity): string {
  return imdsJson({
    Code: 'AssumeRoleUnauthorizedAccess',
    Message: `EC2 cannot assume the role ${identity.roleName}.  Please see documentation at http://docs.amazonwebservices.com/IAM/latest/UserGuide/RolesTroubleshooting.html.`,
    LastUpdated: imdsTime(new Date()),
  });
}

function iamInfo(inst: Instance): Leaf {
  const { identity } = inst;
  return async () => {
    if (inst.fault === 'role-error') return ok(roleErrorJson(identity));
    return ok(
      imdsJson({
        Code: 'Success',
        LastUpdated: imdsTime(inst.cache.peek()?.lastUpdated ?? inst.startedAt),
        InstanceProfileArn: `arn:aws:iam::${identity.accountId}:instance-profile/${identity.roleName}`,
        InstanceProfileId: stableId('AIPA', `${identity.accountId}/${identity.roleName}`),
      }),
    );
  };
}

function roleCredentials(inst: Instance): Leaf {
  return async () => {
    if (inst.fault === 'role-error') return ok(roleErrorJson(inst.identity));
    let held: CachedCreds;
    try {
      // While an expiry fault is on, EC2 is pretending it cannot rotate.
      held = await inst.cache.get({ refresh: inst.frozenExpiration === undefined });
    } catch (err) {
      inst.log(`credential source failed: ${err instanceof Error ? err.message : String(err)}`);
      return { status: 500, body: errorPage(500) };
    }
    const expiration = new Date(imdsTime(inst.frozenExpiration ?? held.creds.expiration));
    const body = imdsJson({
      Code: 'Success',
      LastUpdated: imdsTime(held.lastUpdated),
      Type: 'AWS-HMAC',
      AccessKeyId: held.creds.accessKeyId,
      SecretAccessKey: held.creds.secretAccessKey,
      Token: held.creds.sessionToken,
      Expiration: imdsTime(expiration),
    });
    if (inst.fault === 'malformed') return ok(body.slice(0, Math.floor(body.length / 2)));
    handOut(inst, { ...held.creds, expiration });
    return ok(body);
  };
}

function identityDocument(identity: ImdsIdentity, startedAt: Date): Leaf {
  return async () =>
    ok(
      imdsJson({
        accountId: identity.accountId,
        architecture: 'x86_64',
        availabilityZone: identity.availabilityZone,
        billingProducts: null,
        devpayProductCodes: null,
        marketplaceProductCodes: null,
        imageId: 'ami-0abcdef1234567890',
        instanceId: identity.instanceId,
        instanceType: 't3.micro',
        kernelId: null,
        pendingTime: imdsTime(startedAt),
        privateIp: '172.31.16.10',
        ramdiskId: null,
        region: identity.region,
        version: '2017-09-30',
      }),
    );
}

/** The metadata tree as it stands now (the no-role fault removes a branch). */
function metadataTree(inst: Instance): Tree {
  const { identity } = inst;
  const metaData: Tree = {
    'ami-id': text('ami-0abcdef1234567890'),
    hostname: text('ip-172-31-16-10.ec2.internal'),
    'instance-id': text(identity.instanceId),
    'instance-type': text('t3.micro'),
    'local-hostname': text('ip-172-31-16-10.ec2.internal'),
    'local-ipv4': text('172.31.16.10'),
    placement: {
      'availability-zone': text(identity.availabilityZone),
      region: text(identity.region),
    },
  };
  // With no role attached, the whole iam category is absent (404), as on EC2.
  if (inst.fault !== 'no-role') {
    metaData.iam = {
      info: iamInfo(inst),
      'security-credentials': { [identity.roleName]: roleCredentials(inst) },
    };
  }
  return {
    'meta-data': metaData,
    dynamic: { 'instance-identity': { document: identityDocument(identity, inst.startedAt) } },
  };
}

function listing(dir: Tree, slashDirs: boolean): string {
  return Object.keys(dir)
    .sort()
    .map((k) => (slashDirs && typeof dir[k] !== 'function' ? `${k}/` : k))
    .join('\n');
}

async function lookup(inst: Instance, path: string): Promise<Answer> {
  if (path === '/') return ok(API_VERSIONS.join('\n'));
  const [version, ...rest] = path.slice(1).split('/');
  if (version === undefined || !API_VERSIONS.includes(version)) {
    return { status: 404, body: errorPage(404) };
  }
  const segments = rest.filter((s) => s !== '');
  let node: Tree | Leaf = metadataTree(inst);
  for (const seg of segments) {
    if (typeof node === 'function' || !Object.hasOwn(node, seg)) {
      return { status: 404, body: errorPage(404) };
    }
    const next: Tree | Leaf | undefined = node[seg];
    if (next === undefined) return { status: 404, body: errorPage(404) };
    node = next;
  }
  if (typeof node === 'function') return node();
  // The version root lists categories without a slash; deeper lists mark sub-directories.
  return ok(listing(node, segments.length > 0));
}

function tokenValid(tokens: Map<string, number>, token: string): boolean {
  const expiresAt = tokens.get(token);
  if (expiresAt === undefined) return false;
  if (expiresAt <= Date.now()) {
    tokens.delete(token);
    return false;
  }
  return true;
}

function issueToken(tokens: Map<string, number>, ttl: number): string {
  if (tokens.size > 1000) {
    const now = Date.now();
    for (const [t, exp] of tokens) if (exp <= now) tokens.delete(t);
  }
  const token = randomBytes(42).toString('base64');
  tokens.set(token, Date.now() + ttl * 1000);
  return token;
}

function handlePut(inst: Instance, req: IncomingMessage, res: ServerResponse, path: string) {
  // Hop-limit symptom: the PUT response never makes it back to the caller.
  if (inst.fault === 'token-blackhole') return;
  if (inst.fault === 'token-reset') {
    req.socket.resetAndDestroy();
    return;
  }
  if (path !== TOKEN_PATH) {
    if (/^\/[^/]+\/api\/token\/?$/.test(path)) return sendError(res, 403);
    return sendError(res, 405, { Allow: 'GET, HEAD' });
  }
  if (headerValue(req, 'x-forwarded-for') !== undefined) return sendError(res, 403);
  const ttl = parseTtl(headerValue(req, TTL_HEADER));
  if (ttl === undefined) return sendError(res, 400);
  send(res, 200, issueToken(inst.tokens, ttl), {
    'X-aws-ec2-metadata-token-ttl-seconds': String(ttl),
  });
}

function count(counters: ImdsCounters, req: IncomingMessage, method: string, path: string): void {
  if (method === 'PUT' && path === TOKEN_PATH) counters.tokenPuts++;
  if (method !== 'GET' && method !== 'HEAD') return;
  counters.gets++;
  if (headerValue(req, TOKEN_HEADER) === undefined) counters.tokenlessGets++;
  counters.byPath[path] = (counters.byPath[path] ?? 0) + 1;
}

async function handle(inst: Instance, req: IncomingMessage, res: ServerResponse) {
  req.resume();
  const method = req.method ?? 'GET';
  const path = new URL(req.url ?? '/', 'http://imds').pathname;
  count(inst.counters, req, method, path);
  const { fault } = inst;
  if (fault === 'hang') return;
  if (fault === 'disabled') return sendError(res, 403);
  if (fault === 'throttled') return sendError(res, 429);
  if (fault === 'slow' && !(await inst.delays.wait(inst.delayMs))) return;
  if (res.destroyed) return;
  if (method === 'PUT') return handlePut(inst, req, res, path);
  if (path === TOKEN_PATH) return sendError(res, 405, { Allow: 'PUT' });
  if (method !== 'GET' && method !== 'HEAD') return sendError(res, 405, { Allow: 'GET, HEAD' });
  const token = headerValue(req, TOKEN_HEADER);
  // A bad token is refused even when tokens are optional; no token only when required.
  if (token !== undefined ? !tokenValid(inst.tokens, token) : inst.tokensRequired) {
    return sendError(res, 401);
  }
  const answer = await lookup(inst, path);
  if (res.destroyed) return;
  if (inst.fault === 'huge-body') return streamHuge(req, res);
  send(res, answer.status, answer.body);
}

function setFault(inst: Instance, next: ImdsFault, fo: ImdsFaultOptions = {}): void {
  if (!isImdsFault(next)) {
    throw new Error(`unknown IMDS fault ${String(next)}; one of ${IMDS_FAULTS.join(', ')}`);
  }
  inst.fault = next;
  inst.delayMs = fo.delayMs ?? 2000;
  inst.frozenExpiration = undefined;
  if (next === 'credentials-expiring') {
    inst.frozenExpiration = new Date(Date.now() + (fo.expiresInSeconds ?? 120) * 1000);
  } else if (next === 'credentials-expired') {
    inst.frozenExpiration = new Date(Date.now() - Math.abs(fo.expiresInSeconds ?? 600) * 1000);
  }
}

function newInstance(opts: ImdsEmulatorOptions): Instance {
  return {
    identity: resolveIdentity(opts.identity),
    cache: new CredentialCache(
      opts.credentials ?? fakeCredentialSource,
      (opts.refreshBeforeSeconds ?? 300) * 1000,
    ),
    log: opts.log ?? (() => {}),
    startedAt: new Date(),
    tokens: new Map(),
    delays: new Delays(),
    listeners: [],
    handedOut: new Map(),
    fault: 'none',
    delayMs: 2000,
    frozenExpiration: undefined,
    tokensRequired: opts.tokensRequired ?? false,
    counters: noCounters(),
  };
}

/** The emulator's handle: reads and changes `inst`, closes its sockets. */
function handleOf(inst: Instance, url: string, close: () => Promise<void>): ImdsEmulator {
  return {
    url,
    identity: inst.identity,
    setFault: (next, fo) => setFault(inst, next, fo),
    setTokensRequired(required) {
      inst.tokensRequired = required;
    },
    state: () => ({
      fault: inst.fault,
      tokensRequired: inst.tokensRequired,
      delayMs: inst.delayMs,
      frozenExpiration: inst.frozenExpiration ? imdsTime(inst.frozenExpiration) : null,
    }),
    counters: () => ({ ...inst.counters, byPath: { ...inst.counters.byPath } }),
    resetCounters() {
      inst.counters = noCounters();
    },
    onCredentials(listener) {
      inst.listeners.push(listener);
      for (const c of inst.handedOut.values()) listener(c);
    },
    close,
  };
}

export async function startImdsEmulator(opts: ImdsEmulatorOptions = {}): Promise<ImdsEmulator> {
  const host = opts.host ?? '127.0.0.1';
  const inst = newInstance(opts);
  const server = createServer((req, res) => {
    handle(inst, req, res).catch((err: unknown) => {
      inst.log(`request failed: ${err instanceof Error ? err.message : String(err)}`);
      if (!res.headersSent) sendError(res, 500);
      else res.destroy();
    });
  });
  const tracked = trackServer(server);
  const port = await listen(server, opts.port ?? 0, host);

  let control: ImdsControl | undefined;
  const emulator = handleOf(inst, httpUrl(host, port), async () => {
    inst.delays.cancelAll();
    await Promise.all([tracked.close(), control?.close()]);
  });
  if (opts.controlPort !== undefined) {
    try {
      control = await startImdsControl(
        {
          setFault: (f, fo) => setFault(inst, f as ImdsFault, fo),
          setTokensRequired: emulator.setTokensRequired,
          counters: emulator.counters,
          resetCounters: emulator.resetCounters,
          state: emulator.state,
        },
        opts.controlHost ?? host,
        opts.controlPort,
      );
    } catch (err) {
      await tracked.close();
      throw err;
    }
    emulator.controlUrl = control.url;
  }
  return emulator;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      host: { type: 'string', default: '127.0.0.1' },
      port: { type: 'string', default: '0' },
      'control-port': { type: 'string' },
      'control-host': { type: 'string' },
      'tokens-required': { type: 'boolean', default: false },
      'identity-json': { type: 'string' },
      'creds-file': { type: 'string' },
      'refresh-before-seconds': { type: 'string' },
    },
    strict: true,
  });
  const identity: unknown = values['identity-json'] ? JSON.parse(values['identity-json']) : {};
  if (identity === null || typeof identity !== 'object') throw new Error('--identity-json: object');
  for (const [k, v] of Object.entries(identity)) {
    if (!(k in DEFAULT_IDENTITY) || typeof v !== 'string') {
      throw new Error(
        `--identity-json: ${k} must be one of ${Object.keys(DEFAULT_IDENTITY)} (string)`,
      );
    }
  }
  const emulator = await startImdsEmulator({
    host: values.host,
    port: Number(values.port),
    controlPort: values['control-port'] !== undefined ? Number(values['control-port']) : undefined,
    controlHost: values['control-host'],
    tokensRequired: values['tokens-required'],
    identity: identity as Partial<ImdsIdentity>,
    credentials: values['creds-file'] ? credentialsFromFile(values['creds-file']) : undefined,
    refreshBeforeSeconds:
      values['refresh-before-seconds'] !== undefined
        ? Number(values['refresh-before-seconds'])
        : undefined,
    log: (m) => process.stderr.write(`imds-emulator: ${m}\n`),
  });
  process.stdout.write(
    `${JSON.stringify({ url: emulator.url, controlUrl: emulator.controlUrl ?? null, identity: emulator.identity })}\n`,
  );
  const stop = () => {
    emulator.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

if (import.meta.main) {
  main().catch((err: unknown) => {
    process.stderr.write(`imds-emulator: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
