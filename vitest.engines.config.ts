import { defineConfig } from 'vitest/config';

/** Suites against real engines; URLs come from the environment (source .services/env). */
export default defineConfig({
  test: {
    include: ['test/real-engines/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    fileParallelism: false,
  },
});
