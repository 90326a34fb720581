import { describe, expect, it } from 'vitest';
import { dialects, freshDatabase } from '../support/databases.ts';
import { must } from '../support/engine.ts';
import { financeCustomer } from '../support/finance.ts';
import { createEngine } from '../../src/engine/create-engine.ts';
import type { Engine } from '../../src/engine/context.ts';
import { createGrant } from '../../src/engine/grants.ts';
import { purchaseCredits } from '../../src/engine/purchases.ts';
import { recordPayment } from '../../src/engine/invoices.ts';
import { reconcile } from '../../src/engine/reconcile.ts';
import { runReport } from '../../src/engine/reports.ts';
import { formatCredits } from '../../src/core/decimal.ts';

/**
 * Migration 55: a usage charge's entries (but one on a hold) are left out of the account index
 * (`account_indexed = 0`), and their readers (grant flows in the reports, the stored balances and
 * the overage totals checked against their entries, frozen and revoked grants used) find them
 * through their transactions. Entries written before the migration stay in the index, so a store
 * holds both; every reader must give the same answer whichever of the two a charge's entries are.
 */
describe.each(dialects)('usage charges outside the account index, on %s', (dialect) => {
  async function scenario(engine: Engine) {
    const c = await financeCustomer(engine, '2025-03-01T00:00:00Z');
    const { invoice, grant: paid } = must(await purchaseCredits(engine, c.customer.id, { credits: '1000', amount: 10000 }));
    must(await recordPayment(engine, invoice.id, { amount: 10000 }));
    const promo = must(await createGrant(engine, { customer: c.customer.id, credits: '20', category: 'promotional', source: 'promotion', priority: 10 }));
    // 30 + 30 + 30 credits: the promotional 20 first, then the paid grant (a charge across both).
    const events = [await c.use(30), await c.use(30), await c.use(30)];
    // A customer with overage on: 20 credits of grant, then 30 and 15 of overage.
    const o = await financeCustomer(engine, '2025-03-01T00:00:00Z', { overage: true });
    must(await createGrant(engine, { customer: o.customer.id, credits: '20', category: 'paid', source: 'adjustment' }));
    events.push(await o.use(50), await o.use(15));
    const charges = await Promise.all(events.map(async (id) => (await engine.store.read.ledger.transactionsForCause(id))[0]!));
    return { c, o, paid, promo, charges };
  }

  async function answers(engine: Engine, customerId: string) {
    const deferred = must(await runReport(engine, 'deferred_revenue', { customer: customerId }));
    const promotional = must(await runReport(engine, 'promotional', { customer: customerId }));
    return {
      discrepancies: must(await reconcile(engine)).discrepancies,
      balances: await engine.store.read.ledger.balanceDiscrepancies(),
      deferred: deferred.totals,
      promotional: promotional.rows.map((r) => [r.source, formatCredits(r.issuedMicro), formatCredits(r.consumedMicro)]),
    };
  }

  it('writes a usage charge\'s entries outside the index and reads the same answers with them inside it or out', async () => {
    const database = await freshDatabase(dialect);
    try {
      const engine = await createEngine(database.db);
      const { c, o, paid, promo, charges } = await scenario(engine);
      const c0 = engine.store.read.c;

      // The layout: a usage charge's entries are out of the index, every other entry in it.
      const entries = await c0.query<{ kind: string; account: string; account_indexed: bigint | number }>(
        `SELECT t.kind, e.account, e.account_indexed FROM ledger_entries e JOIN ledger_transactions t ON t.id = e.txn_id
          WHERE t.customer_id IN (?, ?) ORDER BY t.customer_id = ?, t.id, e.seq`,
        [c.customer.id, o.customer.id, o.customer.id]);
      for (const e of entries) {
        expect([e.kind, e.account, Number(e.account_indexed)]).toEqual([e.kind, e.account, e.kind === 'usage' ? 0 : 1]);
      }
      expect(entries.filter((e) => Number(e.account_indexed) === 0 && !e.account.startsWith('consumed:')).map((e) => e.account))
        .toEqual([`grant:${promo.id}`, `grant:${paid.id}`, `grant:${paid.id}`, `grant:${paid.id}`, expect.stringMatching(/^grant:/), 'overage', 'overage']);
      const indexSql = dialect === 'sqlite'
        ? `SELECT sql AS definition FROM sqlite_master WHERE name = 'ledger_entries_account'`
        : `SELECT indexdef AS definition FROM pg_indexes WHERE indexname = 'ledger_entries_account'`;
      expect(String((await c0.query(indexSql))[0]!.definition)).toMatch(/account_indexed = 1/);

      // What the readers answer: 70 credits of the paid grant recognized (700 of 10000 minor units),
      // the promotional grant used up, and a clean ledger.
      const before = await answers(engine, c.customer.id);
      expect(before.discrepancies).toEqual([]);
      expect(before.balances).toEqual([]);
      expect(before.deferred).toEqual([expect.objectContaining({ purchasedMinor: 10000n, recognizedMinor: 700n, closingDeferredMinor: 9300n })]);
      expect(before.promotional).toEqual([['promotion', '20', '20']]);

      expect(await engine.store.read.billing.overageConsumed(o.customer.id, 0, Date.parse('2026-01-01T00:00:00Z'))).toBe(45_000_000n);

      // Some charges' entries put back in the index, as a store written before migration 55
      // holds them: every answer is the same.
      for (const txn of [charges[0]!, charges[1]!, charges[3]!]) {
        await c0.run(`UPDATE ledger_entries SET account_indexed = 1 WHERE txn_id = ?`, [txn.id]);
      }
      expect(await answers(engine, c.customer.id)).toEqual(before);

      // An entry outside the index that disagrees with its stored balance is still named.
      await c0.run(`UPDATE ledger_entries SET amount = amount - 1000000 WHERE txn_id = ? AND account = ?`, [charges[2]!.id, `grant:${paid.id}`]);
      const found = must(await reconcile(engine)).discrepancies;
      expect(found).toEqual(expect.arrayContaining([
        expect.objectContaining({ check: 'balances_match_entries', ids: expect.arrayContaining([c.customer.id, `grant:${paid.id}`]) }),
        expect.objectContaining({ check: 'transactions_balance', ids: expect.arrayContaining([charges[2]!.id]) }),
      ]));
      // And so is an overage entry outside the index that disagrees with its hourly and daily totals.
      await c0.run(`UPDATE ledger_entries SET amount = amount - 1000000 WHERE txn_id = ? AND account = 'overage'`, [charges[4]!.id]);
      const overage = must(await reconcile(engine)).discrepancies.filter((d) => d.check === 'balances_match_entries' && d.ids.includes(o.customer.id));
      expect(overage.flatMap((d) => d.ids.filter((id) => id !== o.customer.id)).sort())
        .toEqual(['overage', expect.stringMatching(/^overage_days:/), expect.stringMatching(/^overage_hours:/)]);
    } finally {
      await database.drop();
    }
  });
});
