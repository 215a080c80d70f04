import { readdirSync } from 'node:fs';
import { Counter, Gauge, type Registry } from 'prom-client';

/**
 * A named handful of process series instead of prom-client's ~30 default
 * families (over 300 series with GC and heap-space histograms), each answering
 * one question about a sidecar on a host, under the standard names that
 * dashboards for any Node or Go process already use:
 *
 * - process_cpu_seconds_total: what it costs the host in CPU;
 * - process_resident_memory_bytes: what it costs in memory, against a limit;
 * - process_start_time_seconds: restarts (`changes()`), crash loops;
 * - process_open_fds: leaked sockets (Linux, where /proc/self/fd exists);
 * - nodejs_heap_size_used_bytes: a leak in JavaScript objects;
 * - nodejs_external_memory_bytes: a leak in Buffers (SDK bodies, sockets).
 *
 * Left out: per-space heap sizes and GC histograms (tuning detail, 40+ series),
 * the event-loop delay monitor (a timer that was most of an idle sidecar's
 * CPU; /healthz latency is measured from outside by whoever probes it),
 * active handles and requests by type, and version info (s3_health_build_info
 * carries the Node version). All are read when the exposition is rendered.
 */
export const PROCESS_SERIES = [
  'process_cpu_seconds_total',
  'process_resident_memory_bytes',
  'process_start_time_seconds',
  'process_open_fds',
  'nodejs_heap_size_used_bytes',
  'nodejs_external_memory_bytes',
] as const;

export function registerProcessMetrics(registry: Registry): void {
  const registers = [registry];
  let cpuSeen = 0;
  new Counter({
    name: 'process_cpu_seconds_total',
    help: 'Total user and system CPU time spent in seconds.',
    registers,
    collect() {
      const { user, system } = process.cpuUsage();
      const total = (user + system) / 1e6;
      if (total > cpuSeen) this.inc(total - cpuSeen);
      cpuSeen = Math.max(cpuSeen, total);
    },
  });
  new Gauge({
    name: 'process_resident_memory_bytes',
    help: 'Resident memory size in bytes.',
    registers,
    collect() {
      this.set(process.memoryUsage.rss());
    },
  });
  new Gauge({
    name: 'process_start_time_seconds',
    help: 'Start time of the process since unix epoch in seconds.',
    registers,
  }).set(Math.round(Date.now() / 1000 - process.uptime()));
  if (openFds() !== undefined) {
    new Gauge({
      name: 'process_open_fds',
      help: 'Number of open file descriptors.',
      registers,
      collect() {
        this.set(openFds() ?? 0);
      },
    });
  }
  new Gauge({
    name: 'nodejs_heap_size_used_bytes',
    help: 'Process heap size used from Node.js in bytes.',
    registers,
    collect() {
      this.set(process.memoryUsage().heapUsed);
    },
  });
  new Gauge({
    name: 'nodejs_external_memory_bytes',
    help: 'Node.js external memory size in bytes.',
    registers,
    collect() {
      this.set(process.memoryUsage().external);
    },
  });
}

function openFds(): number | undefined {
  try {
    // The directory handle readdir opens is one of the entries.
    return readdirSync('/proc/self/fd').length - 1;
  } catch {
    return undefined;
  }
}
