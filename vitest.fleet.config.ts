import { defineConfig } from 'vitest/config';

// The fleet tier (issue 15): N sidecar processes, a real Prometheus and a real
// Alertmanager on loopback. One file, one fleet; its own radosgw, so no global
// setup. CI runs it at a small size (FLEET_SIZE, default 6); `npm run fleet`
// runs the same scenarios at 50 and writes bench/fleet-results.md.
export default defineConfig({
  test: {
    include: ['test/fleet/**/*.test.ts'],
    setupFiles: ['test/setup/network-guard.ts'],
    pool: 'forks',
    maxWorkers: 1,
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 900_000,
    reporters: ['default'],
  },
});
