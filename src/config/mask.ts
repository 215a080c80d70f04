/** `ASIAABCDEFGHWXYZ` -> `ASIA…WXYZ`: enough to tell keys apart, not enough to use one. */
export function maskKeyId(id: string): string {
  if (id.length <= 8) return '…';
  return `${id.slice(0, 4)}…${id.slice(-4)}`;
}
