// Item 6: CPU seconds per hour idle at the default interval, extrapolated
// from a bounded window, next to the bare baseline process over the same
// window; cross-checked with CPU per cycle from the long short-interval run.
import type { CycleRun } from './cycles.ts';
import type { IdleRun } from './idle.ts';
import { type Section, table } from './report.ts';
import { fmt, ratio } from './stats.ts';

export function cpuSection(idle: IdleRun, run: CycleRun): Section {
  const perHour = (idle.cpuSeconds * 3600) / idle.windowSeconds;
  const basePerHour = (idle.baselineCpuSeconds * 3600) / idle.windowSeconds;
  const perCycle = run.cycles > 0 ? run.cpuSeconds / run.cycles : Number.NaN;
  const cyclesPerHour = 3600 / idle.intervalSeconds;
  const idlePerCycle = idle.cycles > 0 ? idle.cpuSeconds / idle.cycles : Number.NaN;
  const body = `${table(
    ['figure', 'sidecar', '**baseline** (bare process, same window)', 'ratio'],
    [
      [
        `CPU in a ${idle.windowSeconds} s window at the default interval (${idle.cycles} cycles)`,
        `${fmt(idle.cpuSeconds, 2)} s`,
        `${fmt(idle.baselineCpuSeconds, 2)} s`,
        `${fmt(ratio(idle.cpuSeconds, idle.baselineCpuSeconds), 1)}×`,
      ],
      [
        'extrapolated to CPU seconds per hour',
        `${fmt(perHour, 1)} s/h (${fmt((perHour / 3600) * 100, 3)} % of one core)`,
        `${fmt(basePerHour, 1)} s/h`,
        `${fmt(ratio(perHour, basePerHour), 1)}×`,
      ],
      [
        `cross-check: CPU per cycle in the ${fmt(run.cycles, 0)}-cycle run × ${fmt(cyclesPerHour, 0)} cycles/h`,
        `${fmt(perCycle * 1000, 1)} ms/cycle → ${fmt(perCycle * cyclesPerHour, 1)} s/h`,
        '',
        '',
      ],
    ],
  )}

CPU is utime + stime from /proc/PID/stat (10 ms ticks), read at the start and end of the window; the extrapolation multiplies by 3600 / ${idle.windowSeconds}. The window opens just after a cycle and spans whole intervals, so it holds the per-cycle cost in its hourly proportion (${fmt(idlePerCycle * 1000, 0)} ms per cycle here, where each cycle also re-creates the SDK's credential chain, as a starting container would). The bench scraped /metrics twice in the window; that is included. The baseline does nothing but keep its timers and GC alive, so the ratio is large while both are small in absolute terms.`;
  return {
    title: '6. CPU',
    body,
    targets: [],
    headlines: [
      `CPU idle at the default ${idle.intervalSeconds} s interval: ${fmt(perHour, 1)} s per hour (${fmt((perHour / 3600) * 100, 3)} % of a core; bare process ${fmt(basePerHour, 1)} s/h)`,
    ],
  };
}
