import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

/**
 * What a caller may see, decided once per request from `S3_HEALTH_DIAGNOSE_TOKEN`:
 * - `open`: no token is configured; everything is shown, /diagnose runs.
 * - `granted`: the caller presented the token.
 * - `denied`: a token is configured and the caller did not present it (absent
 *   or wrong): verdicts and reasons only, no identity, no fixes, no /diagnose.
 */
export type Access = 'open' | 'granted' | 'denied';

const REALM = 's3-health';

/**
 * The token a request presents: a Bearer token, or the password of HTTP Basic
 * (any user name) so a browser's login dialog works. Undefined when neither.
 */
export function presentedToken(authorization: string | undefined): string | undefined {
  if (authorization === undefined) return undefined;
  const m = /^(\S+)\s+(\S+)\s*$/.exec(authorization);
  if (m === null) return undefined;
  const scheme = (m[1] ?? '').toLowerCase();
  const value = m[2] ?? '';
  if (scheme === 'bearer') return value;
  if (scheme !== 'basic') return undefined;
  const decoded = Buffer.from(value, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? undefined : decoded.slice(colon + 1);
}

/**
 * Constant time in the content and the length of what was given: both sides
 * are hashed to 32 bytes first, so a wrong length is not answered faster.
 */
export function tokenMatches(given: string | undefined, want: string): boolean {
  const a = createHash('sha256')
    .update(given ?? '')
    .digest();
  const b = createHash('sha256').update(want).digest();
  return timingSafeEqual(a, b) && given !== undefined;
}

export function accessFor(headers: IncomingHttpHeaders, token: string | undefined): Access {
  if (token === undefined) return 'open';
  return tokenMatches(presentedToken(headers.authorization), token) ? 'granted' : 'denied';
}

/** May this caller see identity (account, role ARN, instance id, caller ARN) and fixes? */
export function maySeeIdentity(access: Access): boolean {
  return access !== 'denied';
}

/** May this caller start (or share) a live /diagnose run? */
export function mayDiagnose(access: Access): boolean {
  return access !== 'denied';
}

/**
 * The `WWW-Authenticate` challenges of a 401. A browser (it asks for HTML)
 * gets Basic first, so it shows its login dialog; other clients are told
 * about Bearer first. Both are always offered.
 */
export function challenges(headers: IncomingHttpHeaders): string[] {
  const basic = `Basic realm="${REALM}", charset="UTF-8"`;
  const bearer = `Bearer realm="${REALM}"`;
  return wantsHtml(headers) ? [basic, bearer] : [bearer, basic];
}

/**
 * A browser (it asks for HTML first): offered the Basic challenge first, and
 * the status page at `/`; curl (Accept: any) and API clients keep the JSON.
 */
export function wantsHtml(headers: IncomingHttpHeaders): boolean {
  return (headers.accept ?? '').includes('text/html');
}
