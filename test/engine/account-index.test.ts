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
import { moveToLedgerTables } from '../support/usage-charge-forms.ts';

/**
 * A usage charge's entries are in one of three places: on its event's row (migration 58, every
 * charge written now but a hold's capture), in `ledger_entries` out of the account index
 * (`account_indexed = 0`, migration 55), or in it (written before migration 55). Their readers
 * (grant flows in the reports, the stored balances and the overage totals checked against their
 * entries, frozen and revoked grants used) must give the same answer whichever place a charge's
 * entries are in, and name every entry that disagrees with its balance wherever it is.
 */
describe.each(dialects)('usage charges on their event rows and in the ledger tables, inside the account index or out, on %s', (dialect) => {
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

  it('writes a usage charge on its event row and reads the same answers with it in the ledger tables, inside the index or out', async () => {
    const database = await freshDatabase(dialect);
    try {
      const engine = await createEngine(database.db);
      const { c, o, paid, promo, charges } = await scenario(engine);
      const c0 = engine.store.read.c;

      // The layout: every usage charge is on its event's row, with its entries; no usage charge
      // has a row in the ledger's tables, and every other entry is in the index.
      const entries = await c0.query<{ kind: string; account: string; account_indexed: bigint | number }>(
        `SELECT t.kind, e.account, e.account_indexed FROM ledger_entries e JOIN ledger_transactions t ON t.id = e.txn_id
          WHERE t.customer_id IN (?, ?) ORDER BY t.customer_id = ?, t.id, e.seq`,
        [c.customer.id, o.customer.id, o.customer.id]);
      expect(entries.length).toBeGreaterThan(0);
      for (const e of entries) expect([e.kind, Number(e.account_indexed)]).toEqual(['grant', 1]);
      const posted = await c0.query<{ entries: string }>(
        `SELECT entries FROM usage_events WHERE customer_id IN (?, ?) ORDER BY customer_id = ?, position`, [c.customer.id, o.customer.id, o.customer.id]);
      expect(posted.flatMap((r) => (JSON.parse(r.entries) as [string, string][]).map(([account]) => account)).filter((a) => !a.startsWith('consumed:')))
        .toEqual([`grant:${promo.id}`, `grant:${paid.id}`, `grant:${paid.id}`, `grant:${paid.id}`, expect.stringMatching(/^grant:/), 'overage', 'overage']);
      expect(charges.map((t) => t.entries.reduce((sum, e) => sum + e.amountMicro, 0n))).toEqual([0n, 0n, 0n, 0n, 0n]);
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

      // Some charges moved into the ledger's tables, as stores written before migration 58 hold
      // them: one with its entries in the index (before migration 55), two out of it. Every answer
      // is the same, and the charges read back the same.
      await moveToLedgerTables(c0, charges[0]!.id, { accountIndexed: 1, effectiveIndexed: 0 });
      await moveToLedgerTables(c0, charges[1]!.id, { accountIndexed: 0, effectiveIndexed: 0 });
      await moveToLedgerTables(c0, charges[3]!.id, { accountIndexed: 0, effectiveIndexed: 0 });
      expect(await answers(engine, c.customer.id)).toEqual(before);
      for (const t of charges) expect((await engine.store.read.ledger.transactionsForCause(t.causeId))[0]).toEqual(t);

      // An entry that disagrees with its stored balance is still named, on an event row or in
      // the ledger's tables out of the index.
      await c0.run(`UPDATE usage_events SET entries = replace(entries, ?, ?) WHERE txn_id = ?`,
        [`["grant:${paid.id}","-`, `["grant:${paid.id}","-1`, charges[2]!.id]);
      const found = must(await reconcile(engine)).discrepancies;
      expect(found).toEqual(expect.arrayContaining([
        expect.objectContaining({ check: 'balances_match_entries', ids: expect.arrayContaining([c.customer.id, `grant:${paid.id}`]) }),
        expect.objectContaining({ check: 'transactions_balance', ids: expect.arrayContaining([charges[2]!.id]) }),
      ]));
      await c0.run(`UPDATE ledger_entries SET amount = amount - 1000000 WHERE txn_id = ? AND account = ?`, [charges[1]!.id, `grant:${paid.id}`]);
      expect(must(await reconcile(engine)).discrepancies).toEqual(expect.arrayContaining([
        expect.objectContaining({ check: 'transactions_balance', ids: expect.arrayContaining([charges[1]!.id]) }),
      ]));
      // And so is an overage entry that disagrees with its hourly and daily totals, on an event
      // row (charges[4]) and in the ledger's tables out of the index (charges[3]), each named.
      for (const moved of [false, true]) {
        const txn = charges[moved ? 3 : 4]!;
        if (moved) await c0.run(`UPDATE ledger_entries SET amount = amount - 1000000 WHERE txn_id = ? AND account = 'overage'`, [txn.id]);
        else await c0.run(`UPDATE usage_events SET entries = replace(entries, '["overage","-', '["overage","-1') WHERE txn_id = ?`, [txn.id]);
        const overage = must(await reconcile(engine)).discrepancies.filter((d) => d.check === 'balances_match_entries' && d.ids.includes(o.customer.id));
        expect(overage.flatMap((d) => d.ids.filter((id) => id !== o.customer.id)).sort())
          .toEqual(['overage', expect.stringMatching(/^overage_days:/), expect.stringMatching(/^overage_hours:/)]);
      }
    } finally {
      await database.drop();
    }
  });
});
