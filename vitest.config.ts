import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['test/system/**', 'test/fleet/**', 'node_modules/**'],
    setupFiles: ['test/setup/network-guard.ts'],
    globalSetup: ['test/setup/radosgw-global.ts'],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 60_000,
    reporters: ['default'],
  },
});
