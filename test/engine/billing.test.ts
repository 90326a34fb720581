import { describe, expect, it } from 'vitest';
import { dialects } from '../support/databases.ts';
import { must, useEngine } from '../support/engine.ts';
import { advanceTestClock, createTestClock } from '../../src/engine/test-clocks.ts';
import { createCustomer } from '../../src/engine/customers.ts';
import { createPlan } from '../../src/engine/plans.ts';
import { cancelSubscription, changeSubscription, createSubscription } from '../../src/engine/subscriptions.ts';
import { createMeter } from '../../src/engine/meters.ts';
import { ingestEvents } from '../../src/engine/ingest-events.ts';
import { getBalance } from '../../src/engine/balance.ts';
import { formatCredits } from '../../src/core/decimal.ts';
import type { Engine } from '../../src/engine/context.ts';

let seq = 0;
const code = (name: string) => `${name}_${++seq}`;

async function setup(engine: Engine, frozen: string) {
  const clock = must(await createTestClock(engine, { frozen_time: frozen }));
  // A year's payment terms: these scenarios are about periods and proration, not collection.
  const customer = must(await createCustomer(engine, { currency: 'USD', test_clock: clock.id, net_days: 365 }));
  return { clock, customer };
}

async function invoices(engine: Engine, customerId: string) {
  return (await engine.store.read.billing.listInvoices({ customerId }, { limit: 100 })).data;
}

async function available(engine: Engine, customerId: string) {
  return formatCredits(must(await getBalance(engine, customerId)).balance.availableMicro);
}

describe.each(dialects)('plans and subscriptions on %s', (dialect) => {
  const ctx = useEngine(dialect);

  it('prorates 10.00 to 20.00 at half a period: -5.00 and +10.00; credits 1000 to 3000 with 200 used leave 1800', async () => {
    const { engine } = ctx;
    const { clock, customer } = await setup(engine, '2026-04-01T00:00:00Z');
    const a = must(await createPlan(engine, { code: code('a'), name: 'A', currency: 'USD', interval: 'month', amount: 1000, included_credits: '1000' }));
    const b = must(await createPlan(engine, { code: code('b'), name: 'B', currency: 'USD', interval: 'month', amount: 2000, included_credits: '3000' }));
    const meter = code('work');
    must(await createMeter(engine, { code: meter, event_type: meter, aggregation: 'sum', value_property: 'n', rate: { model: 'per_unit', credits_per_unit: '1' } }));
    const sub = must(await createSubscription(engine, { customer: customer.id, plan: a.code }));
    expect(await available(engine, customer.id)).toBe('1000');
    await ingestEvents(engine, [{ id: code('e'), customer: customer.id, type: meter, properties: { n: 200 } }]);
    must(await advanceTestClock(engine, clock.id, { frozen_time: '2026-04-16T00:00:00Z' }));
    must(await changeSubscription(engine, sub.id, { plan: b.code, timing: 'immediate' }));
    const all = await invoices(engine, customer.id);
    const proration = all.find((i) => i.kind === 'proration')!;
    expect(proration.lines.map((l) => [l.type, l.amountMinor])).toEqual([['proration_credit', -500n], ['proration_charge', 1000n]]);
    expect(proration.totalMinor).toBe(500n);
    expect(await available(engine, customer.id)).toBe('1800');
  });

  it('credits unused time to the second: 2017-02-14..03-14 changed at 2017-03-03T19:14:48Z gives -3.64', async () => {
    const { engine } = ctx;
    const { clock, customer } = await setup(engine, '2017-02-14T00:00:00Z');
    const a = must(await createPlan(engine, { code: code('a'), name: 'A', currency: 'USD', interval: 'month', amount: 1000, included_credits: '0' }));
    const b = must(await createPlan(engine, { code: code('b'), name: 'B', currency: 'USD', interval: 'month', amount: 2000, included_credits: '0' }));
    const sub = must(await createSubscription(engine, { customer: customer.id, plan: a.code }));
    must(await advanceTestClock(engine, clock.id, { frozen_time: '2017-03-03T19:14:48Z' }));
    must(await changeSubscription(engine, sub.id, { plan: b.code, timing: 'immediate' }));
    const proration = (await invoices(engine, customer.id)).find((i) => i.kind === 'proration')!;
    expect(proration.lines.map((l) => l.amountMinor)).toEqual([-364n, 728n]);
  });

  it('anchors periods on the start and clamps month ends: Jan 31 renews Feb 29, then Mar 31', async () => {
    const { engine } = ctx;
    const { clock, customer } = await setup(engine, '2024-01-31T10:00:00Z');
    const plan = must(await createPlan(engine, { code: code('m'), name: 'M', currency: 'USD', interval: 'month', amount: 500, included_credits: '10' }));
    must(await createSubscription(engine, { customer: customer.id, plan: plan.code }));
    must(await advanceTestClock(engine, clock.id, { frozen_time: '2024-04-15T00:00:00Z' }));
    const starts = (await invoices(engine, customer.id)).map((i) => new Date(i.periodStartMs!).toISOString());
    expect(starts).toEqual(['2024-01-31T10:00:00.000Z', '2024-02-29T10:00:00.000Z', '2024-03-31T10:00:00.000Z']);
    expect(await available(engine, customer.id)).toBe('10');
  });

  it('runs a year: renewals, rollover, overage in arrears, an upgrade, a downgrade at period end and a cancellation', async () => {
    const { engine } = ctx;
    const { clock, customer } = await setup(engine, '2026-01-01T00:00:00Z');
    const meter = code('tokens');
    must(await createMeter(engine, { code: meter, event_type: meter, aggregation: 'sum', value_property: 'n', rate: { model: 'per_unit', credits_per_unit: '1' } }));
    const basic = must(await createPlan(engine, {
      code: code('basic'), name: 'Basic', currency: 'USD', interval: 'month', amount: 1000, included_credits: '100',
      rollover: { max_credits: '30' }, overage: { unit_amount_per_credit: '5' },
    }));
    const pro = must(await createPlan(engine, {
      code: code('pro'), name: 'Pro', currency: 'USD', interval: 'month', amount: 3000, included_credits: '400', overage: { unit_amount_per_credit: '2' },
    }));
    const sub = must(await createSubscription(engine, { customer: customer.id, plan: basic.code }));
    let n = 0;
    const use = async (credits: number, at: string) => {
      must(await advanceTestClock(engine, clock.id, { frozen_time: at }));
      const [r] = await ingestEvents(engine, [{ id: `${customer.id}-${++n}`, customer: customer.id, type: meter, properties: { n: credits } }]);
      expect(r!.status).toBe('accepted');
    };
    // January: use 60 of 100; 40 left, 30 roll over into February (130 available).
    await use(60, '2026-01-10T00:00:00Z');
    await use(0, '2026-02-01T00:00:01Z');
    expect(await available(engine, customer.id)).toBe('130');
    // February: use 150 → 20 overage at 5 minor units each = 100, billed on the March invoice.
    await use(150, '2026-02-20T00:00:00Z');
    await use(0, '2026-03-01T00:00:01Z');
    let all = await invoices(engine, customer.id);
    const march = all.find((i) => new Date(i.periodStartMs!).toISOString().startsWith('2026-03-01'))!;
    expect(march.lines.map((l) => [l.type, l.quantity, l.amountMinor])).toEqual([['subscription_fee', '1', 1000n], ['overage', '20', 100n]]);
    expect(march.totalMinor).toBe(1100n);
    // Mid-March (March 16 of a 31-day month): upgrade to Pro. 16/31 of the period remains.
    await use(0, '2026-03-16T00:00:00Z');
    must(await changeSubscription(engine, sub.id, { plan: pro.code, timing: 'immediate' }));
    all = await invoices(engine, customer.id);
    const upgrade = all.find((i) => i.kind === 'proration')!;
    expect(upgrade.lines.map((l) => [l.type, l.amountMinor])).toEqual([['proration_credit', -516n], ['proration_charge', 1548n]]);
    // Credits: revoke 100×16/31 = 51.612903 of Basic's 100; grant 400×16/31 = 206.451613.
    expect(await available(engine, customer.id)).toBe('254.83871');
    // Downgrade at period end: April runs on Basic again.
    must(await changeSubscription(engine, sub.id, { plan: basic.code, timing: 'period_end' }));
    await use(0, '2026-04-01T00:00:01Z');
    all = await invoices(engine, customer.id);
    const april = all.find((i) => new Date(i.periodStartMs!).toISOString().startsWith('2026-04-01'))!;
    expect(april.planId).toBe(basic.id);
    expect(april.lines.map((l) => [l.type, l.amountMinor])).toEqual([['subscription_fee', 1000n]]);
    // Pro has no rollover, so April starts with Basic's 100 only.
    expect(await available(engine, customer.id)).toBe('100');
    // Run to December, then cancel at period end: renewals through December, none after.
    await use(10, '2026-12-15T00:00:00Z');
    must(await cancelSubscription(engine, sub.id, { timing: 'period_end' }));
    await use(0, '2027-02-15T00:00:00Z');
    all = await invoices(engine, customer.id);
    const fees = all.filter((i) => i.kind === 'subscription').map((i) => new Date(i.periodStartMs!).toISOString().slice(0, 7));
    expect(fees).toEqual(['2026-01', '2026-02', '2026-03', '2026-04', '2026-05', '2026-06', '2026-07', '2026-08', '2026-09', '2026-10', '2026-11', '2026-12']);
    expect(must(await getBalance(engine, customer.id)).balance.overageMicro).toBe(0n);
    expect(await engine.store.read.ledger.balanceDiscrepancies()).toEqual([]);
    expect(await engine.store.read.ledger.unbalancedTransactions()).toEqual([]);
  });
});

describe.each(dialects)('overage limit on %s', (dialect) => {
  const ctx = useEngine(dialect);

  it('authorizes overage only within the plan limit for the period', async () => {
    const { engine } = ctx;
    const { customer } = await setup(engine, '2026-04-01T00:00:00Z');
    const meter = code('m');
    must(await createMeter(engine, { code: meter, event_type: meter, aggregation: 'sum', value_property: 'n', rate: { model: 'per_unit', credits_per_unit: '1' } }));
    const plan = must(await createPlan(engine, { code: code('capped'), name: 'Capped', currency: 'USD', interval: 'month', amount: 0, included_credits: '10', overage: { unit_amount_per_credit: '1', limit_credits: '5' } }));
    must(await createSubscription(engine, { customer: customer.id, plan: plan.code }));
    const { authorize } = await import('../../src/engine/authorize.ts');
    expect(must(await authorize(engine, customer.id, { credits: '15' }))).toMatchObject({ allowed: true, reason: 'overage_allowed' });
    expect(must(await authorize(engine, customer.id, { credits: '16' }))).toMatchObject({ allowed: false, reason: 'overage_limit_reached' });
    await ingestEvents(engine, [{ id: code('e'), customer: customer.id, type: meter, properties: { n: 13 } }]);
    expect(must(await authorize(engine, customer.id, { credits: '2' }))).toMatchObject({ allowed: true });
    expect(must(await authorize(engine, customer.id, { credits: '3' }))).toMatchObject({ allowed: false, reason: 'overage_limit_reached' });
  });
});
