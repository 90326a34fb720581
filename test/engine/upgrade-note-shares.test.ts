import { describe, expect, it } from 'vitest';
import { dialects, freshDatabase } from '../support/databases.ts';
import { must } from '../support/engine.ts';
import { createEngine } from '../../src/engine/create-engine.ts';
import { createPlan } from '../../src/engine/plans.ts';
import { cancelSubscription, createSubscription } from '../../src/engine/subscriptions.ts';
import { createReturn } from '../../src/engine/refunds.ts';
import { reconcile } from '../../src/engine/reconcile.ts';
import { financeCustomer, invoicesOf, payOpenInvoices, uniqueCode } from '../support/finance.ts';

/**
 * Migration 71 names the invoice whose money each note for unused time gives back
 * (`credit_note_shares`). A note issued before it counts whole against the fee its credit line
 * names, as it did: a refund of that fee still leaves it out.
 */
describe.each(dialects)('upgraded to migration 71 on %s', (dialect) => {
  it('gives each note for unused time its fee invoice, whole, and keeps its refund limited by it', async () => {
    const database = await freshDatabase(dialect);
    try {
      let engine = await createEngine(database.db);
      const c = await financeCustomer(engine, '2026-03-01T00:00:00Z');
      const plan = must(await createPlan(engine, { code: uniqueCode('flat'), name: 'Flat', currency: 'USD', interval: 'month', amount: 3100, included_credits: '0' }));
      const sub = must(await createSubscription(engine, { customer: c.customer.id, plan: plan.code }));
      await payOpenInvoices(engine, c.customer.id);
      await c.advance('2026-03-11T00:00:00Z');
      must(await cancelSubscription(engine, sub.id, { timing: 'immediate' }));
      const [fee, final] = [(await invoicesOf(engine, c.customer.id)).find((i) => i.kind !== 'final')!, (await invoicesOf(engine, c.customer.id)).find((i) => i.kind === 'final')!];
      // The schema as the release before migration 71 left it.
      for (const sql of [`DROP TABLE credit_note_shares`, `DELETE FROM schema_migrations WHERE version = 71`]) await database.db.run(sql);
      engine = await createEngine(database.db);
      expect(await engine.store.read.creditNotes.sharesOfNote(final.creditNoteId!)).toEqual([{ invoiceId: fee.id, amountMinor: 2100n }]);
      const refused = await createReturn(engine, 'refund', { invoice: fee.id, amount: 1001, reason: 'requested', credit_policy: 'none' });
      expect(refused.ok ? null : refused.error.details).toEqual({ returnable: 1000 });
      expect(must(await reconcile(engine)).discrepancies).toEqual([]);
    } finally {
      await database.drop();
    }
  });
});
