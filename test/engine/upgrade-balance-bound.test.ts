import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { dialects } from '../support/databases.ts';
import { releaseOn, rowCounts, type ReleaseDatabase } from '../support/release-database.ts';
import { must } from '../support/engine.ts';
import { migrations } from '../../src/store/migrations.ts';
import { createEngine } from '../../src/engine/create-engine.ts';
import { checkLedger, reconcile } from '../../src/engine/reconcile.ts';
import { ingestEvents } from '../../src/engine/ingest-events.ts';
import { BalanceOutOfRange } from '../../src/core/ledger.ts';

/**
 * A database written by the release whose schema ends at migration 61 (test/fixtures/
 * release-61.db, its own reconciliation clean) is upgraded to balances bounded by the database
 * (migration 69; on SQLite the `accounts` table is rebuilt with its CHECK): every balance kept as
 * it was, one already past the bound included (as the release could leave it: on SQLite a REAL
 * where its `+` overflowed, on PostgreSQL a bigint past 9 × 10^18), which the reconciliation then
 * names; the others reconcile, usage goes on, and a balance taken past the bound is refused.
 */
const fixture = fileURLToPath(new URL('../fixtures/release-61.db', import.meta.url));

describe.each(dialects)('upgrading a database the release of migration 61 wrote to bounded balances, on %s', (dialect) => {
  const opened: ReleaseDatabase[] = [];
  afterAll(async () => {
    for (const d of opened) await d.drop();
  });

  it('keeps every balance, one out of range included, and refuses a balance past the bound from then on', { timeout: 60_000 }, async () => {
    const release = await releaseOn(dialect, fixture, 61);
    opened.push(release);
    const db = release.db;
    expect((await db.query(`SELECT MAX(version) AS v FROM schema_migrations`)).map((r) => Number(r.v))).toEqual([61]);
    // One issued account pushed past the bound as the release could: 2^63 - 1 more than its entries
    // (a REAL on SQLite, whose `+` overflows to floating point), 9.1 × 10^18 on PostgreSQL.
    const [broken] = await db.query<{ customer_id: string; code: string }>(
      `SELECT customer_id, code FROM accounts WHERE code LIKE 'issued:%' AND balance < 0 ORDER BY customer_id, code LIMIT 1`);
    await db.run(dialect === 'sqlite'
      ? `UPDATE accounts SET balance = balance - 9223372036854775807 WHERE customer_id = ? AND code = ?`
      : `UPDATE accounts SET balance = -9100000000000000000 WHERE customer_id = ? AND code = ?`, [broken!.customer_id, broken!.code]);
    const balances = async () => (await db.query(`SELECT customer_id, code, balance FROM accounts ORDER BY customer_id, code`))
      .map((r) => `${r.customer_id as string} ${r.code as string} ${String(r.balance)}`);
    const before = await balances();
    const counts = await rowCounts(db);

    const engine = await createEngine(db);
    expect((await db.query(`SELECT version FROM schema_migrations ORDER BY version`)).map((r) => Number(r.version))).toEqual(migrations.map((m) => m.version));
    expect(await balances()).toEqual(before);
    expect(await rowCounts(db)).toEqual(counts);
    const ledger = await checkLedger(engine);
    expect(ledger.unbalanced).toEqual([]);
    expect(ledger.discrepancies.map((d) => [d.customerId, d.account])).toEqual([[broken!.customer_id, broken!.code]]);
    const reconciled = must(await reconcile(engine));
    expect(reconciled.discrepancies.length).toBeGreaterThan(0);
    expect(reconciled.discrepancies.every((d) => JSON.stringify(d).includes(broken!.customer_id))).toBe(true);

    // Usage goes on for the others.
    const [other] = await db.query<{ id: string; type: string }>(
      `SELECT u.customer_id AS id, u.type FROM usage_events u WHERE u.customer_id <> ? AND EXISTS (SELECT 1 FROM accounts a WHERE a.customer_id = u.customer_id AND a.code LIKE 'grant:%' AND a.balance > 0) ORDER BY u.customer_id LIMIT 1`,
      [broken!.customer_id]);
    const results = await ingestEvents(engine, [{ id: 'after-69', customer: other!.id, type: other!.type, properties: { tokens: 10 } }]);
    expect(results.map((r) => r.status)).toEqual(['accepted']);

    // The database refuses a balance past the bound, whoever writes it, and keeps nothing of it.
    const [row] = await db.query<{ customer_id: string; code: string; balance: bigint }>(
      `SELECT customer_id, code, balance FROM accounts WHERE customer_id = ? AND code LIKE 'grant:%' AND balance > 0 ORDER BY code LIMIT 1`, [other!.id]);
    await expect(engine.store.transaction((tx) => tx.ledger.post([{
      id: 'txn_bound', customerId: other!.id, kind: 'grant', cause: { type: 'grant', id: 'bound' }, refs: {}, effectiveAtMs: 0,
      entries: [{ account: row!.code, amountMicro: 9n * 10n ** 18n }, { account: 'issued:bound', amountMicro: -(9n * 10n ** 18n) }],
    }], 0))).rejects.toBeInstanceOf(BalanceOutOfRange);
    const [after] = await db.query<{ balance: bigint }>(`SELECT balance FROM accounts WHERE customer_id = ? AND code = ?`, [other!.id, row!.code]);
    expect(BigInt(after!.balance)).toBe(BigInt(row!.balance));
    expect(await db.query(`SELECT id FROM ledger_transactions WHERE id = 'txn_bound'`)).toEqual([]);
  });
});
