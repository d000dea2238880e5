import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/integration/**/*.test.ts'],
    environment: 'node',
    // Two files at a time. Each starts its own Unleash server and service processes on free ports and creates
    // databases of its own on the one PostgreSQL, so none shares state with another; most of a file's time is
    // waiting (flag refreshes, outages, restarts), which two can share. More at once would load a small machine
    // enough to stretch the waits some cases bound.
    fileParallelism: true,
    maxWorkers: 2,
    testTimeout: 120_000,
    hookTimeout: 180_000,
    globalSetup: ['test/integration/support/global-setup.ts'],
  },
});
