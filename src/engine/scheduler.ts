import type { Check } from '../checks/check.ts';
import type { ProbeDeps } from '../checks/deps.ts';
import { jitteredIntervalMs, reprobeDelayMs } from '../config/bounds.ts';
import type { Config } from '../model/config.ts';
import { type CycleOutcome, runCycle } from './cycle.ts';
import { wantsReprobe } from './state.ts';
import type { HealthStore, StateChange } from './store.ts';

export interface SchedulerHooks {
  onCycle?: (outcome: CycleOutcome, changes: StateChange[]) => void;
  onLeftover?: (key: string, err: unknown) => void;
  onError?: (err: unknown) => void;
  /** When the next cycle is due (epoch ms): at once for the first, jittered after that. */
  onScheduled?: (startAt: number) => void;
}

/**
 * Runs cycles one after another, never overlapping: the first at once, the
 * next `interval ± 10 %` after the previous one started, or sooner (a quick
 * re-probe) when a verdict is waiting for confirmation.
 */
export class Scheduler {
  private readonly abort = new AbortController();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  private readonly checks: readonly Check<ProbeDeps>[];
  private readonly deps: ProbeDeps;
  private readonly config: Config;
  private readonly store: HealthStore;
  private readonly hooks: SchedulerHooks;
  private readonly random: () => number;

  constructor(
    checks: readonly Check<ProbeDeps>[],
    deps: ProbeDeps,
    config: Config,
    store: HealthStore,
    hooks: SchedulerHooks = {},
    random: () => number = Math.random,
  ) {
    this.checks = checks;
    this.deps = deps;
    this.config = config;
    this.store = store;
    this.hooks = hooks;
    this.random = random;
  }

  /** Delay before confirming a suspected change: short, so detection costs ~one timeout more. */
  reprobeDelayMs(): number {
    return reprobeDelayMs(this.config);
  }

  start(): void {
    this.schedule(Date.now());
  }

  /** Runs the next cycle at `at` (epoch ms), or at once when that has passed. */
  private schedule(at: number): void {
    if (this.stopped) return;
    this.hooks.onScheduled?.(at);
    this.timer = setTimeout(
      () => {
        this.running = this.tick().finally(() => {
          this.running = undefined;
        });
      },
      Math.max(0, at - Date.now()),
    );
    this.timer.unref?.();
  }

  private async tick(): Promise<void> {
    const started = Date.now();
    let reprobe = false;
    try {
      const outcome = await runCycle(
        this.checks,
        this.deps,
        this.config,
        this.abort.signal,
        this.hooks.onLeftover,
      );
      if (this.stopped) return;
      const changes = this.store.apply(outcome);
      this.hooks.onCycle?.(outcome, changes);
      reprobe = this.config.checks.some((c) => {
        const s = this.store.state(c);
        return s !== undefined && wantsReprobe(s);
      });
    } catch (err) {
      this.hooks.onError?.(err);
    }
    // A re-probe waits out the short delay counted from the cycle's start: a
    // cycle that hung for a whole timeout re-probes at once. Only the regular
    // gap is jittered: a confirmation is wanted as soon as possible.
    const gap = reprobe ? this.reprobeDelayMs() : jitteredIntervalMs(this.config, this.random());
    this.schedule(started + gap);
  }

  /** Stops probing; the cycle in flight is aborted (its steps see the signal) and awaited. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.abort.abort(new Error('shutting down'));
    await this.running;
  }
}
