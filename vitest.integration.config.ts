import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/integration/**/*.test.ts'],
    environment: 'node',
    // Two files at a time. No file shares state with another: each that needs them starts Unleash servers and
    // service processes of its own on free ports and creates databases of its own on the one PostgreSQL. Most of
    // a file's time is waiting (flag refreshes, outages, restarts), which two can share; more at once would load a
    // small machine enough to stretch the waits some cases bound. `npm run test:integration` runs the CLI's file
    // alone after the rest: beside another file its "sent twice" case did not reach its pairs within its 90 s.
    fileParallelism: true,
    maxWorkers: 2,
    testTimeout: 120_000,
    hookTimeout: 180_000,
    globalSetup: ['test/integration/support/global-setup.ts'],
  },
});
