import type { SqlDatabase } from '../src/store/sql.ts';

/**
 * Wall time per SQL statement (by its first words) and per COMMIT on a SQLite database opened by
 * the production adapter, for `ingest-profile.ts`. It wraps the adapter's private methods, so it
 * is a measuring aid only: nothing outside bench/ may use it.
 */
export function timeStatements(db: SqlDatabase): () => string[] {
  const times = new Map<string, number>();
  const add = (key: string, ms: number): void => void times.set(key, (times.get(key) ?? 0) + ms);
  const target = db as unknown as Record<string, unknown> & { commit: { run(): unknown } };
  for (const method of ['runNow', 'queryNow']) {
    const original = target[method] as (sql: string, ...rest: unknown[]) => unknown;
    target[method] = function (this: unknown, sql: string, ...rest: unknown[]): unknown {
      const started = performance.now();
      try {
        return original.call(this, sql, ...rest);
      } finally {
        add(sql.replace(/\s+/g, ' ').slice(0, 60), performance.now() - started);
      }
    };
  }
  const commit = target.commit;
  const run = commit.run.bind(commit);
  commit.run = () => {
    const started = performance.now();
    try {
      return run();
    } finally {
      add('COMMIT', performance.now() - started);
    }
  };
  return () => [...times].sort((a, b) => b[1] - a[1]).map(([sql, ms]) => `${ms.toFixed(0).padStart(7)} ms  ${sql}`);
}
