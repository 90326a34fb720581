import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { dialects } from '../support/databases.ts';
import { fixtureTables, releaseOn } from '../support/release-database.ts';
import { must } from '../support/engine.ts';
import type { SqlDatabase } from '../../src/store/sql.ts';
import { createEngine } from '../../src/engine/create-engine.ts';
import { checkLedger, reconcile } from '../../src/engine/reconcile.ts';
import { getBalance } from '../../src/engine/balance.ts';
import { advanceTestClock } from '../../src/engine/test-clocks.ts';

/**
 * A database written by the release whose schema ends at migration 58 (test/fixtures/
 * schema-58-void-overage.db, made by scripts/make-void-overage-fixture.ts from that release's own
 * use cases), where voided invoices had billed overage: that release left the overage postings of
 * a void invoice in place, so one customer's voided overage was no longer owed and another's was
 * billed a second time by the next renewal. The upgrade (migration 60) gives each void line's
 * credits back, as a void does now: the first customer owes its 30 credits again and its next
 * renewal bills them once; the second owes nothing; reconciliation, which now also checks that a
 * void invoice's overage lines moved nothing in the end, is clean. On PostgreSQL the same rows are
 * loaded into a database built by migrations 1–58 before upgrading.
 */
const fixture = fileURLToPath(new URL('../fixtures/schema-58-void-overage.db', import.meta.url));

const overageOf = async (db: SqlDatabase, externalId: string): Promise<bigint> => {
  const rows = await db.query(`SELECT a.balance FROM accounts a JOIN customers c ON c.id = a.customer_id WHERE c.external_id = ? AND a.code = 'overage'`, [externalId]);
  return BigInt(rows[0]!.balance as bigint);
};

describe.each(dialects)('upgrading a database with voided overage, on %s', (dialect) => {
  const opened: { drop(): Promise<void> }[] = [];
  afterAll(async () => {
    for (const d of opened) await d.drop();
  });

  it('gives each void line its credits back once, and the next renewal bills them once', { timeout: 60_000 }, async () => {
    const release = await releaseOn(dialect, fixture, 58);
    opened.push(release);
    const db = release.db;
    expect((await db.query(`SELECT MAX(version) AS v FROM schema_migrations`)).map((r) => Number(r.v))).toEqual([58]);
    expect(await fixtureTables(fixture)).toContain('invoices');
    // As the release left them: the waiting customer's overage not owed, the other's moved out twice.
    expect(await overageOf(db, 'void-waiting')).toBe(0n);
    expect(await overageOf(db, 'void-billed-twice')).toBe(30_000_000n);
    expect(await overageOf(db, 'void-none')).toBe(0n);

    const engine = await createEngine(db);
    expect(await overageOf(db, 'void-waiting')).toBe(-30_000_000n);
    expect(await overageOf(db, 'void-billed-twice')).toBe(0n);
    expect(await overageOf(db, 'void-none')).toBe(0n);
    const given = await db.query(`SELECT t.id, t.cause_id, t.refs, t.effective_at, i.voided_at, i.status FROM ledger_transactions t JOIN invoices i ON i.id = t.cause_id
      WHERE t.kind = 'overage_invoiced' AND t.cause_type = 'invoice' ORDER BY t.id`);
    expect(given).toHaveLength(2);
    for (const t of given) {
      expect(t.status).toBe('void');
      expect(Number(t.effective_at)).toBe(Number(t.voided_at));
      expect(String(t.id)).toMatch(/^txn_[0-9A-HJKMNP-TV-Z]{26}$/);
      const line = JSON.parse(String(t.refs)).invoice_line as string;
      const entries = await db.query(`SELECT account, amount FROM ledger_entries WHERE txn_id = ? ORDER BY seq`, [t.id as string]);
      const original = await db.query(`SELECT e.account, e.amount FROM ledger_entries e JOIN ledger_transactions o ON o.id = e.txn_id
        WHERE o.cause_id = ? AND o.kind = 'overage_invoiced' ORDER BY e.seq`, [line]);
      expect(entries.map((e) => [e.account, BigInt(e.amount as bigint)])).toEqual(original.map((e) => [e.account, -BigInt(e.amount as bigint)]));
    }
    expect(await checkLedger(engine)).toEqual({ unbalanced: [], discrepancies: [] });
    expect(must(await reconcile(engine)).discrepancies).toEqual([]);
    // Running the migrations again changes nothing.
    await createEngine(db);
    expect(await db.query(`SELECT id FROM ledger_transactions WHERE kind = 'overage_invoiced' AND cause_type = 'invoice'`)).toHaveLength(2);

    // The waiting customer's next renewal bills the 30 credits of January once, at 5: 150.
    const waiting = (await engine.store.read.customers.find('void-waiting'))!;
    must(await advanceTestClock(engine, waiting.testClockId!, { frozen_time: '2026-03-01T00:00:00Z' }));
    const march = (await db.query(`SELECT id, total FROM invoices WHERE customer_id = ? AND period_start = ?`, [waiting.id, Date.parse('2026-03-01T00:00:00Z')]))[0]!;
    expect(Number(march.total)).toBe(1150);
    const lines = await db.query(`SELECT type, quantity, amount, period_start FROM invoice_lines WHERE invoice_id = ? ORDER BY id`, [march.id as string]);
    expect(lines.map((l) => [l.type, l.quantity, Number(l.amount), Number(l.period_start)])).toEqual([
      ['subscription_fee', '1', 1000, Date.parse('2026-03-01T00:00:00Z')], ['overage', '30', 150, Date.parse('2026-01-01T00:00:00Z')],
    ]);
    expect(must(await getBalance(engine, waiting.id)).balance.overageMicro).toBe(0n);
    expect(await checkLedger(engine)).toEqual({ unbalanced: [], discrepancies: [] });
    expect(must(await reconcile(engine)).discrepancies).toEqual([]);
  });
});
