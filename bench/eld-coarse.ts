// A what-if, loaded with `node --import` ahead of the sidecar: prom-client's
// event-loop-delay monitor sampling every 1000 ms instead of every 10 ms,
// i.e. what `collectDefaultMetrics({ eventLoopMonitoringPrecision: 1000 })`
// in src/metrics.ts would do. The sidecar's own code is untouched.
import perf from 'node:perf_hooks';

const original = perf.monitorEventLoopDelay;
perf.monitorEventLoopDelay = (options) => original({ ...options, resolution: 1000 });
