import { defineConfig } from 'vitest/config';

// The system tier (root: network namespaces, iptables, radosgw). Each test file
// starts its own peers, so there is no radosgw global setup. The network guard
// only patches this test process; the processes it starts inside namespaces
// are kept off the real metadata address by the namespaces themselves.
export default defineConfig({
  test: {
    include: ['test/system/**/*.test.ts'],
    setupFiles: ['test/setup/network-guard.ts'],
    pool: 'forks',
    maxWorkers: 1,
    fileParallelism: false,
    testTimeout: 180_000,
    hookTimeout: 300_000,
    reporters: ['default'],
  },
});
