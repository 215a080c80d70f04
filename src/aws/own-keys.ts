import { randomBytes } from 'node:crypto';

// probe-<epoch ms>-<16 hex>: sortable, unique, and recognisable as ours.
const KEY_RE = /^probe-(\d{13})-([0-9a-f]{16})$/;

/**
 * The only authority on which keys the sidecar may delete: keys it wrote in
 * this process, under its own prefix, in its own format. Nothing else is
 * ever passed to DeleteObject.
 */
export class OwnKeys {
  private readonly written = new Set<string>();
  readonly ownPrefix: string;

  constructor(ownPrefix: string) {
    this.ownPrefix = ownPrefix;
  }

  /** Reserves a fresh key before the PUT is sent, so a PUT that times out is still cleaned up. */
  next(now: number = Date.now()): string {
    const key = `${this.ownPrefix}probe-${now}-${randomBytes(8).toString('hex')}`;
    this.written.add(key);
    return key;
  }

  /** True only for a key this process created with `next` and has not yet deleted. */
  mayDelete(key: string): boolean {
    if (!this.written.has(key) || !key.startsWith(this.ownPrefix)) return false;
    return KEY_RE.test(key.slice(this.ownPrefix.length));
  }

  /**
   * Takes over a key a killed predecessor wrote: only one in our exact
   * format under our own prefix (so never a foreign object).
   */
  adopt(key: string): boolean {
    if (!isOwnKeyFormat(key, this.ownPrefix).ok) return false;
    this.written.add(key);
    return true;
  }

  deleted(key: string): void {
    this.written.delete(key);
  }

  pending(): string[] {
    return [...this.written];
  }
}

/** Whether a key found in the bucket has our format under our prefix (for sweeping leftovers). */
export function isOwnKeyFormat(
  key: string,
  ownPrefix: string,
): { ok: boolean; writtenAt?: number } {
  if (!key.startsWith(ownPrefix)) return { ok: false };
  const m = KEY_RE.exec(key.slice(ownPrefix.length));
  return m?.[1] ? { ok: true, writtenAt: Number(m[1]) } : { ok: false };
}
