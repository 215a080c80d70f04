import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';

export interface EmulatorCreds {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  expiration: Date;
}

export type CredentialSource = () => Promise<EmulatorCreds>;

export interface CachedCreds {
  creds: EmulatorCreds;
  /** when this access key was first served: IMDS `LastUpdated` */
  lastUpdated: Date;
}

const ALNUM_UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

function upperId(length: number): string {
  const bytes = randomBytes(length);
  let out = '';
  for (const b of bytes) out += ALNUM_UPPER[b % ALNUM_UPPER.length];
  return out;
}

/** Role credentials shaped like STS ones: ASIA key id, 40-char secret, long session token. */
export function fakeCredentials(lifetimeSeconds = 6 * 3600): EmulatorCreds {
  return {
    accessKeyId: `ASIA${upperId(16)}`,
    secretAccessKey: randomBytes(30).toString('base64'),
    // Real EC2 role tokens start with this prefix and run to ~1 KB.
    sessionToken: `IQoJb3JpZ2luX2Vj${randomBytes(600).toString('base64')}`,
    expiration: new Date(Date.now() + lifetimeSeconds * 1000),
  };
}

export const fakeCredentialSource: CredentialSource = async () => fakeCredentials();

function pick(doc: Record<string, unknown>, ...keys: string[]): string | undefined {
  for (const k of keys) {
    const v = doc[k];
    if (typeof v === 'string' && v !== '') return v;
  }
  return undefined;
}

/**
 * Reads credentials from a JSON file on every call, so a parent process can
 * rotate real credentials into it. Accepts the SDK's camelCase shape and the
 * IMDS/STS PascalCase one (`Token` or `SessionToken`).
 */
export function credentialsFromFile(path: string): CredentialSource {
  return async () => {
    const parsed: unknown = JSON.parse(await readFile(path, 'utf8'));
    if (parsed === null || typeof parsed !== 'object')
      throw new Error(`${path}: not a JSON object`);
    const doc = parsed as Record<string, unknown>;
    const accessKeyId = pick(doc, 'accessKeyId', 'AccessKeyId');
    const secretAccessKey = pick(doc, 'secretAccessKey', 'SecretAccessKey');
    const sessionToken = pick(doc, 'sessionToken', 'SessionToken', 'Token');
    const expiration = pick(doc, 'expiration', 'Expiration');
    if (!accessKeyId || !secretAccessKey || !sessionToken || !expiration) {
      throw new Error(`${path}: needs accessKeyId, secretAccessKey, sessionToken, expiration`);
    }
    const exp = new Date(expiration);
    if (Number.isNaN(exp.getTime())) throw new Error(`${path}: bad expiration ${expiration}`);
    return { accessKeyId, secretAccessKey, sessionToken, expiration: exp };
  };
}

/**
 * EC2's rotation rule: new credentials are made available before the old ones
 * enter their last `refreshBeforeMs`. The source is asked again on each
 * request while the held credentials are inside that window (one call in
 * flight at a time); if it fails, the old credentials keep being served, as
 * IMDS does when it cannot refresh.
 */
export class CredentialCache {
  private cached: CachedCreds | undefined;
  private inflight: Promise<CachedCreds> | undefined;
  private readonly source: CredentialSource;
  private readonly refreshBeforeMs: number;

  constructor(source: CredentialSource, refreshBeforeMs: number) {
    this.source = source;
    this.refreshBeforeMs = refreshBeforeMs;
  }

  peek(): CachedCreds | undefined {
    return this.cached;
  }

  async get(opts: { refresh: boolean } = { refresh: true }): Promise<CachedCreds> {
    const held = this.cached;
    if (
      held &&
      (!opts.refresh || held.creds.expiration.getTime() - Date.now() >= this.refreshBeforeMs)
    ) {
      return held;
    }
    this.inflight ??= this.fetch().finally(() => {
      this.inflight = undefined;
    });
    return this.inflight;
  }

  private async fetch(): Promise<CachedCreds> {
    let creds: EmulatorCreds;
    try {
      creds = await this.source();
    } catch (err) {
      if (this.cached) return this.cached;
      throw err;
    }
    const prev = this.cached;
    const sameKey = prev?.creds.accessKeyId === creds.accessKeyId;
    this.cached = { creds, lastUpdated: sameKey && prev ? prev.lastUpdated : new Date() };
    return this.cached;
  }
}
