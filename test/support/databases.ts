import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { inject } from 'vitest';
import type { Dialect, SqlDatabase } from '../../src/store/sql.ts';
import { openPostgresDatabase } from '../../src/store/postgres/postgres-database.ts';
import { openSqliteDatabase } from '../../src/store/sqlite/sqlite-database.ts';

/**
 * The per-dialect test loop: every store, engine and HTTP test runs once per entry, each test on
 * a database of its own. PostgreSQL is included when the global setup started a server.
 */
const postgresUrl: string = inject('postgresUrl') ?? process.env.TALLY_TEST_POSTGRES_URL ?? '';

export const dialects: Array<Dialect> = postgresUrl === '' ? ['sqlite'] : ['sqlite', 'postgres'];

export interface FreshDatabase {
  db: SqlDatabase;
  /** The `TALLY_DATABASE_URL` form of this database: `sqlite:<path>` or `postgres://…/<name>`. */
  url: string;
  /** Closes `db` and deletes the database. */
  drop(): Promise<void>;
}

/** How a fresh database is opened; `sqliteWriterThread` turns SQLite's writer thread on (off by default, as in `tally serve`). */
export interface FreshDatabaseOptions {
  sqliteWriterThread?: boolean;
}

export async function freshDatabase(dialect: Dialect, options: FreshDatabaseOptions = {}): Promise<FreshDatabase> {
  return dialect === 'sqlite' ? freshSqlite(options) : freshPostgres();
}

function freshSqlite(options: FreshDatabaseOptions): FreshDatabase {
  const dir = mkdtempSync(join(tmpdir(), 'tally-sqlite-'));
  const path = join(dir, 'tally.db');
  const db = openSqliteDatabase(path, { writerThread: options.sqliteWriterThread === true });
  return {
    db,
    url: `sqlite:${path}`,
    async drop() {
      await db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function freshPostgres(): Promise<FreshDatabase> {
  if (postgresUrl === '') throw new Error('No PostgreSQL test server: TALLY_TEST_SKIP_POSTGRES is set.');
  const name = `tally_test_${randomBytes(8).toString('hex')}`;
  await administer(`CREATE DATABASE ${name}`);
  const url = new URL(postgresUrl);
  url.pathname = `/${name}`;
  let db: SqlDatabase;
  try {
    db = await openPostgresDatabase(url.toString());
  } catch (error) {
    await administer(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    throw error;
  }
  return {
    db,
    url: url.toString(),
    async drop() {
      await db.close();
      await administer(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    },
  };
}

/** Runs one statement on the server's maintenance database; CREATE/DROP DATABASE cannot share a transaction. */
async function administer(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: postgresUrl });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}
