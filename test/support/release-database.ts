import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freshDatabase, type FreshDatabase } from './databases.ts';
import { openSqliteDatabase } from '../../src/store/sqlite/sqlite-database.ts';
import { migrations } from '../../src/store/migrations.ts';
import type { Dialect, SqlDatabase, SqlValue } from '../../src/store/sql.ts';

/**
 * A database an earlier release wrote, for the upgrade tests: on SQLite the fixture file itself,
 * copied; on PostgreSQL a database built by the release's migrations (those up to
 * `lastVersion`) holding the fixture's rows of `tables`.
 */
export type ReleaseDatabase = { db: SqlDatabase; drop(): Promise<void> };

export function releaseOnSqlite(fixture: string): ReleaseDatabase {
  const dir = mkdtempSync(join(tmpdir(), 'tally-upgrade-'));
  copyFileSync(fixture, join(dir, 'tally.db'));
  const db = openSqliteDatabase(join(dir, 'tally.db'));
  return { db, async drop() { await db.close(); rmSync(dir, { recursive: true, force: true }); } };
}

export async function releaseOnPostgres(fixture: string, lastVersion: number, tables: readonly string[]): Promise<FreshDatabase> {
  const target = await freshDatabase('postgres');
  const source = openSqliteDatabase(fixture);
  try {
    await target.db.transaction(async (c) => {
      await c.run(`CREATE TABLE schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)`);
      for (const m of migrations.filter((m) => m.version <= lastVersion)) {
        for (const statement of m.byDialect?.postgres ?? m.statements) await c.run(statement);
        await c.run(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`, [m.version, m.name, 0]);
      }
      for (const table of tables) {
        for (const row of await source.query(`SELECT * FROM ${table}`)) {
          const columns = Object.keys(row);
          await c.run(`INSERT INTO ${table} (${columns.join(',')}) VALUES (${columns.map(() => '?').join(',')})`, columns.map((k) => row[k] as SqlValue));
        }
      }
    });
  } finally {
    await source.close();
  }
  return target;
}

/** The tables of a fixture file (its rows are what a release wrote), migrations' own table aside. */
export async function fixtureTables(fixture: string): Promise<string[]> {
  const source = openSqliteDatabase(fixture);
  try {
    const rows = await source.query(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> 'schema_migrations' ORDER BY name`);
    return rows.map((r) => r.name as string);
  } finally {
    await source.close();
  }
}

/** `releaseOnSqlite` or `releaseOnPostgres` with every table of the fixture, by dialect. */
export async function releaseOn(dialect: Dialect, fixture: string, lastVersion: number): Promise<ReleaseDatabase> {
  return dialect === 'sqlite' ? releaseOnSqlite(fixture) : releaseOnPostgres(fixture, lastVersion, await fixtureTables(fixture));
}

/** The tables an upgrade must keep every row of, as a release of migration 57 or later has them. */
export const historyTables = ['customers', 'grants', 'accounts', 'ledger_transactions', 'ledger_entries', 'usage_events', 'meter_totals', 'holds',
  'domain_events', 'subscriptions', 'subscription_periods', 'invoices', 'invoice_lines', 'payments', 'refunds', 'overage_hours', 'overage_days'];

/** The number of rows of each of `tables`. */
export async function rowCounts(db: SqlDatabase, tables: readonly string[] = historyTables): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const table of tables) out[table] = Number((await db.query<{ n: bigint }>(`SELECT COUNT(*) AS n FROM ${table}`))[0]!.n);
  return out;
}
