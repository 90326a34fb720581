import type { SqlDatabase } from './sql.ts';
import { openSqliteDatabase } from './sqlite/sqlite-database.ts';
import { openPostgresDatabase } from './postgres/postgres-database.ts';

/**
 * Opens the database named by a `sqlite:<path>` or `postgres://…` URL (TALLY_DATABASE_URL);
 * `sqliteCacheMib` sizes SQLite's page cache (TALLY_SQLITE_CACHE_MIB), `sqliteWalCoalescing`
 * false writes SQLite's WAL frame by frame (TALLY_SQLITE_WAL_COALESCE=off), `sqliteWriterThread`
 * true has a writer thread apply ingestion's writes (TALLY_SQLITE_WRITER_THREAD=on; off by default).
 */
export async function openDatabase(
  url: string,
  options: { sqliteCacheMib?: number; sqliteWalCoalescing?: boolean; sqliteWriterThread?: boolean } = {},
): Promise<SqlDatabase> {
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) return openPostgresDatabase(url, { max: 20 });
  if (url.startsWith('sqlite:')) {
    return openSqliteDatabase(url.slice('sqlite:'.length), {
      ...(options.sqliteCacheMib === undefined ? {} : { pageCacheMib: options.sqliteCacheMib }),
      ...(options.sqliteWalCoalescing === undefined ? {} : { walCoalescing: options.sqliteWalCoalescing }),
      ...(options.sqliteWriterThread === undefined ? {} : { writerThread: options.sqliteWriterThread }),
    });
  }
  throw new Error(`TALLY_DATABASE_URL must start with sqlite: or postgres:// (got ${JSON.stringify(url)})`);
}
