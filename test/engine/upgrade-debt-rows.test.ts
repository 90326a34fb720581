import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { dialects } from '../support/databases.ts';
import { fixtureTables, releaseOn } from '../support/release-database.ts';
import { must } from '../support/engine.ts';
import { migrations } from '../../src/store/migrations.ts';
import type { SqlDatabase, SqlRow } from '../../src/store/sql.ts';
import { createEngine } from '../../src/engine/create-engine.ts';
import { checkLedger, reconcile } from '../../src/engine/reconcile.ts';
import { ingestEvents } from '../../src/engine/ingest-events.ts';
import { createGrant } from '../../src/engine/grants.ts';
import { getBalance } from '../../src/engine/balance.ts';

/**
 * A database written by the release whose schema ends at migration 51 (test/fixtures/
 * schema-51-debts.db, made by scripts/make-debt-fixture.ts from that release's own use cases),
 * holding `debt` rows paid down to zero beside debts still owed, is upgraded in place: migration
 * 52 deletes the zero rows and rebuilds the debt index (which migration 66 drops, the customers
 * that owe checked instead), every other row stays as it was, the checks are clean, and debt comes
 * and goes as the new code keeps it. On PostgreSQL the same rows
 * are loaded into a database built by migrations 1–51 before upgrading.
 */
const fixture = fileURLToPath(new URL('../fixtures/schema-51-debts.db', import.meta.url));

/**
 * Every row of a table, each as text, sorted: a comparison that does not depend on row order. With
 * `like`, rows written by `contents` before the upgrade, only their columns are read, so that a
 * column a later migration adds (with its default) does not count as a change of the row.
 */
async function contents(db: SqlDatabase, table: string, like?: readonly string[]): Promise<string[]> {
  const columns = like !== undefined && like.length > 0 ? Object.keys(JSON.parse(like[0]!) as object).join(', ') : '*';
  const rows = await db.query(`SELECT ${columns} FROM ${table}`);
  return rows.map((r) => JSON.stringify(r, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))).sort();
}

const isZeroDebt = (r: SqlRow): boolean => r.code === 'debt' && BigInt(r.balance as bigint) === 0n;

describe.each(dialects)('upgrading a database with paid-off debt rows, on %s', (dialect) => {
  const opened: { drop(): Promise<void> }[] = [];
  afterAll(async () => {
    for (const d of opened) await d.drop();
  });

  it('deletes the zero debt rows, keeps every other row, and checks clean', { timeout: 60_000 }, async () => {
    const release = await releaseOn(dialect, fixture, 51);
    opened.push(release);
    const db = release.db;
    expect((await db.query(`SELECT MAX(version) AS v FROM schema_migrations`)).map((r) => Number(r.v))).toEqual([51]);
    const tables = await fixtureTables(fixture);
    const before = new Map<string, string[]>();
    for (const table of tables) before.set(table, await contents(db, table));
    const debts = await db.query(`SELECT customer_id, code, balance FROM accounts WHERE code = 'debt'`);
    const paidOff = debts.filter(isZeroDebt).map((r) => r.customer_id as string).sort();
    const owed = debts.filter((r) => !isZeroDebt(r));
    expect(paidOff.length).toBeGreaterThan(0);
    expect(owed.length).toBeGreaterThan(0);

    const engine = await createEngine(db);
    expect((await db.query(`SELECT version FROM schema_migrations ORDER BY version`)).map((r) => Number(r.version))).toEqual(migrations.map((m) => m.version));

    // The zero rows are gone, the owed ones kept; every other row of every table is as it was (in
    // the columns it had: migration 55 adds `ledger_entries.account_indexed`, 1 for every old entry,
    // and migration 56 `ledger_transactions.effective_indexed`, 1 for every old transaction).
    const after = await db.query(`SELECT customer_id, code, balance FROM accounts WHERE code = 'debt'`);
    expect(after.filter(isZeroDebt)).toEqual([]);
    expect(await contents(db, 'accounts')).toEqual(before.get('accounts')!.filter((row) => !isZeroDebt(JSON.parse(row) as SqlRow)));
    expect(await contents(db, 'accounts')).toHaveLength(before.get('accounts')!.length - paidOff.length);
    for (const table of tables.filter((t) => t !== 'accounts')) expect(await contents(db, table, before.get(table)), table).toEqual(before.get(table));
    expect((await db.query(`SELECT DISTINCT account_indexed FROM ledger_entries`)).map((r) => Number(r.account_indexed))).toEqual([1]);
    expect((await db.query(`SELECT DISTINCT effective_indexed FROM ledger_transactions`)).map((r) => Number(r.effective_indexed))).toEqual([1]);

    // Balances read zero debt for the paid-off customers, the owed amounts for the others.
    for (const id of paidOff) expect(must(await getBalance(engine, id)).balance.debtMicro).toBe(0n);
    for (const r of owed) expect(must(await getBalance(engine, r.customer_id as string)).balance.debtMicro).toBe(-BigInt(r.balance as bigint));
    expect(await checkLedger(engine)).toEqual({ unbalanced: [], discrepancies: [] });
    expect(must(await reconcile(engine)).discrepancies).toEqual([]);
    expect(await engine.store.read.ledger.balanceDiscrepancies()).toEqual([]);

    // Migration 66: the debt index (rebuilt by migration 52) had no reader left and is gone; every
    // customer that owes is checked at once, and no paid-off one is.
    const indexSql = dialect === 'sqlite'
      ? `SELECT name FROM sqlite_master WHERE name = 'accounts_in_debt'`
      : `SELECT indexname AS name FROM pg_indexes WHERE indexname = 'accounts_in_debt'`;
    expect(await db.query(indexSql)).toEqual([]);
    const checks = new Map((await db.query(`SELECT id, debt_check_at FROM customers`)).map((r) => [r.id as string, r.debt_check_at === null ? null : Number(r.debt_check_at)]));
    for (const r of owed) expect(checks.get(r.customer_id as string), 'owed').toBe(0);
    for (const id of paidOff) expect(checks.get(id), 'paid off').not.toBe(0);

    // A paid-off customer owes again, and pays it off: the row comes back, then goes.
    const customer = (await engine.store.read.customers.find('debt-usage-paid'))!;
    const available = must(await getBalance(engine, customer.id)).balance.availableMicro;
    const [result] = await ingestEvents(engine, [{ id: 'after-upgrade-1', customer: customer.id, type: 'work', properties: { n: Number(available / 1_000_000n) + 4 } }]);
    expect(result!.status).toBe('accepted');
    const row = async () => (await db.query(`SELECT balance FROM accounts WHERE customer_id = ? AND code = 'debt'`, [customer.id])).map((r) => BigInt(r.balance as bigint));
    expect(await row()).toEqual([-4_000_000n]);
    must(await createGrant(engine, { customer: customer.id, credits: '10', category: 'paid', source: 'adjustment' }));
    expect(await row()).toEqual([]);
    expect(await checkLedger(engine)).toEqual({ unbalanced: [], discrepancies: [] });
    expect(must(await reconcile(engine)).discrepancies).toEqual([]);
  });
});
