import { describe, expect, it } from 'vitest';
import { dialects, freshDatabase } from '../support/databases.ts';
import { must } from '../support/engine.ts';
import { financeCustomer, uniqueCode } from '../support/finance.ts';
import { createEngine } from '../../src/engine/create-engine.ts';
import type { Engine } from '../../src/engine/context.ts';
import { createGrant } from '../../src/engine/grants.ts';
import { createPlan } from '../../src/engine/plans.ts';
import { createSubscription } from '../../src/engine/subscriptions.ts';
import { purchaseCredits } from '../../src/engine/purchases.ts';
import { recordPayment } from '../../src/engine/invoices.ts';
import { formatCredits } from '../../src/core/decimal.ts';
import { overageColumns, overageParams, overageUsed } from '../../src/store/queries/billing.ts';
import { moveEventChargeToLedgerTables } from '../support/usage-charge-forms.ts';

const at = (iso: string): number => Date.parse(iso);

/**
 * Migration 58: a usage charge is posted on its event's row (`usage_events.entries`, `txn_id`)
 * rather than in the ledger's tables, while charges written before it stay there (in or out of
 * the time index, their entries in or out of the account index). The readers of usage charges by
 * window (a window's overage, one customer's or many customers' at once; the usage report; the
 * grant flows; grants used while frozen or after revocation) read both forms, and must give the
 * same answers, worked out by hand, whichever form each charge is in.
 */
describe.each(dialects)('usage charges posted on their event row, read with those in the ledger, on %s', (dialect) => {
  async function scenario(engine: Engine) {
    // A subscriber with overage on, a promotional grant (spent first) and a bought one.
    const a = await financeCustomer(engine, '2025-03-01T00:00:00Z', { overage: true });
    const plan = must(await createPlan(engine, { code: uniqueCode('payg'), name: 'PAYG', currency: 'USD', interval: 'month', amount: 0, included_credits: '0', overage: { unit_amount_per_credit: '2' } }));
    must(await createSubscription(engine, { customer: a.customer.id, plan: plan.code }));
    const promo = must(await createGrant(engine, { customer: a.customer.id, credits: '20', category: 'promotional', source: 'promotion', priority: 10 }));
    const { invoice, grant: paid } = must(await purchaseCredits(engine, a.customer.id, { credits: '30', amount: 3000 }));
    must(await recordPayment(engine, invoice.id, { amount: 3000 }));
    // 10 of the promotional grant; then 10 of it and 5 of the paid one; then, stamped earlier in
    // the same hour, 25 of the paid grant and 15 of overage; then 5 of overage.
    const events = [await a.use(10)];
    await a.advance('2025-03-02T10:20:30Z');
    events.push(await a.use(15), await a.use(40, '2025-03-02T10:05:00Z'));
    await a.advance('2025-03-02T10:40:00Z');
    events.push(await a.use(5));
    // Another customer, all overage, in the same hour.
    const b = await financeCustomer(engine, '2025-03-02T10:30:00Z', { overage: true });
    events.push(await b.use(7), await b.use(2, '2025-03-02T10:04:59.999Z'));

    // The paid grant frozen from 10:00 to 10:20:15 (inside the minute of the 15 at 10:20:30, which
    // is after it) and the promotional one revoked on the 1st at noon (set directly: the checks
    // look for exactly this).
    const c0 = engine.store.read.c;
    await c0.run(`UPDATE grants SET frozen_from = ?, unfrozen_at = ? WHERE id = ?`, [at('2025-03-02T10:00:00Z'), at('2025-03-02T10:20:15Z'), paid.id]);
    await c0.run(`UPDATE grants SET status = 'voided', close_reason = 'invoice voided', closed_at = ? WHERE id = ?`, [at('2025-03-01T12:00:00Z'), promo.id]);
    return { a, b, plan, promo, paid, events };
  }

  async function answers(engine: Engine, ids: { a: string; b: string; planId: string; promo: string; paid: string }) {
    const read = engine.store.read;
    const c0 = read.c;
    const overage = async (from: string, to: string) => formatCredits(await read.billing.overageConsumed(ids.a, at(from), at(to)));
    // The columns as a statement over many customers binds them (customers.ts): the customer a column.
    const overageOfBoth = async (from: string, to: string) => (await c0.query(
      `SELECT c.id, ${overageColumns('c.id', c0.dialect)} FROM customers c WHERE c.id IN (?, ?) ORDER BY c.id = ?`,
      [...overageParams(c0.dialect, null, at(from), at(to)), ids.a, ids.b, ids.b])).map((r) => formatCredits(overageUsed(r)));
    const usage = async (from: string, to: string, customerId: string | null) => (await read.reports.usageSums({ fromMs: at(from), toMs: at(to), customerId }))
      .map((u) => [u.planId === ids.planId ? 'plan' : u.planId, formatCredits(u.creditsMicro), String(u.transactions)])
      .sort((x, y) => String(x).localeCompare(String(y)));
    const flows = async (set: 'cost_basis' | 'promotional', customerId: string | null) =>
      (await read.reports.grantFlows(set, { fromMs: at('2025-03-02T00:00:00Z'), toMs: at('2025-03-02T10:20:30Z'), customerId }))
        .filter((f) => f.kind === 'usage')
        .map((f) => [f.grantId === ids.paid ? 'paid' : f.grantId === ids.promo ? 'promo' : f.grantId, f.beforeFrom ? 'before' : 'in', formatCredits(f.amountMicro)])
        .sort((x, y) => String(x).localeCompare(String(y)));
    const events = async (list: { customerId: string; txnId: string; effectiveAtMs: number }[]) => {
      const named = await Promise.all(list.map(async (u) => {
        const [row] = await c0.query(`SELECT id FROM usage_events WHERE txn_id = ?`, [u.txnId]);
        return [u.customerId === ids.a ? 'a' : u.customerId, String(row?.id ?? '').split('-').pop(), new Date(u.effectiveAtMs).toISOString()];
      }));
      return named;
    };
    return {
      overage: [
        await overage('2025-03-02T10:00:00Z', '2025-03-02T10:30:00Z'),
        // The hour's total less the 15 before the start (10:05) in its first hour.
        await overage('2025-03-02T10:06:00Z', '2025-03-02T11:00:00Z'),
        // Less the 5 at the end (10:40) in the last hour.
        await overage('2025-03-02T09:00:00Z', '2025-03-02T10:40:00Z'),
        await overage('2025-03-02T10:05:00Z', '2025-03-02T10:05:00.001Z'),
        await overage('2025-03-02T10:05:00.001Z', '2025-03-02T10:40:00Z'),
        await overage('2025-01-01T00:00:00Z', '2026-01-01T00:00:00Z'),
      ],
      overageOfBoth: [
        await overageOfBoth('2025-03-02T10:05:00Z', '2025-03-02T10:40:00Z'),
        await overageOfBoth('2025-03-02T10:04:59.999Z', '2025-03-02T10:30:00.001Z'),
      ],
      usage: [
        await usage('2025-03-01T00:00:00Z', '2025-03-03T00:00:00Z', ids.a),
        // Cut inside the minutes of its ends: 10:05 in, 10:20:30 out.
        await usage('2025-03-02T10:05:00Z', '2025-03-02T10:20:30Z', ids.a),
        await usage('2025-03-02T10:04:59.999Z', '2025-03-02T10:40:00.001Z', null),
      ],
      flows: [await flows('promotional', ids.a), await flows('cost_basis', ids.a), await flows('promotional', null), await flows('cost_basis', null)],
      frozen: await events(await read.grants.usedWhileFrozen()),
      revoked: await events(await read.grants.usedAfterRevocation()),
    };
  }

  it('reads the same answers, worked out by hand, with each charge on its event row or in the ledger\'s tables', async () => {
    const database = await freshDatabase(dialect);
    try {
      const engine = await createEngine(database.db);
      const { a, b, plan, promo, paid, events } = await scenario(engine);
      const ids = { a: a.customer.id, b: b.customer.id, planId: plan.id, promo: promo.id, paid: paid.id };
      const c0 = engine.store.read.c;

      // The layout: every charge is on its event's row, none in the ledger's tables.
      const posted = await c0.query(`SELECT id, txn_id, position FROM usage_events WHERE entries IS NOT NULL`);
      expect(posted.map((r) => r.id as string).sort()).toEqual([...events].sort());
      for (const r of posted) expect(r.position).toBe(r.txn_id);
      expect(await c0.query(`SELECT id FROM ledger_transactions WHERE kind = 'usage'`)).toEqual([]);

      const e = (n: number) => events[n - 1]!.split('-').pop();
      const expected = {
        // a's overage: 15 at 10:05 and 5 at 10:40 on the 2nd.
        overage: ['15', '5', '15', '15', '0', '20'],
        // [10:05, 10:40): a's 15, b's 7 at 10:30 (not its 2 at 10:04:59.999); then b's 2 and 7, a's 15.
        overageOfBoth: [['15', '7'], ['15', '9']],
        usage: [
          [['plan', '70', '4']],
          [['plan', '40', '1']],
          // a's 15, 40 and 5 (its plan), b's 7 and 2 (none).
          [['plan', '60', '3'], [null, '9', '2']].sort((x, y) => String(x).localeCompare(String(y))),
        ],
        flows: [
          // The promotional grant: 10 before the 2nd, 10 at 10:20:30 (the window's end: out).
          [['promo', 'before', '-10']],
          // The paid grant: 25 at 10:05 (the 5 at 10:20:30 is out).
          [['paid', 'in', '-25']],
          [['promo', 'before', '-10']],
          [['paid', 'in', '-25']],
        ],
        // The 25 at 10:05 debited the paid grant while frozen; the 15 at 10:20:30 after the unfreeze.
        frozen: [['a', e(3), '2025-03-02T10:05:00.000Z']],
        // The promotional grant's 10 at 10:20:30, after its revocation.
        revoked: [['a', e(2), '2025-03-02T10:20:30.000Z']],
      };
      expect(await answers(engine, ids)).toEqual(expected);

      // Some charges moved into the ledger's tables in each layout a store may hold them in: every
      // answer is the same, with both forms in the same windows.
      // events: a's 10, 15, 40 (at 10:05) and 5; b's 7 and 2.
      expect(events).toHaveLength(6);
      await moveEventChargeToLedgerTables(c0, events[2]!, { effectiveIndexed: 0, accountIndexed: 0 });
      await moveEventChargeToLedgerTables(c0, events[1]!, { effectiveIndexed: 1, accountIndexed: 1 });
      await moveEventChargeToLedgerTables(c0, events[5]!, { effectiveIndexed: 0, accountIndexed: 1 });
      expect(await answers(engine, ids)).toEqual(expected);
      await moveEventChargeToLedgerTables(c0, events[0]!, { effectiveIndexed: 1, accountIndexed: 0 });
      await moveEventChargeToLedgerTables(c0, events[4]!, { effectiveIndexed: 1, accountIndexed: 1 });
      expect(await answers(engine, ids)).toEqual(expected);
      // And all of them.
      await moveEventChargeToLedgerTables(c0, events[3]!, { effectiveIndexed: 0, accountIndexed: 0 });
      expect(await c0.query(`SELECT id FROM usage_events WHERE entries IS NOT NULL`)).toEqual([]);
      expect(await answers(engine, ids)).toEqual(expected);
    } finally {
      await database.drop();
    }
  });
});
