import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { dialects } from '../support/databases.ts';
import { releaseOnPostgres, releaseOnSqlite, rowCounts } from '../support/release-database.ts';
import { must } from '../support/engine.ts';
import { openSqliteDatabase } from '../../src/store/sqlite/sqlite-database.ts';
import { migrations } from '../../src/store/migrations.ts';
import type { SqlDatabase } from '../../src/store/sql.ts';
import { createEngine } from '../../src/engine/create-engine.ts';
import { reconcile } from '../../src/engine/reconcile.ts';
import { ingestEvents } from '../../src/engine/ingest-events.ts';
import { advanceTestClock } from '../../src/engine/test-clocks.ts';
import { explainEvent } from '../../src/engine/explain-event.ts';
import { idTimeOf, usageIdTime } from '../../src/core/id-time.ts';

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


describe.each(dialects)('upgrading a database the release wrote, on %s', (dialect) => {
  const opened: { drop(): Promise<void> }[] = [];
  afterAll(async () => {
    for (const d of opened) await d.drop();
  });

  it('keeps its history, reconciles clean, and goes on ingesting and renewing', { timeout: 60_000 }, async () => {
    const release = dialect === 'sqlite' ? releaseOnSqlite(fixture) : await releaseOnPostgres(fixture, 5, copiedTables);
    opened.push(release);
    const before = await rowCounts(release.db, historyTables);
    expect((await release.db.query(`SELECT version FROM schema_migrations ORDER BY version`)).map((r) => Number(r.version))).toEqual([1, 2, 3, 4, 5]);
    expect(before.usage_events).toBeGreaterThan(20);
    const oldRecorded = Number((await release.db.query<{ n: bigint }>(`SELECT COUNT(*) AS n FROM domain_events WHERE type = 'usage.recorded'`))[0]!.n);
    expect(oldRecorded).toBeGreaterThan(0);

    const balanceRows = async () => ({
      accounts: await release.db.query(`SELECT customer_id, code, balance FROM accounts ORDER BY customer_id, code`),
      totals: await release.db.query(`SELECT customer_id, meter_id, period_start, quantity, credits FROM meter_totals ORDER BY customer_id, meter_id, period_start`),
      values: await release.db.query(`SELECT customer_id, meter_id, period_start, value FROM meter_unique_values ORDER BY customer_id, meter_id, period_start, value`),
    });
    const balancesBefore = await balanceRows();
    expect(balancesBefore.accounts.length).toBeGreaterThan(20);
    expect(balancesBefore.totals.length).toBeGreaterThan(0);

    const engine = await createEngine(release.db);
    const versions = (await release.db.query(`SELECT version FROM schema_migrations ORDER BY version`)).map((r) => Number(r.version));
    expect(versions).toEqual(migrations.map((m) => m.version));
    // History intact: every row the release wrote is still there, the old domain events too.
    expect(await rowCounts(release.db, historyTables)).toEqual(before);
    expect(must(await reconcile(engine)).discrepancies).toEqual([]);
    expect(await engine.store.read.ledger.unbalancedTransactions()).toEqual([]);
    expect(await engine.store.read.ledger.balanceDiscrepancies()).toEqual([]);
    // The account index is rebuilt without the consumption entries (migration 12), and the read
    // paths that use it still find a grant's entries, old ones included.
    const indexSql = dialect === 'sqlite'
      ? `SELECT sql AS definition FROM sqlite_master WHERE name = 'ledger_entries_account'`
      : `SELECT indexdef AS definition FROM pg_indexes WHERE indexname = 'ledger_entries_account'`;
    expect(String((await release.db.query(indexSql))[0]!.definition)).toMatch(/consumed:%/);
    // Migration 55 leaves every entry the release wrote in the index (a usage charge's grant
    // entries written from now on are not), and the checks above read both kinds.
    expect(String((await release.db.query(indexSql))[0]!.definition)).toMatch(/account_indexed = 1/);
    expect(Number((await release.db.query<{ n: bigint }>(`SELECT COUNT(*) AS n FROM ledger_entries WHERE account_indexed <> 1`))[0]!.n)).toBe(0);
    // Migration 56 leaves every transaction the release wrote in the time index (their ids have
    // the time they were recorded); a usage charge written from now on is found by id instead.
    const timeIndexSql = dialect === 'sqlite'
      ? `SELECT sql AS definition FROM sqlite_master WHERE name = 'ledger_transactions_effective'`
      : `SELECT indexdef AS definition FROM pg_indexes WHERE indexname = 'ledger_transactions_effective'`;
    expect(String((await release.db.query(timeIndexSql))[0]!.definition)).toMatch(/effective_indexed = 1/);
    expect(Number((await release.db.query<{ n: bigint }>(`SELECT COUNT(*) AS n FROM ledger_transactions WHERE effective_indexed <> 1`))[0]!.n)).toBe(0);
    // Migration 57 rebuilds the balances and running totals on SQLite as tables ordered by their
    // key, every row copied as it was (and the balance check above compares each stored balance
    // with the sum of its entries).
    expect(await balanceRows()).toEqual(balancesBefore);
    if (dialect === 'sqlite') {
      const clustered = await release.db.query<{ name: string; sql: string }>(
        `SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name IN ('accounts', 'meter_totals', 'meter_unique_values', 'overage_hours', 'overage_days') ORDER BY name`);
      expect(clustered.map((t) => [t.name, /WITHOUT ROWID$/.test(t.sql)])).toEqual(
        [['accounts', true], ['meter_totals', true], ['meter_unique_values', true], ['overage_days', true], ['overage_hours', true]]);
      // Its one index, of the customers in debt, went with migration 66.
      expect((await release.db.query(`SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'accounts' AND sql IS NOT NULL`)).map((r) => r.name)).toEqual([]);
    }

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
    // The new charge is posted on its event's row (migration 58): no rows in the ledger's tables,
    // its entries on the event, its id carrying its event's minute; the old charges stay where they were.
    const [fresh] = await engine.store.read.ledger.transactionsForCause('after-upgrade-1');
    expect(fresh).toMatchObject({ kind: 'usage', causeType: 'usage_event', causeId: 'after-upgrade-1' });
    expect(idTimeOf(fresh!.id)).toBe(usageIdTime(fresh!.effectiveAtMs));
    expect(fresh!.entries.reduce((sum, e) => sum + e.amountMicro, 0n)).toBe(0n);
    expect(fresh!.entries.some((e) => e.account.startsWith('grant:') && e.amountMicro < 0n)).toBe(true);
    expect(Number((await release.db.query<{ n: bigint }>(`SELECT COUNT(*) AS n FROM ledger_transactions WHERE id = ?`, [fresh!.id]))[0]!.n)).toBe(0);
    const freshEvent = (await release.db.query(`SELECT txn_id, position, entries FROM usage_events WHERE id = 'after-upgrade-1'`))[0]!;
    expect([freshEvent.txn_id, freshEvent.position]).toEqual([fresh!.id, fresh!.id]);
    expect(freshEvent.entries).not.toBeNull();
    // Every event the release wrote keeps its charge in the ledger's tables; its position is that
    // charge's id, or for an event charged nothing the minute of its timestamp and its id.
    expect(Number((await release.db.query<{ n: bigint }>(
      `SELECT COUNT(*) AS n FROM usage_events WHERE id <> 'after-upgrade-1' AND (entries IS NOT NULL OR position <> COALESCE(txn_id, position))`))[0]!.n)).toBe(0);
    expect((await release.db.query(`SELECT position, id FROM usage_events WHERE txn_id IS NULL`)).every((r) => (r.position as string).endsWith(`~${r.id as string}`))).toBe(true);
    expect(must(await reconcile(engine)).discrepancies).toEqual([]);
    const advanced = must(await advanceTestClock(engine, customer.testClockId!, { frozen_time: '2026-03-02T00:00:00Z' }));
    expect(advanced.ran).toBeGreaterThanOrEqual(3);
    const periods = await engine.store.read.billing.periods((await engine.store.read.billing.subscriptionsOf([customer.id]))[0]!.id);
    expect(periods.map((p) => p.periodIndex)).toEqual([0, 1, 2]);
    expect(must(await reconcile(engine)).discrepancies).toEqual([]);
  });
});
