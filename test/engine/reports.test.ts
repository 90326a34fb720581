import { describe, expect, it } from 'vitest';
import { dialects } from '../support/databases.ts';
import { must, useEngine } from '../support/engine.ts';
import { financeCustomer, invoicesOf, payOpenInvoices, uniqueCode } from '../support/finance.ts';
import { purchaseCredits } from '../../src/engine/purchases.ts';
import { recordPayment } from '../../src/engine/invoices.ts';
import { closeChargeback, createReturn } from '../../src/engine/refunds.ts';
import { createPlan } from '../../src/engine/plans.ts';
import { createSubscription } from '../../src/engine/subscriptions.ts';
import { createGrant } from '../../src/engine/grants.ts';
import { runReport, type ReportInput, type ReportName, type Reports } from '../../src/engine/reports.ts';
import { formatCredits } from '../../src/core/decimal.ts';
import { createHold, captureHold } from '../../src/engine/holds.ts';
import type { Engine } from '../../src/engine/context.ts';

async function report<N extends ReportName>(engine: Engine, name: N, input: ReportInput): Promise<Reports[N]> {
  return must(await runReport(engine, name, input));
}

describe.each(dialects)('finance reports on %s', (dialect) => {
  const ctx = useEngine(dialect);

  it('recognizes 30.00 and defers 70.00 of 100.00 of credits with 30% spent', async () => {
    const { engine } = ctx;
    const c = await financeCustomer(engine, '2025-03-01T00:00:00Z');
    const { invoice } = must(await purchaseCredits(engine, c.customer.id, { credits: '1000', amount: 10000 }));
    must(await recordPayment(engine, invoice.id, { amount: 10000 }));
    await c.use(300);
    const r = await report(engine, 'deferred_revenue', { customer: c.customer.id });
    expect(r.totals).toEqual([{ currency: 'USD', openingDeferredMinor: 0n, purchasedMinor: 10000n, recognizedMinor: 3000n, breakageMinor: 0n, revokedMinor: 0n, closingDeferredMinor: 7000n }]);
    expect(r.rows.map((row) => [row.invoiceId, formatCredits(row.closing.consumedMicro), formatCredits(row.closing.remainingMicro)])).toEqual([[invoice.id, '300', '700']]);
  });

  it('values credits spent through a hold as recognized once captured, and held credits as still deferred', async () => {
    const { engine } = ctx;
    const c = await financeCustomer(engine, '2025-03-01T00:00:00Z');
    const { invoice } = must(await purchaseCredits(engine, c.customer.id, { credits: '1000', amount: 10000 }));
    must(await recordPayment(engine, invoice.id, { amount: 10000 }));
    const hold = must(await createHold(engine, { customer: c.customer.id, credits: '500', expires_in: 3600 }));
    expect((await report(engine, 'deferred_revenue', { customer: c.customer.id })).totals[0]!.recognizedMinor).toBe(0n);
    must(await captureHold(engine, hold.id, { id: `${c.customer.id}-cap`, type: c.meter, properties: { n: 120 } }));
    const [total] = (await report(engine, 'deferred_revenue', { customer: c.customer.id })).totals;
    expect([total!.recognizedMinor, total!.closingDeferredMinor]).toEqual([1200n, 8800n]);
  });

  it('counts an expired paid grant as breakage, and rolls the liability forward across windows', async () => {
    const { engine } = ctx;
    const c = await financeCustomer(engine, '2025-04-01T00:00:00Z');
    const { invoice } = must(await purchaseCredits(engine, c.customer.id, { credits: '1000', amount: 10000, expires_at: '2025-05-01T00:00:00Z' }));
    must(await recordPayment(engine, invoice.id, { amount: 10000 }));
    await c.use(250);
    await c.advance('2025-05-02T00:00:00Z');
    const whole = await report(engine, 'deferred_revenue', { customer: c.customer.id });
    expect(whole.totals[0]).toMatchObject({ purchasedMinor: 10000n, recognizedMinor: 2500n, breakageMinor: 7500n, closingDeferredMinor: 0n });
    const april = await report(engine, 'deferred_revenue', { customer: c.customer.id, from: '2025-04-01T00:00:00Z', to: '2025-04-15T00:00:00Z' });
    expect(april.totals[0]).toMatchObject({ openingDeferredMinor: 0n, purchasedMinor: 10000n, recognizedMinor: 2500n, breakageMinor: 0n, closingDeferredMinor: 7500n });
    const may = await report(engine, 'deferred_revenue', { customer: c.customer.id, from: '2025-04-15T00:00:00Z', to: '2025-06-01T00:00:00Z' });
    expect(may.totals[0]).toMatchObject({ openingDeferredMinor: 7500n, purchasedMinor: 0n, recognizedMinor: 0n, breakageMinor: 7500n, closingDeferredMinor: 0n });
  });

  it('lists refunds and chargebacks with the credits they revoked, per policy', async () => {
    const { engine } = ctx;
    const c = await financeCustomer(engine, '2025-06-01T00:00:00Z');
    const buy = async () => {
      const { invoice } = must(await purchaseCredits(engine, c.customer.id, { credits: '1000', amount: 10000 }));
      must(await recordPayment(engine, invoice.id, { amount: 10000 }));
      return invoice;
    };
    const first = await buy();
    await c.use(400);
    const refund = must(await createReturn(engine, 'refund', { invoice: first.id, amount: 5000, reason: 'requested', credit_policy: 'proportional' }));
    const second = await buy();
    await c.use(900);
    const chargeback = must(await createReturn(engine, 'chargeback', { invoice: second.id, amount: 10000, reason: 'fraud', credit_policy: 'full' }));
    must(await closeChargeback(engine, chargeback.id, 'won'));
    const r = await report(engine, 'refunds', { customer: c.customer.id });
    expect(r.rows.map((row) => [row.id, row.invoiceId, row.amountMinor, formatCredits(row.creditsRevokedMicro), formatCredits(row.creditsShortfallMicro), row.status])).toEqual([
      [refund.id, first.id, 5000n, formatCredits(refund.creditsRevokedMicro), formatCredits(refund.creditsShortfallMicro), 'succeeded'],
      [chargeback.id, second.id, 10000n, formatCredits(chargeback.creditsRevokedMicro), formatCredits(chargeback.creditsShortfallMicro), 'won'],
    ]);
    expect(r.totals.map((t) => [t.kind, t.creditPolicy, t.count, t.amountMinor, t.wonMinor, formatCredits(t.creditsRevokedMicro), formatCredits(t.creditsToDebtMicro)])).toEqual([
      ['chargeback', 'full', 1n, 10000n, 10000n, formatCredits(chargeback.creditsRevokedMicro), formatCredits(chargeback.creditsShortfallMicro)],
      ['refund', 'proportional', 1n, 5000n, 0n, '500', '0'],
    ]);
  });

  it('reports revenue per plan and period that matches the invoices line by line, with usage, overage and promotional consumption', async () => {
    const { engine } = ctx;
    const c = await financeCustomer(engine, '2025-01-01T00:00:00Z');
    const plan = must(await createPlan(engine, { code: uniqueCode('basic'), name: 'Basic', currency: 'USD', interval: 'month', amount: 1000, included_credits: '100', overage: { unit_amount_per_credit: '5' } }));
    must(await createSubscription(engine, { customer: c.customer.id, plan: plan.code }));
    must(await createGrant(engine, { customer: c.customer.id, credits: '20', category: 'promotional', source: 'promotion', priority: 10 }));
    await c.use(150);
    await c.advance('2025-02-01T00:00:01Z');
    await payOpenInvoices(engine, c.customer.id);
    const { invoice: bought } = must(await purchaseCredits(engine, c.customer.id, { credits: '50', amount: 700 }));
    must(await recordPayment(engine, bought.id, { amount: 700 }));
    await c.use(40);
    const jan = (await invoicesOf(engine, c.customer.id)).find((i) => i.periodStartMs === Date.parse('2025-01-01T00:00:00Z'))!;
    must(await createReturn(engine, 'refund', { invoice: jan.id, amount: 300, reason: 'goodwill', credit_policy: 'none' }));

    const revenue = await report(engine, 'revenue', { customer: c.customer.id });
    const invoices = await invoicesOf(engine, c.customer.id);
    const expected = invoices.map((i) => ({
      planId: i.planId, periodStartMs: i.periodStartMs, invoices: 1n, invoicedMinor: i.totalMinor, paidMinor: i.amountPaidMinor,
      refundedMinor: i.amountRefundedMinor, netMinor: i.amountPaidMinor - i.amountRefundedMinor,
      lines: Object.fromEntries(i.lines.map((l) => [l.type, l.amountMinor])),
    })).sort((a, b) => ((a.planId ?? '') < (b.planId ?? '') ? -1 : (a.planId ?? '') > (b.planId ?? '') ? 1 : (a.periodStartMs ?? -1) - (b.periodStartMs ?? -1)));
    expect(revenue.rows.map((r) => ({ planId: r.planId, periodStartMs: r.periodStartMs, invoices: r.invoices, invoicedMinor: r.invoicedMinor, paidMinor: r.paidMinor,
      refundedMinor: r.refundedMinor, netMinor: r.netMinor, lines: r.lines }))).toEqual(expected);
    // January: the fee; February: the fee and 30 credits of January's overage at 5 = 150; the purchase.
    expect(revenue.totals).toEqual([{ currency: 'USD', invoices: 3n, invoicedMinor: 2850n, paidMinor: 2850n, refundedMinor: 300n, chargedBackMinor: 0n, creditNotesMinor: 0n, netMinor: 2550n }]);
    expect(revenue.rows.find((r) => r.planId === plan.id && r.periodStartMs === Date.parse('2025-02-01T00:00:00Z'))!.lines).toEqual({ subscription_fee: 1000n, overage: 150n });
    expect(revenue.rows.every((r) => r.planId === null || r.planCode === plan.code)).toBe(true);

    const usage = await report(engine, 'usage', { customer: c.customer.id });
    expect(usage.rows.map((r) => [r.planCode, r.meter, formatCredits(r.creditsMicro), r.transactions])).toEqual([[plan.code, c.meter, '190', 2n]]);
    const overage = await report(engine, 'overage', { customer: c.customer.id });
    expect(overage.rows.map((r) => [r.planId, r.periodStartMs, formatCredits(r.creditsMicro), r.amountMinor])).toEqual([[plan.id, Date.parse('2025-01-01T00:00:00Z'), '30', 150n]]);
    const promotional = await report(engine, 'promotional', { customer: c.customer.id });
    expect(promotional.rows.map((r) => [r.source, formatCredits(r.issuedMicro), formatCredits(r.consumedMicro)])).toEqual([['promotion', '20', '20']]);
    expect(formatCredits(promotional.totals.totalConsumedMicro)).toBe('190');
  });

  it('refuses a window that is not RFC 3339, naming every bad field', async () => {
    const outcome = await runReport(ctx.engine, 'revenue', { from: 'yesterday', to: '2025-13-01T00:00:00Z' });
    expect(outcome.ok ? null : [outcome.error.code, outcome.error.fields?.map((f) => f.field)]).toEqual(['validation_failed', ['from', 'to']]);
  });
});
