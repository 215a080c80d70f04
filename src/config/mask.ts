/** `ASIAABCDEFGHWXYZ` -> `ASIA…WXYZ`: enough to tell keys apart, not enough to use one. */
export function maskKeyId(id: string): string {
  if (id.length <= 8) return '…';
  return `${id.slice(0, 4)}…${id.slice(-4)}`;
}

/** `http://user:pass@proxy:3128` -> `http://***@proxy:3128`. */
export function redactUrl(url: string | undefined): string | undefined {
  if (url === undefined) return undefined;
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@\s]+@/i, '$1***@');
}
