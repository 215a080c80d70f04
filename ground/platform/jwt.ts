/**
 * Kubernetes service-account tokens for the ground: JWTs with the claims the
 * API server puts in projected tokens (iss, sub, aud, exp, kubernetes.io).
 *
 * Our choice: HS256 with a key the emulators share. Real tokens are RS256,
 * verified by STS or EKS Auth against the cluster's published JWKS; the ground
 * is both issuer and verifier, so a shared secret proves the same thing (a
 * tampered or foreign token is refused) without a key pair.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export interface ServiceAccountClaims {
  iss: string;
  /** `system:serviceaccount:NAMESPACE:NAME` */
  sub: string;
  aud: string | string[];
  /** seconds since the epoch */
  exp: number;
  iat: number;
  nbf?: number;
  'kubernetes.io'?: {
    namespace: string;
    serviceaccount: { name: string; uid: string };
    pod?: { name: string; uid: string };
  };
}

export interface TokenRequest {
  issuer: string;
  namespace: string;
  serviceAccount: string;
  audience: string;
  /** lifetime from now; negative for a token that has already expired (default 86400, as EKS) */
  expiresInSeconds?: number;
}

const b64url = (buf: Buffer | string) => Buffer.from(buf).toString('base64url');

export function newSigningKey(): Buffer {
  return randomBytes(32);
}

function sign(input: string, key: Buffer): string {
  return createHmac('sha256', key).update(input).digest('base64url');
}

export function signToken(claims: ServiceAccountClaims, key: Buffer): string {
  const header = b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT', kid: 's3h-ground' }));
  const payload = b64url(JSON.stringify(claims));
  return `${header}.${payload}.${sign(`${header}.${payload}`, key)}`;
}

export function serviceAccountToken(req: TokenRequest, key: Buffer): string {
  const now = Math.floor(Date.now() / 1000);
  const uid = randomBytes(16).toString('hex');
  return signToken(
    {
      iss: req.issuer,
      sub: `system:serviceaccount:${req.namespace}:${req.serviceAccount}`,
      aud: [req.audience],
      iat: now,
      nbf: now,
      exp: now + (req.expiresInSeconds ?? 86400),
      'kubernetes.io': {
        namespace: req.namespace,
        serviceaccount: { name: req.serviceAccount, uid },
      },
    },
    key,
  );
}

export type Verified =
  | { ok: true; claims: ServiceAccountClaims }
  | { ok: false; problem: 'malformed' | 'signature' };

function isClaims(v: unknown): v is ServiceAccountClaims {
  if (typeof v !== 'object' || v === null) return false;
  const c = v as Record<string, unknown>;
  return (
    typeof c.iss === 'string' &&
    typeof c.sub === 'string' &&
    (typeof c.aud === 'string' || Array.isArray(c.aud)) &&
    typeof c.exp === 'number'
  );
}

/** Claims without checking the signature (what a relying party reads before choosing a key). */
export function readClaims(token: string): ServiceAccountClaims | undefined {
  const parts = token.split('.');
  if (parts.length !== 3 || parts[1] === undefined) return undefined;
  try {
    const claims: unknown = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
    return isClaims(claims) ? claims : undefined;
  } catch {
    return undefined;
  }
}

export function verifyToken(token: string, key: Buffer): Verified {
  const claims = readClaims(token);
  const [header, payload, signature] = token.split('.');
  if (!claims || header === undefined || signature === undefined) {
    return { ok: false, problem: 'malformed' };
  }
  const want = Buffer.from(sign(`${header}.${payload}`, key));
  const got = Buffer.from(signature);
  if (want.length !== got.length || !timingSafeEqual(want, got)) {
    return { ok: false, problem: 'signature' };
  }
  return { ok: true, claims };
}

export function audiences(claims: ServiceAccountClaims): string[] {
  return Array.isArray(claims.aud) ? claims.aud : [claims.aud];
}
