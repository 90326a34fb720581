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
const sum = (values: bigint[]): bigint => values.reduce((a, b) => a + b, 0n);

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

  it('a downgrade carried on the balance and a customer who stops paying still reconcile, and revenue is the money kept', async () => {
    const { engine } = ctx;
    const big = must(await createPlan(engine, { code: uniqueCode('big'), name: 'Big', currency: 'USD', interval: 'month', amount: 3000, included_credits: '3000', overage: { unit_amount_per_credit: '1' } }));
    const small = must(await createPlan(engine, { code: uniqueCode('small'), name: 'Small', currency: 'USD', interval: 'month', amount: 1000, included_credits: '1000', overage: { unit_amount_per_credit: '1' } }));

    // A pays every month; at mid-March it downgrades, and the excess proration credit pays April.
    const a = await financeCustomer(engine, month(0, 1));
    const subA = must(await createSubscription(engine, { customer: a.customer.id, plan: big.code }));
    // B is due on issue and stops paying after three months.
    const b = await financeCustomer(engine, month(0, 1), { netDays: 0 });
    must(await createSubscription(engine, { customer: b.customer.id, plan: small.code }));
    for (let m = 0; m < 12; m++) {
      await a.advance(month(m, 3));
      await b.advance(month(m, 3));
      await a.use(200);
      await b.use(300);
      if (m === 2) {
        await a.advance(month(m, 16, '12:00:00'));
        must(await changeSubscription(engine, subA.id, { plan: small.code, timing: 'immediate' }));
      }
      await payOpenInvoices(engine, a.customer.id);
      if (m < 3) await payOpenInvoices(engine, b.customer.id);
      await b.advance(month(m, 20));
      await b.use(50);
      await a.advance(month(m + 1, 1, '00:00:01'));
      await b.advance(month(m + 1, 1, '00:00:01'));
    }

    const reconciliation = must(await reconcile(engine));
    expect(reconciliation.discrepancies).toEqual([]);
    expect(reconciliation.checks.filter((c) => ['customer_balance', 'frozen_credits_unused'].includes(c.name)).every((c) => c.ok)).toBe(true);

    const invoicesA = await invoicesOf(engine, a.customer.id);
    const proration = invoicesA.find((i) => i.kind === 'proration')!;
    expect(proration.totalMinor).toBeLessThan(0n);
    const note = (await engine.store.read.creditNotes.get(proration.creditNoteId!))!;
    expect(note.amountMinor).toBe(-proration.totalMinor);
    const april = invoicesA.find((i) => i.periodStartMs === Date.parse(month(3, 1)))!;
    expect(april.balanceAppliedMinor).toBeGreaterThan(0n);
    const notes = await report(engine, 'credit_notes', a.customer.id);
    expect(notes.totals[0]!.closingMinor).toBe(note.remainingMinor);
    const paymentsA = (await Promise.all(invoicesA.map((i) => engine.store.read.billing.payments(i.id)))).flat();
    const revenueA = await report(engine, 'revenue', a.customer.id);
    // Net revenue nets the note: it is the money received less the balance still owed back.
    expect(revenueA.totals[0]!.netMinor).toBe(sum(paymentsA.filter((p) => p.method !== 'balance').map((p) => p.amountMinor)) - note.remainingMinor);

    const invoicesB = await invoicesOf(engine, b.customer.id);
    const uncollectible = invoicesB.filter((i) => i.status === 'uncollectible');
    expect(uncollectible.length).toBeGreaterThanOrEqual(8);
    expect(invoicesB.filter((i) => i.status === 'paid').length).toBeGreaterThanOrEqual(3);
    const revokes = (await engine.store.read.ledger.transactionsForCause(uncollectible[0]!.id));
    expect(revokes.map((t) => t.kind)).toEqual(['revoke']);
    const subB = (await engine.store.read.billing.subscriptionsOf([b.customer.id]))[0]!;
    expect(subB.status).toBe('past_due');
    const aging = await report(engine, 'aging', b.customer.id);
    expect(aging.rows.every((r) => r.bucket === '0-30')).toBe(true);
    const paymentsB = (await Promise.all(invoicesB.map((i) => engine.store.read.billing.payments(i.id)))).flat();
    const revenueB = await report(engine, 'revenue', b.customer.id);
    expect(revenueB.totals[0]!.netMinor).toBe(sum(paymentsB.map((p) => p.amountMinor)));
  });
});
