import os from 'node:os';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'test/**/*.test.tsx'],
    exclude: ['test/real-engines/**'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // One test file per core at least two at a time. vitest's default is a core less than the
    // machine has, one on these 2-core machines; the suites spend most of their time waiting on
    // daemons, subprocesses and terminals, and two files at once took npm test from 490 s to 315 s.
    maxWorkers: Math.max(2, os.availableParallelism()),
    reporters: ['default'],
  },
});
