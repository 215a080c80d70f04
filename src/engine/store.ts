import type { CheckName, CheckResult, Facts, Status } from '../model/check.ts';
import type { Config } from '../model/config.ts';
import type { CheckState, Snapshot } from '../model/health.ts';
import type { HistoryView } from '../model/history.ts';
import type { CycleOutcome } from './cycle.ts';
import { History } from './history.ts';
import { advance, initialState, verdictOf, worst } from './state.ts';

export interface StateChange {
  check: CheckName;
  from: Status | 'unknown';
  to: Status;
  result: CheckResult;
}

/** The cached verdicts every endpoint reads; only the scheduler writes. */
export class HealthStore {
  private readonly states = new Map<CheckName, CheckState>();
  private readonly config: Config;
  private readonly memory: History;
  facts: Facts = {};
  cycles = 0;

  constructor(config: Config) {
    this.config = config;
    this.memory = new History(config.historyCycles);
    for (const c of config.checks) this.states.set(c, initialState(c));
  }

  apply(outcome: CycleOutcome): StateChange[] {
    const changes: StateChange[] = [];
    for (const [name, result] of outcome.results) {
      const prev = this.states.get(name) ?? initialState(name);
      const next = advance(prev, result, this.config, outcome.finishedAt);
      this.states.set(name, next);
      this.memory.record(result, outcome.finishedAt, next.reported);
      if (next.reported !== prev.reported && next.reported !== 'unknown') {
        changes.push({ check: name, from: prev.reported, to: next.reported, result });
      }
    }
    this.facts = { ...this.facts, ...outcome.facts };
    this.cycles += 1;
    return changes;
  }

  /** The last cycles and changes, for /diagnose and the status page; lost on restart. */
  history(): HistoryView {
    return this.memory.view();
  }

  /** Entries the memory holds now (bounded by S3_HEALTH_HISTORY_CYCLES and RECENT_CHANGES). */
  historyCounts(): { cycles: number; changes: number } {
    return this.memory.counts();
  }

  state(name: CheckName): CheckState | undefined {
    return this.states.get(name);
  }

  snapshot(now: number = Date.now()): Snapshot {
    const checks = [...this.states.values()].map((state) => ({
      name: state.check,
      verdict: verdictOf(state, now, this.config),
      state,
    }));
    return {
      status: worst(checks.map((c) => c.verdict.status)),
      checks,
      facts: this.facts,
      cycles: this.cycles,
    };
  }
}
