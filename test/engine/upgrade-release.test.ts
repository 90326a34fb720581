import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { dialects, freshDatabase, type FreshDatabase } from '../support/databases.ts';
import { must } from '../support/engine.ts';
import { openSqliteDatabase } from '../../src/store/sqlite/sqlite-database.ts';
import { migrations } from '../../src/store/migrations.ts';
import type { SqlDatabase, SqlValue } from '../../src/store/sql.ts';
import { createEngine } from '../../src/engine/create-engine.ts';
import { reconcile } from '../../src/engine/reconcile.ts';
import { ingestEvents } from '../../src/engine/ingest-events.ts';
import { advanceTestClock } from '../../src/engine/test-clocks.ts';
import { explainEvent } from '../../src/engine/explain-event.ts';

/**
 * A database written by the release whose schema ends at migration 5 (test/fixtures/
 * release-0.1.0.db, made by scripts/make-release-fixture.ts from that release's own use cases)
 * is upgraded in place: history intact, reconciliation and the ledger check clean, and the
 * engine goes on from where it was (ingest, renewals). On PostgreSQL the same rows are loaded
 * into a database built by the release's migrations (1–5) before upgrading.
 */
const fixture = fileURLToPath(new URL('../fixtures/release-0.1.0.db', import.meta.url));
const historyTables = ['customers', 'grants', 'accounts', 'ledger_transactions', 'ledger_entries', 'usage_events', 'meter_totals', 'holds',
  'domain_events', 'subscriptions', 'subscription_periods', 'invoices', 'invoice_lines', 'payments', 'refunds'];
const copiedTables = ['test_clocks', 'customers', 'meters', 'grants', 'accounts', 'ledger_transactions', 'ledger_entries', 'usage_events',
  'meter_totals', 'meter_unique_values', 'holds', 'domain_events', 'api_keys', 'idempotency_keys', 'plans', 'subscriptions',
  'subscription_phases', 'subscription_periods', 'invoices', 'invoice_lines', 'payments', 'refunds'];

async function counts(db: SqlDatabase): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const table of historyTables) out[table] = Number((await db.query<{ n: bigint }>(`SELECT COUNT(*) AS n FROM ${table}`))[0]!.n);
  return out;
}

/** The release's database on SQLite: the fixture file itself, copied. */
function releaseOnSqlite(): { db: SqlDatabase; drop(): Promise<void> } {
  const dir = mkdtempSync(join(tmpdir(), 'tally-upgrade-'));
  copyFileSync(fixture, join(dir, 'tally.db'));
  const db = openSqliteDatabase(join(dir, 'tally.db'));
  return { db, async drop() { await db.close(); rmSync(dir, { recursive: true, force: true }); } };
}

/** The release's database on PostgreSQL: its migrations (1–5), then the fixture's rows. */
async function releaseOnPostgres(): Promise<FreshDatabase> {
  const target = await freshDatabase('postgres');
  const source = openSqliteDatabase(fixture);
  try {
    await target.db.transaction(async (c) => {
      await c.run(`CREATE TABLE schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)`);
      for (const m of migrations.filter((m) => m.version <= 5)) {
        for (const statement of m.statements) await c.run(statement);
        await c.run(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`, [m.version, m.name, 0]);
      }
      for (const table of copiedTables) {
        const rows = await source.query(`SELECT * FROM ${table}`);
        for (const row of rows) {
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

describe.each(dialects)('upgrading a database the release wrote, on %s', (dialect) => {
  const opened: { drop(): Promise<void> }[] = [];
  afterAll(async () => {
    for (const d of opened) await d.drop();
  });

  it('keeps its history, reconciles clean, and goes on ingesting and renewing', { timeout: 60_000 }, async () => {
    const release = dialect === 'sqlite' ? releaseOnSqlite() : await releaseOnPostgres();
    opened.push(release);
    const before = await counts(release.db);
    expect((await release.db.query(`SELECT version FROM schema_migrations ORDER BY version`)).map((r) => Number(r.version))).toEqual([1, 2, 3, 4, 5]);
    expect(before.usage_events).toBeGreaterThan(20);
    const oldRecorded = Number((await release.db.query<{ n: bigint }>(`SELECT COUNT(*) AS n FROM domain_events WHERE type = 'usage.recorded'`))[0]!.n);
    expect(oldRecorded).toBeGreaterThan(0);

    const engine = await createEngine(release.db);
    const versions = (await release.db.query(`SELECT version FROM schema_migrations ORDER BY version`)).map((r) => Number(r.version));
    expect(versions).toEqual(migrations.map((m) => m.version));
    // History intact: every row the release wrote is still there, the old domain events too.
    expect(await counts(release.db)).toEqual(before);
    expect(must(await reconcile(engine)).discrepancies).toEqual([]);
    expect(await engine.store.read.ledger.unbalancedTransactions()).toEqual([]);
    expect(await engine.store.read.ledger.balanceDiscrepancies()).toEqual([]);
    // The account index is rebuilt without the consumption entries (migration 12), and the read
    // paths that use it still find a grant's entries, old ones included.
    const indexSql = dialect === 'sqlite'
      ? `SELECT sql AS definition FROM sqlite_master WHERE name = 'ledger_entries_account'`
      : `SELECT indexdef AS definition FROM pg_indexes WHERE indexname = 'ledger_entries_account'`;
    expect(String((await release.db.query(indexSql))[0]!.definition)).toMatch(/consumed:%/);

    // An old charge still walks to its cause and back.
    const explained = must(await explainEvent(engine, 'rel-ev-1'));
    expect(explained.event.txnId).not.toBeNull();
    const [charge] = await engine.store.read.ledger.transactionsForCause('rel-ev-1');
    expect(charge).toMatchObject({ id: explained.event.txnId, kind: 'usage', causeId: 'rel-ev-1' });

    // The engine goes on: a repeat of an old event is a duplicate, a new one is charged, and the
    // clock renews the subscriptions the release started.
    const customer = (await engine.store.read.customers.find('release-clock-0'))!;
    const results = await ingestEvents(engine, [
      { id: 'rel-ev-1', customer: customer.id, type: 'llm', properties: { tokens: 500 } },
      { id: 'after-upgrade-1', customer: customer.id, type: 'llm', properties: { tokens: 700 } },
    ]);
    expect(results.map((r) => r.status)).toEqual(['duplicate', 'accepted']);
    const advanced = must(await advanceTestClock(engine, customer.testClockId!, { frozen_time: '2026-03-02T00:00:00Z' }));
    expect(advanced.ran).toBeGreaterThanOrEqual(3);
    const periods = await engine.store.read.billing.periods((await engine.store.read.billing.subscriptionsOf([customer.id]))[0]!.id);
    expect(periods.map((p) => p.periodIndex)).toEqual([0, 1, 2]);
    expect(must(await reconcile(engine)).discrepancies).toEqual([]);
  });
});
