import { describe, expect, it } from 'vitest';
import { dialects, freshDatabase } from '../support/databases.ts';
import { must } from '../support/engine.ts';
import { financeCustomer } from '../support/finance.ts';
import { createEngine } from '../../src/engine/create-engine.ts';
import { purchaseCredits } from '../../src/engine/purchases.ts';
import { recordPayment } from '../../src/engine/invoices.ts';
import { createGrant } from '../../src/engine/grants.ts';
import { createPromotion } from '../../src/engine/promotions.ts';
import { redeemPromotion } from '../../src/engine/redeem-promotion.ts';
import { createHold, captureHold } from '../../src/engine/holds.ts';
import { runReport, type ReportInput, type ReportOptions } from '../../src/engine/reports.ts';
import { promotionsReport } from '../../src/engine/promotion-report.ts';
import type { Engine } from '../../src/engine/context.ts';

/**
 * The reports that value grants one by one (promotional consumption, deferred revenue, the
 * promotions report) read every customer a slice at a time (`fatesBySlice`): the result must not
 * depend on where the slices fall, and over all customers it must be what the customers' own
 * reports add up to.
 */
async function reports(engine: Engine, input: ReportInput, options: ReportOptions = {}) {
  return {
    promotional: must(await runReport(engine, 'promotional', input, options)),
    deferred: must(await runReport(engine, 'deferred_revenue', input, options)),
    promotions: must(await promotionsReport(engine, input, options)),
  };
}

describe.each(dialects)('reports over every customer, read a slice at a time, on %s', (dialect) => {
  it('answer the same in slices of one, two and by default, and add up to the customers\' own reports', async () => {
    const database = await freshDatabase(dialect);
    try {
      const engine = await createEngine(database.db);
      must(await createPromotion(engine, { code: 'SLICED', credits: '5' }));
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) {
        const c = await financeCustomer(engine, '2025-03-01T00:00:00Z');
        ids.push(c.customer.id);
        const { invoice } = must(await purchaseCredits(engine, c.customer.id, { credits: '100', amount: 1000 + 100 * i }));
        must(await recordPayment(engine, invoice.id, { amount: 1000 + 100 * i }));
        must(await createGrant(engine, { customer: c.customer.id, credits: '20', category: 'promotional', source: 'promotion', priority: 10, expires_at: '2025-03-20T00:00:00Z' }));
        if (i % 2 === 0) must(await redeemPromotion(engine, { code: 'SLICED', customer: c.customer.id }));
        await c.use(7 * (i + 1));
        if (i === 3) {
          const hold = must(await createHold(engine, { customer: c.customer.id, credits: '30', expires_in: 600 }));
          must(await captureHold(engine, hold.id, { id: `${c.customer.id}-cap`, type: c.meter, properties: { n: 12 } }));
        }
        await c.advance('2025-04-02T00:00:00Z');
        await c.use(3 + i);
      }
      for (const input of [{}, { from: '2025-03-10T00:00:00Z', to: '2025-04-01T00:00:00Z' }, { from: '2025-03-25T00:00:00Z' }]) {
        const byDefault = await reports(engine, input);
        expect(byDefault.promotional.rows.length, 'promotional grants were consumed').toBeGreaterThan(0);
        expect(await reports(engine, input, { customersPerSlice: 1 })).toEqual(byDefault);
        expect(await reports(engine, input, { customersPerSlice: 2 })).toEqual(byDefault);

        // Every customer's own report (one read, by customer) adds up to the report over all of them.
        const own = await Promise.all(ids.map((customer) => reports(engine, { ...input, customer })));
        const sum = (pick: (r: (typeof own)[number]) => bigint) => own.reduce((total, r) => total + pick(r), 0n);
        expect(byDefault.promotional.totals.consumedMicro).toBe(sum((r) => r.promotional.totals.consumedMicro));
        for (const row of byDefault.promotional.rows) {
          const mine = (r: (typeof own)[number]) => r.promotional.rows.find((x) => x.source === row.source);
          expect(row.grants).toBe(sum((r) => mine(r)?.grants ?? 0n));
          expect(row.consumedMicro).toBe(sum((r) => mine(r)?.consumedMicro ?? 0n));
          expect(row.expiredMicro).toBe(sum((r) => mine(r)?.expiredMicro ?? 0n));
        }
        expect(byDefault.deferred.rows).toEqual(own.flatMap((r) => r.deferred.rows).sort((a, b) => (a.id < b.id ? -1 : 1)));
        expect(byDefault.promotions.totals.consumedMicro).toBe(sum((r) => r.promotions.totals.consumedMicro));
      }
    } finally {
      await database.drop();
    }
  });
});
