import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts', 'packages/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    // Hang guards, not speed checks: a loaded 2-core CI machine may run a test several times slower.
    testTimeout: 120_000,
    hookTimeout: 180_000,
    pool: 'forks',
    // Vitest's default is a fork fewer than the cores: one on a 2-core machine, where the files
    // then ran one after another, idle while a test waited on a sync, a child process, PostgreSQL
    // or Chromium (610 s of wall time for 459 s of tests). Two forks on 2 cores: 340 s.
    maxWorkers: Math.max(2, availableParallelism() - 1),
    // Every batch that ingests from the hot state also reads the database and compares (engine/hot-state.ts).
    env: { TALLY_CHECK_HOT_STATE: '1' },
  },
});
