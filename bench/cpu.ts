// Item 6: CPU seconds per hour idle at the default interval, extrapolated
// from a bounded window, next to the bare baseline process over the same
// window; cross-checked with CPU per cycle from the long short-interval run.
import type { CycleRun } from './cycles.ts';
import type { IdleRun } from './idle.ts';
import { type Section, table } from './report.ts';
import { fmt, ratio } from './stats.ts';

export function cpuSection(idle: IdleRun, run: CycleRun): Section {
  const hour = (cpu: number) => (cpu * 3600) / idle.windowSeconds;
  const perHour = hour(idle.cpuSeconds);
  const basePerHour = hour(idle.baselineCpuSeconds);
  const perCycle = run.cycles > 0 ? run.cpuSeconds / run.cycles : Number.NaN;
  const cyclesPerHour = 3600 / idle.intervalSeconds;
  // What the window's cycles cost at the long run's CPU per cycle; the rest runs by the clock.
  const cyclesPart = perCycle * idle.cycles;
  const clockPart = idle.cpuSeconds - cyclesPart;
  const pct = (h: number) => `${fmt((h / 3600) * 100, 2)} % of one core`;
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
        '**CPU seconds per hour, idle at the default interval** (extrapolated)',
        `**${fmt(perHour, 1)} s/h** (${pct(perHour)})`,
        `${fmt(basePerHour, 1)} s/h`,
        `${fmt(ratio(perHour, basePerHour), 1)}×`,
      ],
      [
        '  of which the cycles (CPU per cycle of the long run × cycles in the window)',
        `${fmt(hour(cyclesPart), 1)} s/h (${fmt(perCycle * 1000, 1)} ms a cycle × ${fmt(cyclesPerHour, 0)} cycles/h)`,
        '',
        '',
      ],
      [
        '  of which the rest, paid by the clock, not by cycles',
        `${fmt(hour(clockPart), 1)} s/h`,
        '',
        '',
      ],
    ],
  )}

CPU is utime + stime from /proc/PID/stat (10 ms ticks), read at the start and end of the window; per hour = window × 3600 / ${idle.windowSeconds}, an extrapolation. The window opens just after a cycle and spans whole intervals. The bench scraped /metrics twice in the window; that is included. The sidecar runs no event-loop monitor (src/metrics-process.ts: prom-client's sampled every 10 ms, and earlier runs found it most of the idle cost), so between cycles the process sleeps on its timers.`;
  return {
    title: '6. CPU',
    body,
    targets: [],
    headlines: [
      `CPU idle at the default ${idle.intervalSeconds} s interval: ${fmt(perHour, 1)} s per hour (${pct(perHour)}; bare process ${fmt(basePerHour, 1)} s/h)`,
    ],
  };
}
