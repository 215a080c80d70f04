// What one look at a running sidecar yields: cycle count and heap from its
// own /metrics, RSS and CPU from /proc, and the AWS requests its lane saw.
import { getText, metricValue } from './http.ts';
import type { Lane, Sidecar } from './lane.ts';
import { cpuSeconds, ioCounters, rssBytes } from './procs.ts';

export interface Sample {
  /** ms since the sampling started */
  t: number;
  cycles: number;
  heapUsed: number;
  rss: number;
  cpu: number;
}

/** Cycles = runs of the `environment` check, which runs first in every cycle. */
export async function sample(s: Sidecar, t0: number): Promise<Sample> {
  const m = (await getText(`${s.url}/metrics`, 5000)).body;
  return {
    t: performance.now() - t0,
    cycles: metricValue(m, 's3_health_cycles_total') ?? 0,
    heapUsed: metricValue(m, 'nodejs_heap_size_used_bytes') ?? Number.NaN,
    rss: rssBytes(s.proc.pid),
    cpu: cpuSeconds(s.proc.pid),
  };
}

export async function failuresByReason(s: Sidecar): Promise<Record<string, number>> {
  const m = (await getText(`${s.url}/metrics`, 5000)).body;
  const out: Record<string, number> = {};
  for (const line of m.split('\n')) {
    const hit = /^s3_health_check_failures_total\{check="([^"]+)",reason="([^"]+)"\} (\d+)/.exec(
      line,
    );
    if (hit) out[`${hit[1]}:${hit[2]}`] = Number(hit[3]);
  }
  return out;
}

/** Requests and bytes over a window, from the lane's emulators and proxy and /proc. */
export interface Usage {
  imdsTokenPuts: number;
  imdsGets: number;
  sts: number;
  s3ByOp: Record<string, number>;
  s3Total: number;
  s3BodyBytes: number;
  s3RequestBytes: number;
  /** write-like syscalls of the sidecar: sockets, the log pipe, files */
  wchar: number;
  /** bytes the sidecar sent to storage */
  writeBytes: number;
  /** bytes the sidecar wrote to stdout/stderr (its log) */
  logBytes: number;
}

export interface UsageMark {
  read(): Usage;
}

/** Resets the lane's counters now; `read()` gives what happened since. */
export function markUsage(lane: Lane, s: Sidecar): UsageMark {
  lane.ground.imds.resetCounters();
  lane.proxy.reset();
  const sts0 = lane.ground.sts.calls();
  const io0 = ioCounters(s.proc.pid);
  const log0 = s.proc.outputBytes();
  return {
    read: () => {
      const imds = lane.ground.imds.counters();
      const s3 = lane.proxy.counts();
      const io = ioCounters(s.proc.pid);
      return {
        imdsTokenPuts: imds.tokenPuts,
        imdsGets: imds.gets,
        sts: lane.ground.sts.calls() - sts0,
        s3ByOp: s3.byOp,
        s3Total: s3.total,
        s3BodyBytes: s3.bodyBytes,
        s3RequestBytes: s3.requestBytes,
        wchar: io.wchar - io0.wchar,
        writeBytes: io.writeBytes - io0.writeBytes,
        logBytes: s.proc.outputBytes() - log0,
      };
    },
  };
}
