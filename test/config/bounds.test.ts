// Pure logic: the jitter of cycle starts (SPEC §3: interval ± 10 %).
import { describe, expect, it } from 'vitest';
import { jitteredIntervalMs } from '../../src/config/bounds.ts';

describe('jitteredIntervalMs', () => {
  const c = { intervalMs: 30_000 };

  it('spans interval - 10 % to interval + 10 % over the draw', () => {
    expect(jitteredIntervalMs(c, 0)).toBe(27_000);
    expect(jitteredIntervalMs(c, 0.25)).toBe(28_500);
    expect(jitteredIntervalMs(c, 0.5)).toBe(30_000);
    expect(jitteredIntervalMs(c, 0.75)).toBe(31_500);
    expect(jitteredIntervalMs(c, 1 - Number.EPSILON)).toBe(33_000);
  });

  it('stays inside the band for any draw, and a fleet of draws spreads over it', () => {
    const gaps = Array.from({ length: 1000 }, (_, i) => jitteredIntervalMs(c, i / 1000));
    for (const g of gaps) {
      expect(g).toBeGreaterThanOrEqual(27_000);
      expect(g).toBeLessThanOrEqual(33_000);
    }
    // Hosts drawing differently start apart: no two of a hundred draws share a gap.
    expect(new Set(gaps.filter((_, i) => i % 10 === 0)).size).toBe(100);
  });

  it('rounds to whole milliseconds at small intervals', () => {
    expect(jitteredIntervalMs({ intervalMs: 100 }, 1 / 3)).toBe(97);
    expect(Number.isInteger(jitteredIntervalMs({ intervalMs: 1234 }, Math.random()))).toBe(true);
  });
});
