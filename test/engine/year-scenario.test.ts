import { describe, expect, it } from 'vitest';
import { dialects } from '../support/databases.ts';
import { must, useEngine } from '../support/engine.ts';
import { financeCustomer, invoicesOf, payOpenInvoices, uniqueCode } from '../support/finance.ts';
import { purchaseCredits } from '../../src/engine/purchases.ts';
import { closeChargeback, createReturn } from '../../src/engine/refunds.ts';
import { createPlan } from '../../src/engine/plans.ts';
import { changeSubscription, createSubscription } from '../../src/engine/subscriptions.ts';
import { reconcile } from '../../src/engine/reconcile.ts';
import { runReport, type ReportName, type Reports } from '../../src/engine/reports.ts';
import type { Engine } from '../../src/engine/context.ts';
import type { InvoiceRecord } from '../../src/store/records.ts';

const month = (m: number, day: number, time = '00:00:00'): string => {
  const year = 2025 + Math.floor(m / 12);
  return `${year}-${String((m % 12) + 1).padStart(2, '0')}-${String(day).padStart(2, '0')}T${time}Z`;
};

async function report<N extends ReportName>(engine: Engine, name: N, customer: string): Promise<Reports[N]> {
  return must(await runReport(engine, name, { customer }));
}

/** The revenue rows the invoices themselves give: per plan and period, the invoiced amount of every line type. */
function linesByPlanAndPeriod(invoices: readonly InvoiceRecord[]): Map<string, Record<string, bigint>> {
  const out = new Map<string, Record<string, bigint>>();
  for (const invoice of invoices) {
    if (invoice.status === 'void') continue;
    const key = `${invoice.planId}|${invoice.periodStartMs}|${invoice.periodEndMs}`;
    const lines = out.get(key) ?? {};
    for (const line of invoice.lines) lines[line.type] = (lines[line.type] ?? 0n) + line.amountMinor;
    out.set(key, lines);
  }
  return out;
}

describe.each(dialects)('a year on a test clock on %s', (dialect) => {
  const ctx = useEngine(dialect);

  it('purchases, a plan with overage, monthly usage, an upgrade, a refund and chargebacks reconcile, and the reports match the invoices', async () => {
    const { engine } = ctx;
    const c = await financeCustomer(engine, month(0, 1));
    const id = c.customer.id;
    const starter = must(await createPlan(engine, { code: uniqueCode('starter'), name: 'Starter', currency: 'USD', interval: 'month', amount: 2000, included_credits: '1000', overage: { unit_amount_per_credit: '0.5' } }));
    const pro = must(await createPlan(engine, { code: uniqueCode('pro'), name: 'Pro', currency: 'USD', interval: 'month', amount: 5000, included_credits: '3000', rollover: { max_credits: '500' }, overage: { unit_amount_per_credit: '0.4' } }));
    const sub = must(await createSubscription(engine, { customer: id, plan: starter.code }));
    const purchases: string[] = [];
    const buy = async (credits: string, amount: number) => {
      const { invoice } = must(await purchaseCredits(engine, id, { credits, amount }));
      purchases.push(invoice.id);
      await payOpenInvoices(engine, id);
      return invoice;
    };

    for (let m = 0; m < 12; m++) {
      await c.advance(month(m, 10));
      if (m % 3 === 1) await buy('500', 750);
      await c.use(700 + 90 * m);
      await c.advance(month(m, 15, '12:00:00'));
      if (m === 3) must(await changeSubscription(engine, sub.id, { plan: pro.code, timing: 'immediate' }));
      if (m === 5) must(await createReturn(engine, 'refund', { invoice: purchases[1]!, amount: 375, reason: 'requested', credit_policy: 'proportional' }));
      if (m === 7) {
        const lost = must(await createReturn(engine, 'chargeback', { invoice: purchases[2]!, amount: 750, reason: 'fraudulent', credit_policy: 'unused_only' }));
        must(await closeChargeback(engine, lost.id, 'lost'));
      }
      if (m === 9) {
        const current = (await invoicesOf(engine, id)).find((i) => i.periodStartMs === Date.parse(month(9, 1)))!;
        const won = must(await createReturn(engine, 'chargeback', { invoice: current.id, amount: 2500, reason: 'not recognized', credit_policy: 'proportional' }));
        must(await closeChargeback(engine, won.id, 'won'));
      }
      await c.use(400 + 35 * m);
      await payOpenInvoices(engine, id);
      await c.advance(month(m + 1, 1, '00:00:01'));
      await payOpenInvoices(engine, id);
    }

    const reconciliation = must(await reconcile(engine));
    expect(reconciliation.discrepancies).toEqual([]);
    expect(reconciliation.ok).toBe(true);

    const invoices = await invoicesOf(engine, id);
    const live = invoices.filter((i) => i.status !== 'void');
    const payments = (await Promise.all(live.map((i) => engine.store.read.billing.payments(i.id)))).flat();
    const returns = await engine.store.read.returns.all({ customerId: id });
    const sum = (values: bigint[]) => values.reduce((a, b) => a + b, 0n);
    expect(invoices.filter((i) => i.kind === 'subscription')).toHaveLength(13);
    expect(invoices.some((i) => i.lines.some((l) => l.type === 'overage'))).toBe(true);

    const revenue = await report(engine, 'revenue', id);
    const chargedBack = sum(returns.filter((r) => r.kind === 'chargeback' && r.status !== 'won').map((r) => r.amountMinor));
    expect(revenue.totals).toEqual([{
      currency: 'USD', invoices: BigInt(live.length), invoicedMinor: sum(live.map((i) => i.totalMinor)), paidMinor: sum(payments.map((p) => p.amountMinor)),
      refundedMinor: sum(returns.filter((r) => r.kind === 'refund').map((r) => r.amountMinor)), chargedBackMinor: chargedBack, creditNotesMinor: 0n,
      netMinor: sum(payments.map((p) => p.amountMinor)) - 375n - chargedBack,
    }]);
    expect([revenue.totals[0]!.refundedMinor, chargedBack]).toEqual([375n, 750n]);
    const expectedLines = linesByPlanAndPeriod(invoices);
    expect(new Map(revenue.rows.map((r) => [`${r.planId}|${r.periodStartMs}|${r.periodEndMs}`, r.lines]))).toEqual(expectedLines);
    for (const row of revenue.rows) expect(row.invoicedMinor).toBe(sum(Object.values(row.lines)));
    expect(new Set(revenue.rows.map((r) => r.planCode))).toEqual(new Set([null, starter.code, pro.code]));

    const overage = await report(engine, 'overage', id);
    const overageLines = live.flatMap((i) => i.lines.filter((l) => l.type === 'overage'));
    expect(overage.totals).toEqual([{ currency: 'USD', creditsMicro: overage.rows.reduce((a, r) => a + r.creditsMicro, 0n), amountMinor: sum(overageLines.map((l) => l.amountMinor)) }]);
    expect(overage.rows.reduce((a, r) => a + r.lines, 0n)).toBe(BigInt(overageLines.length));

    const usage = await report(engine, 'usage', id);
    const used = sum(Array.from({ length: 12 }, (_, m) => BigInt(700 + 90 * m + 400 + 35 * m) * 1_000_000n));
    expect(usage.totals.map((t) => t.creditsMicro)).toEqual([used]);
    expect(new Set(usage.rows.map((r) => r.planCode))).toEqual(new Set([starter.code, pro.code]));

    const refunds = await report(engine, 'refunds', id);
    expect(refunds.rows.map((r) => [r.kind, r.creditPolicy, r.amountMinor, r.status])).toEqual([
      ['refund', 'proportional', 375n, 'succeeded'], ['chargeback', 'unused_only', 750n, 'lost'], ['chargeback', 'proportional', 2500n, 'won'],
    ]);

    const deferred = await report(engine, 'deferred_revenue', id);
    const [d] = deferred.totals;
    expect(d!.purchasedMinor).toBe(4n * 750n);
    expect(d!.openingDeferredMinor + d!.purchasedMinor - d!.recognizedMinor - d!.breakageMinor - d!.revokedMinor).toBe(d!.closingDeferredMinor);
    expect(d!.revokedMinor).toBeGreaterThan(0n);
  });
});
