import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/integration/**/*.test.ts'],
    environment: 'node',
    // One file at a time. No file shares state with another (each makes the Unleash servers, service processes,
    // ports and databases it needs), but several bound how long something may take (start-up beside a flag
    // server that never answers, a frozen database, the CLI's two rounds), and with a second file beside them a
    // two-core machine stretched those past their bounds. `npm run test:integration` runs the CLI's file last,
    // alone.
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 180_000,
    globalSetup: ['test/integration/support/global-setup.ts'],
  },
});
