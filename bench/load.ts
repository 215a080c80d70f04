// Load generator, run as its own process so autocannon's CPU never shares
// an event loop with the ground's emulators or with the server under test.
// argv[2]: JSON LoadSpec; prints one JSON LoadResult line.
import { createRequire } from 'node:module';

export interface LoadSpec {
  url: string;
  connections: number;
  durationSeconds: number;
  /** requests per second over all connections; 0 = as fast as the server answers */
  overallRate: number;
}

export interface LoadResult {
  url: string;
  connections: number;
  durationSeconds: number;
  overallRate: number;
  requestsPerSecond: number;
  totalRequests: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number; mean: number };
  statusCodes: Record<string, number>;
  errors: number;
  timeouts: number;
}

interface Histogram {
  average: number;
  mean: number;
  max: number;
  total: number;
  p50: number;
  p90: number;
  p99: number;
}

interface AutocannonResult {
  requests: Histogram;
  latency: Histogram;
  errors: number;
  timeouts: number;
  statusCodeStats: Record<string, { count: number }>;
}

type Autocannon = (opts: Record<string, unknown>) => Promise<AutocannonResult>;

// autocannon ships no type declarations; its result is narrowed to the fields used.
const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;

export async function runLoad(spec: LoadSpec): Promise<LoadResult> {
  const r = await autocannon({
    url: spec.url,
    connections: spec.connections,
    duration: spec.durationSeconds,
    // At a fixed rate autocannon would otherwise pad slow answers with synthetic samples
    // spaced ceil(1 / per-connection rate) = 1 ms apart, inflating every percentile.
    ...(spec.overallRate > 0
      ? { overallRate: spec.overallRate, ignoreCoordinatedOmission: true }
      : {}),
    timeout: 5,
  });
  const statusCodes: Record<string, number> = {};
  for (const [code, s] of Object.entries(r.statusCodeStats ?? {})) statusCodes[code] = s.count;
  return {
    ...spec,
    requestsPerSecond: r.requests.average,
    totalRequests: r.requests.total,
    latencyMs: {
      p50: r.latency.p50,
      p90: r.latency.p90,
      p99: r.latency.p99,
      max: r.latency.max,
      mean: r.latency.mean,
    },
    statusCodes,
    errors: r.errors,
    timeouts: r.timeouts,
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const spec = JSON.parse(process.argv[2] ?? '{}') as LoadSpec;
  const result = await runLoad(spec);
  process.stdout.write(`${JSON.stringify(result)}\n`);
}
