import { describe, expect, it } from 'vitest';
import { dialects } from '../support/databases.ts';
import { must, useEngine } from '../support/engine.ts';
import { createTestClock } from '../../src/engine/test-clocks.ts';
import { createCustomer } from '../../src/engine/customers.ts';
import { createMeter } from '../../src/engine/meters.ts';
import { ingestEvents } from '../../src/engine/ingest-events.ts';
import { purchaseCredits } from '../../src/engine/purchases.ts';
import { recordPayment } from '../../src/engine/invoices.ts';
import { closeChargeback, createReturn } from '../../src/engine/refunds.ts';
import { voidGrant } from '../../src/engine/grants.ts';
import { reconcile } from '../../src/engine/reconcile.ts';
import { getBalance } from '../../src/engine/balance.ts';
import { formatCredits } from '../../src/core/decimal.ts';
import type { CreditPolicy } from '../../src/core/claw-back.ts';

let seq = 0;

describe.each(dialects)('refunds and chargebacks on %s', (dialect) => {
  const ctx = useEngine(dialect);
  const meter = `spend_${dialect}`;

  /** An invoice of 100.00 that granted 1000 credits, paid, with `spent` credits used. */
  async function paidPurchase(spent: number) {
    const { engine } = ctx;
    if (!(await engine.store.read.usage.meterByCode(meter))) must(await createMeter(engine, { code: meter, event_type: meter, aggregation: 'sum', value_property: 'n', rate: { model: 'per_unit', credits_per_unit: '1' } }));
    const clock = must(await createTestClock(engine, { frozen_time: '2026-06-01T00:00:00Z' }));
    const customer = must(await createCustomer(engine, { currency: 'USD', test_clock: clock.id }));
    const { invoice } = must(await purchaseCredits(engine, customer.id, { credits: '1000', amount: 10000 }));
    must(await recordPayment(engine, invoice.id, { amount: 10000 }));
    await ingestEvents(engine, [{ id: `spend-${dialect}-${++seq}`, customer: customer.id, type: meter, properties: { n: spent } }]);
    return { customer, invoice };
  }

  const balance = async (id: string) => {
    const b = must(await getBalance(ctx.engine, id)).balance;
    return { available: formatCredits(b.availableMicro), debt: formatCredits(b.debtMicro) };
  };

  it.each<[CreditPolicy, number, string, string, string]>([
    ['proportional', 400, '500', '0', '100'],
    ['full', 400, '600', '400', '0'],
    ['unused_only', 400, '500', '0', '100'],
    ['none', 400, '0', '0', '600'],
    ['proportional', 900, '100', '400', '0'],
    ['unused_only', 900, '100', '0', '0'],
  ])('%s with %i spent revokes %s, shortfall %s, leaves %s', async (policy, spent, revoked, shortfall, left) => {
    const { customer, invoice } = await paidPurchase(spent);
    const refund = must(await createReturn(ctx.engine, 'refund', { invoice: invoice.id, amount: 5000, reason: 'requested', credit_policy: policy }));
    expect(formatCredits(refund.creditsRevokedMicro)).toBe(revoked);
    expect(formatCredits(refund.creditsShortfallMicro)).toBe(shortfall);
    expect(await balance(customer.id)).toEqual({ available: left, debt: shortfall });
    const txns = refund.txnId ? await ctx.engine.store.read.ledger.transactions([refund.txnId]) : [];
    if (revoked !== '0' || shortfall !== '0') expect(txns[0]!.causeId).toBe(refund.id);
    const again = await createReturn(ctx.engine, 'refund', { invoice: invoice.id, amount: 5001, reason: 'too much', credit_policy: 'none' });
    expect(again.ok ? 'ok' : again.error.code).toBe('amount_exceeds_paid');
  });

  it('writes the shortfall off instead of recording debt when asked', async () => {
    const { customer, invoice } = await paidPurchase(900);
    const refund = must(await createReturn(ctx.engine, 'refund', { invoice: invoice.id, amount: 5000, reason: 'r', credit_policy: 'proportional', shortfall: 'write_off' }));
    expect([formatCredits(refund.creditsRevokedMicro), formatCredits(refund.creditsShortfallMicro), refund.shortfallHandling]).toEqual(['100', '400', 'write_off']);
    expect(await balance(customer.id)).toEqual({ available: '0', debt: '0' });
  });

  it('restores exactly what a chargeback revoked when it is won, and keeps it when lost', async () => {
    const won = await paidPurchase(400);
    const cb = must(await createReturn(ctx.engine, 'chargeback', { invoice: won.invoice.id, amount: 10000, reason: 'fraud', credit_policy: 'full' }));
    expect(await balance(won.customer.id)).toEqual({ available: '0', debt: '400' });
    const closed = must(await closeChargeback(ctx.engine, cb.id, 'won'));
    expect(closed.restoreTxnId).not.toBeNull();
    expect(await balance(won.customer.id)).toEqual({ available: '600', debt: '0' });
    const inv = (await ctx.engine.store.read.billing.invoice(won.invoice.id))!;
    expect(inv.amountChargedBackMinor).toBe(0n);

    const lost = await paidPurchase(400);
    const cb2 = must(await createReturn(ctx.engine, 'chargeback', { invoice: lost.invoice.id, amount: 10000, reason: 'fraud', credit_policy: 'full' }));
    must(await closeChargeback(ctx.engine, cb2.id, 'lost'));
    expect(await balance(lost.customer.id)).toEqual({ available: '0', debt: '400' });
    expect(await ctx.engine.store.read.ledger.balanceDiscrepancies()).toEqual([]);
  });
});

describe.each(dialects)('a chargeback won after its grant was voided, on %s', (dialect) => {
  const ctx = useEngine(dialect);

  /** A paid purchase of 1000 credits with `spent` used, charged back in full, its grant then voided. */
  async function voidedAfterChargeback(spent: number) {
    const { engine } = ctx;
    const meter = `void_cb_${dialect}`;
    if (!(await engine.store.read.usage.meterByCode(meter))) must(await createMeter(engine, { code: meter, event_type: meter, aggregation: 'sum', value_property: 'n', rate: { model: 'per_unit', credits_per_unit: '1' } }));
    const clock = must(await createTestClock(engine, { frozen_time: '2026-06-01T00:00:00Z' }));
    const customer = must(await createCustomer(engine, { currency: 'USD', test_clock: clock.id }));
    const { invoice, grant } = must(await purchaseCredits(engine, customer.id, { credits: '1000', amount: 10000 }));
    must(await recordPayment(engine, invoice.id, { amount: 10000 }));
    if (spent > 0) await ingestEvents(engine, [{ id: `void-cb-${dialect}-${++seq}`, customer: customer.id, type: meter, properties: { n: spent } }]);
    const cb = must(await createReturn(engine, 'chargeback', { invoice: invoice.id, amount: 10000, reason: 'fraud', credit_policy: 'full' }));
    must(await voidGrant(engine, grant.id, 'closed account'));
    return { customer, cb };
  }

  async function expectClean() {
    const report = must(await reconcile(ctx.engine, {}));
    expect(report.discrepancies).toEqual([]);
    expect(await ctx.engine.store.read.ledger.balanceDiscrepancies()).toEqual([]);
  }

  it('restores nothing when every credit it revoked was the voided grant\'s', async () => {
    const { customer, cb } = await voidedAfterChargeback(0);
    const closed = must(await closeChargeback(ctx.engine, cb.id, 'won'));
    expect([closed.status, closed.restoreTxnId]).toEqual(['won', null]);
    expect(await balance(customer.id)).toEqual({ available: '0', debt: '0' });
    await expectClean();
  });

  it('cancels the debt still owed and keeps the voided grant\'s credits revoked', async () => {
    const { customer, cb } = await voidedAfterChargeback(400);
    expect(await balance(customer.id)).toEqual({ available: '0', debt: '400' });
    const closed = must(await closeChargeback(ctx.engine, cb.id, 'won'));
    expect(closed.restoreTxnId).not.toBeNull();
    expect(await balance(customer.id)).toEqual({ available: '0', debt: '0' });
    await expectClean();
  });

  const balance = async (id: string) => {
    const b = must(await getBalance(ctx.engine, id)).balance;
    return { available: formatCredits(b.availableMicro), debt: formatCredits(b.debtMicro) };
  };
});

describe.each(dialects)('a won chargeback after the debt was repaid, on %s', (dialect) => {
  const ctx = useEngine(dialect);

  it('gives the repaid shortfall back as credits instead of pushing debt above zero', async () => {
    const { engine } = ctx;
    const meter = `cb_${dialect}`;
    must(await createMeter(engine, { code: meter, event_type: meter, aggregation: 'sum', value_property: 'n', rate: { model: 'per_unit', credits_per_unit: '1' } }));
    const clock = must(await createTestClock(engine, { frozen_time: '2026-06-01T00:00:00Z' }));
    const customer = must(await createCustomer(engine, { currency: 'USD', test_clock: clock.id }));
    const { invoice } = must(await purchaseCredits(engine, customer.id, { credits: '1000', amount: 10000 }));
    must(await recordPayment(engine, invoice.id, { amount: 10000 }));
    await ingestEvents(engine, [{ id: `cb-spend-${dialect}`, customer: customer.id, type: meter, properties: { n: 400 } }]);
    const cb = must(await createReturn(engine, 'chargeback', { invoice: invoice.id, amount: 10000, reason: 'fraud', credit_policy: 'full' }));
    const { invoice: second } = must(await purchaseCredits(engine, customer.id, { credits: '1000', amount: 10000 }));
    must(await recordPayment(engine, second.id, { amount: 10000 }));
    let b = must(await getBalance(engine, customer.id)).balance;
    expect([formatCredits(b.availableMicro), formatCredits(b.debtMicro)]).toEqual(['600', '0']);
    must(await closeChargeback(engine, cb.id, 'won'));
    b = must(await getBalance(engine, customer.id)).balance;
    // 600 restored to the first grant, and the 400 repaid from the second purchase come back too.
    expect([formatCredits(b.availableMicro), formatCredits(b.debtMicro)]).toEqual(['1600', '0']);
    const report = must(await reconcile(engine, {}));
    expect(report.discrepancies.filter((d) => d.ids.includes(cb.id) || d.check.includes('refund'))).toEqual([]);
    expect(await engine.store.read.ledger.balanceDiscrepancies()).toEqual([]);
    expect(await engine.store.read.ledger.unbalancedTransactions()).toEqual([]);
  });
});
