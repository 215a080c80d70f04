/** `ASIAABCDEFGHWXYZ` -> `ASIA…WXYZ`: enough to tell keys apart, not enough to use one. */
export function maskKeyId(id: string): string {
  if (id.length <= 8) return '…';
  return `${id.slice(0, 4)}…${id.slice(-4)}`;
}

/**
 * `http://user:pass@proxy:3128` -> `http://***@proxy:3128`: the one place
 * userinfo (which can carry a password) is taken out of a URL before it is
 * shown in config output, messages, details or fixes.
 */
export function redactUrl<T extends string | undefined>(url: T): T {
  if (url === undefined) return url;
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@\s]+@/i, '$1***@') as T;
}
