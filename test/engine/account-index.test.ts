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
 * Migration 55: a usage charge's `grant:` entries are left out of the account index
 * (`account_indexed = 0`), and the readers of a grant's entries (grant flows in the reports, the
 * stored balances checked against their entries) find them through their transactions. Entries
 * written before the migration stay in the index, so a store holds both; every reader must give
 * the same answer whichever of the two a usage charge's grant entry is.
 */
describe.each(dialects)('usage charges on grants, outside the account index, on %s', (dialect) => {
  async function scenario(engine: Engine) {
    const c = await financeCustomer(engine, '2025-03-01T00:00:00Z');
    const { invoice, grant: paid } = must(await purchaseCredits(engine, c.customer.id, { credits: '1000', amount: 10000 }));
    must(await recordPayment(engine, invoice.id, { amount: 10000 }));
    const promo = must(await createGrant(engine, { customer: c.customer.id, credits: '20', category: 'promotional', source: 'promotion', priority: 10 }));
    // 30 + 30 + 30 credits: the promotional 20 first, then the paid grant (a charge across both).
    const events = [await c.use(30), await c.use(30), await c.use(30)];
    const charges = await Promise.all(events.map(async (id) => (await engine.store.read.ledger.transactionsForCause(id))[0]!));
    return { c, paid, promo, charges };
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

  it('writes a charge\'s grant entries outside the index and reads the same answers with them inside it or out', async () => {
    const database = await freshDatabase(dialect);
    try {
      const engine = await createEngine(database.db);
      const { c, paid, promo, charges } = await scenario(engine);
      const c0 = engine.store.read.c;

      // The layout: only a usage charge's grant entries are out of the index.
      const entries = await c0.query<{ kind: string; account: string; account_indexed: bigint | number }>(
        `SELECT t.kind, e.account, e.account_indexed FROM ledger_entries e JOIN ledger_transactions t ON t.id = e.txn_id WHERE t.customer_id = ? ORDER BY t.id, e.seq`,
        [c.customer.id]);
      for (const e of entries) {
        expect([e.kind, e.account, Number(e.account_indexed)]).toEqual([e.kind, e.account, e.kind === 'usage' && e.account.startsWith('grant:') ? 0 : 1]);
      }
      expect(entries.filter((e) => Number(e.account_indexed) === 0).map((e) => e.account))
        .toEqual([`grant:${promo.id}`, `grant:${paid.id}`, `grant:${paid.id}`, `grant:${paid.id}`]);
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

      // The first two charges' grant entries put back in the index, as a store written before
      // migration 55 holds them: every answer is the same.
      for (const txn of charges.slice(0, 2)) {
        await c0.run(`UPDATE ledger_entries SET account_indexed = 1 WHERE txn_id = ? AND account LIKE 'grant:%'`, [txn.id]);
      }
      expect(await answers(engine, c.customer.id)).toEqual(before);

      // An entry outside the index that disagrees with its stored balance is still named.
      await c0.run(`UPDATE ledger_entries SET amount = amount - 1000000 WHERE txn_id = ? AND account = ?`, [charges[2]!.id, `grant:${paid.id}`]);
      const found = must(await reconcile(engine)).discrepancies;
      expect(found).toEqual(expect.arrayContaining([
        expect.objectContaining({ check: 'balances_match_entries', ids: expect.arrayContaining([c.customer.id, `grant:${paid.id}`]) }),
        expect.objectContaining({ check: 'transactions_balance', ids: expect.arrayContaining([charges[2]!.id]) }),
      ]));
    } finally {
      await database.drop();
    }
  });
});
