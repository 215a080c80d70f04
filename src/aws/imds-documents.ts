// Typed readings of the IMDS JSON documents. A 200 is not success: the
// `Code` field must say so (reference A.7), and secrets are dropped here,
// at the edge, so nothing downstream can ever hold them.
import { maskKeyId } from '../config/mask.ts';
import { REGION_RE } from '../model/region.ts';

export type Parsed<T> = { ok: true; value: T } | { ok: false; problem: string };

export interface IamInfo {
  code: string;
  instanceProfileArn?: string;
  message?: string;
}

export interface RoleCredentialsDoc {
  code: string;
  message?: string;
  accessKeyIdMasked?: string;
  expiration?: Date;
  lastUpdated?: Date;
  type?: string;
}

function parseObject(body: string): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(body);
    return typeof v === 'object' && v !== null && !Array.isArray(v)
      ? (v as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

function s(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

function date(v: unknown): Date | undefined {
  if (typeof v !== 'string') return undefined;
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? undefined : d;
}

export function parseIamInfo(body: string): Parsed<IamInfo> {
  const o = parseObject(body);
  const code = s(o?.Code);
  if (o === undefined || code === undefined)
    return { ok: false, problem: 'iam/info is not a JSON object with a Code field' };
  return {
    ok: true,
    value: { code, instanceProfileArn: s(o.InstanceProfileArn), message: s(o.Message) },
  };
}

export function parseRoleCredentials(body: string): Parsed<RoleCredentialsDoc> {
  const o = parseObject(body);
  const code = s(o?.Code);
  if (o === undefined || code === undefined)
    return { ok: false, problem: 'role credentials are not a JSON object with a Code field' };
  const keyId = s(o.AccessKeyId);
  const doc: RoleCredentialsDoc = {
    code,
    message: s(o.Message),
    accessKeyIdMasked: keyId ? maskKeyId(keyId) : undefined,
    expiration: date(o.Expiration),
    lastUpdated: date(o.LastUpdated),
    type: s(o.Type),
  };
  if (code === 'Success') {
    if (!keyId || !s(o.SecretAccessKey) || !s(o.Token) || doc.expiration === undefined) {
      return {
        ok: false,
        problem:
          'role credentials say Success but lack AccessKeyId, SecretAccessKey, Token or a valid Expiration',
      };
    }
  }
  return { ok: true, value: doc };
}

/** Role names are IAM names: the first listed line, if it looks like one. */
export function parseRoleList(body: string): string | undefined {
  const first = body.split('\n')[0]?.trim();
  return first && /^[\w+=,.@-]{1,128}$/.test(first) ? first : undefined;
}

const INSTANCE_ID_RE = /^i-[0-9a-f]{8,17}$/;

export function parseInstanceId(body: string): string | undefined {
  const v = body.trim();
  return INSTANCE_ID_RE.test(v) ? v : undefined;
}

export function parseRegion(body: string): string | undefined {
  const v = body.trim();
  return REGION_RE.test(v) ? v : undefined;
}

/** The identity document's account id: known even when STS cannot be reached. */
export function parseIdentityDocumentAccount(body: string): string | undefined {
  const o = parseObject(body);
  const account = s(o?.accountId);
  return account && /^\d{12}$/.test(account) ? account : undefined;
}
