import type { CheckName, CheckResult, Facts, Status } from '../model/check.ts';
import type { Config } from '../model/config.ts';
import type { CheckState, Snapshot } from '../model/health.ts';
import type { CycleOutcome } from './cycle.ts';
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
  facts: Facts = {};
  cycles = 0;

  constructor(config: Config) {
    this.config = config;
    for (const c of config.checks) this.states.set(c, initialState(c));
  }

  apply(outcome: CycleOutcome): StateChange[] {
    const changes: StateChange[] = [];
    for (const [name, result] of outcome.results) {
      const prev = this.states.get(name) ?? initialState(name);
      const next = advance(prev, result, this.config, outcome.finishedAt);
      this.states.set(name, next);
      if (next.reported !== prev.reported && next.reported !== 'unknown') {
        changes.push({ check: name, from: prev.reported, to: next.reported, result });
      }
    }
    this.facts = { ...this.facts, ...outcome.facts };
    this.cycles += 1;
    return changes;
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
