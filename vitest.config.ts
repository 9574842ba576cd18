import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/unit/**/*.test.ts', 'test/integration/**/*.test.ts', 'test/e2e/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    benchmark: { include: ['test/bench/**/*.bench.ts'] },
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Integration suites open ptys, loop devices and child processes: two cores, so two forks.
    pool: 'forks',
    maxWorkers: 2,
  },
});
