import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Integration suites start real servers on loopback ports; two cores cannot run many at once.
    maxWorkers: 2,
  },
});
