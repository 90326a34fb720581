import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts', 'packages/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    // Hang guards, not speed checks: a loaded 2-core CI machine may run a test several times slower.
    testTimeout: 120_000,
    hookTimeout: 180_000,
    pool: 'forks',
    // Every batch that ingests from the hot state also reads the database and compares (engine/hot-state.ts).
    env: { TALLY_CHECK_HOT_STATE: '1' },
  },
});
