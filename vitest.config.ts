import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/unit/**/*.test.ts', 'test/component/**/*.test.ts', 'scripts/**/*.test.ts'],
    environment: 'node',
    testTimeout: 20_000,
    hookTimeout: 20_000,
    // A worker per core and at least two, not vitest's default of one fewer than the cores: many files spend much
    // of their time waiting (leases, retries, a service's start-up) rather than computing, and on two cores the
    // default runs them one at a time.
    maxWorkers: Math.max(availableParallelism(), 2),
  },
});
