import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Builds the web UI once per run when its sources are newer than dist/admin-ui (browser tests serve it).
    globalSetup: ['test/helpers/build-ui.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Integration suites start real servers on loopback ports; two cores cannot run many at once.
    maxWorkers: 2,
    // Services started in tests log nothing unless a test asks (the log tests pass their own level).
    env: { LOG_LEVEL: process.env.LOG_LEVEL ?? 'silent' },
  },
});
