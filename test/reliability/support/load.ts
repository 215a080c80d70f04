// Concurrent load on the health endpoints while a fault is on (autocannon),
// plus a /livez poller that records every answer that was not a quick 200.
import { createRequire } from 'node:module';
import { getText } from './http.ts';

interface Histogram {
  p50: number;
  p99: number;
  max: number;
}

interface AutocannonResult {
  latency: Histogram;
  errors: number;
  timeouts: number;
  non2xx: number;
  statusCodeStats: Record<string, { count: number }>;
}

type Autocannon = (opts: {
  url: string;
  connections: number;
  duration: number;
  overallRate?: number;
  timeout?: number;
}) => Promise<AutocannonResult>;

// autocannon ships no types; this is the slice of its API used here.
const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;

export interface LoadResult {
  p50: number;
  p99: number;
  max: number;
  answered: number;
  errors: number;
  timeouts: number;
  byStatus: Record<string, number>;
}

/**
 * A steady, realistic load (a rate, not a flood: on 2 cores a flood would
 * starve the prober under test and measure the machine, not the sidecar).
 */
export async function load(
  url: string,
  seconds: number,
  opts: { connections?: number; rate?: number } = {},
): Promise<LoadResult> {
  const r = await autocannon({
    url,
    connections: opts.connections ?? 4,
    duration: seconds,
    overallRate: opts.rate ?? 100,
    timeout: 2,
  });
  const byStatus: Record<string, number> = {};
  let answered = 0;
  for (const [code, s] of Object.entries(r.statusCodeStats ?? {})) {
    byStatus[code] = Number(s.count);
    answered += Number(s.count);
  }
  return {
    p50: r.latency.p50,
    p99: r.latency.p99,
    max: r.latency.max,
    answered,
    errors: r.errors,
    timeouts: r.timeouts,
    byStatus,
  };
}

export interface LivenessWatch {
  /** answers that were not 200 within the poll's deadline */
  misses(): string[];
  polls(): number;
  stop(): Promise<void>;
}

/** Polls /livez every `everyMs` on a fresh connection until stopped. */
export function watchLiveness(base: string, everyMs = 100, deadlineMs = 2000): LivenessWatch {
  const misses: string[] = [];
  let polls = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      polls++;
      try {
        const a = await getText(`${base}/livez`, deadlineMs);
        if (a.status !== 200) misses.push(`status ${a.status}`);
      } catch (e) {
        misses.push(e instanceof Error ? e.message : String(e));
      }
      await new Promise((r) => setTimeout(r, everyMs));
    }
  })();
  return {
    misses: () => [...misses],
    polls: () => polls,
    async stop() {
      running = false;
      await loop;
    },
  };
}
