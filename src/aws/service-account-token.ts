import { open } from 'node:fs/promises';
import { CheckFailure, type TokenClaims } from '../model/check.ts';

/**
 * A Kubernetes service-account token file (IRSA's AWS_WEB_IDENTITY_TOKEN_FILE,
 * Pod Identity's AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE) as the SDK would read
 * it, plus the claims that name who is asking. The token itself is a
 * credential: only these claims ever leave this module.
 */

export type TokenFile =
  | { ok: true; claims: TokenClaims; lineBreak: boolean; empty: boolean }
  | { ok: false; code: string; message: string };

// Projected tokens are about 1 KiB; anything far larger is not one.
const MAX_BYTES = 64 * 1024;

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/** The claims of a JWT, unverified (for naming the caller in a report, never for trust). */
export function claimsOf(token: string): TokenClaims {
  const payload = token.trim().split('.')[1];
  if (payload === undefined) return {};
  let doc: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    if (typeof parsed !== 'object' || parsed === null) return {};
    doc = parsed as Record<string, unknown>;
  } catch {
    return {};
  }
  const subject = str(doc.sub);
  const sa = /^system:serviceaccount:([^:]+):([^:]+)$/.exec(subject ?? '');
  const aud = Array.isArray(doc.aud) ? doc.aud.filter((a) => typeof a === 'string') : [doc.aud];
  const exp = typeof doc.exp === 'number' ? new Date(doc.exp * 1000) : undefined;
  const claims: TokenClaims = {};
  const issuer = str(doc.iss);
  if (issuer) claims.issuer = issuer;
  if (subject) claims.subject = subject;
  if (sa?.[1]) claims.namespace = sa[1];
  if (sa?.[2]) claims.serviceAccount = sa[2];
  const audience = aud.map(str).filter((a) => a !== undefined);
  if (audience.length > 0) claims.audience = audience.join(',');
  if (exp && !Number.isNaN(exp.getTime())) claims.expiresAt = exp.toISOString();
  return claims;
}

export async function readTokenFile(path: string): Promise<TokenFile> {
  try {
    const handle = await open(path, 'r');
    try {
      const buf = Buffer.alloc(MAX_BYTES);
      const { bytesRead } = await handle.read(buf, 0, MAX_BYTES, 0);
      const text = buf.subarray(0, bytesRead).toString('utf8');
      return {
        ok: true,
        claims: claimsOf(text),
        lineBreak: /[\r\n]/.test(text),
        empty: text.trim() === '',
      };
    } finally {
      await handle.close();
    }
  } catch (e) {
    const err = e as { code?: unknown; message?: unknown };
    return {
      ok: false,
      code: typeof err.code === 'string' ? err.code : 'EIO',
      message: typeof err.message === 'string' ? err.message : String(e),
    };
  }
}

/** A token file the SDK would refuse, as the failure every report names it by. */
export function tokenFileFailure(
  variable: string,
  path: string,
  problem: string,
  original?: unknown,
): CheckFailure {
  return new CheckFailure(
    'env_token_file_invalid',
    `${variable}=${path} ${problem}`,
    { variable, tokenFile: path, problem },
    original,
  );
}
