import type { TestProject } from 'vitest/node';
import { startPostgres } from './postgres-server.ts';

/**
 * Starts one throwaway PostgreSQL server for the whole test run; each test file creates its own
 * databases on it (see databases.ts). `TALLY_TEST_SKIP_POSTGRES=1` runs the SQLite side only.
 * Otherwise a server that cannot start fails the run: CI must exercise both dialects.
 */
declare module 'vitest' {
  export interface ProvidedContext {
    /** A superuser URL of the shared test server, or '' when PostgreSQL tests are skipped. */
    postgresUrl: string;
  }
}

export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  if (process.env.TALLY_TEST_SKIP_POSTGRES === '1') {
    project.provide('postgresUrl', '');
    process.env.TALLY_TEST_POSTGRES_URL = '';
    return undefined;
  }
  const server = await startPostgres();
  project.provide('postgresUrl', server.url);
  process.env.TALLY_TEST_POSTGRES_URL = server.url;
  return async () => {
    await server.stop();
  };
}
