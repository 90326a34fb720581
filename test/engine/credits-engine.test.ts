import { describe, expect, it } from 'vitest';
import { dialects } from '../support/databases.ts';
import { must, useEngine } from '../support/engine.ts';
import { createTestClock, advanceTestClock } from '../../src/engine/test-clocks.ts';
import { createCustomer } from '../../src/engine/customers.ts';
import { createGrant, voidGrant } from '../../src/engine/grants.ts';
import { createMeter } from '../../src/engine/meters.ts';
import { ingestEvents } from '../../src/engine/ingest-events.ts';
import { getBalance } from '../../src/engine/balance.ts';
import { formatCredits } from '../../src/core/decimal.ts';

const T0 = '2026-03-01T00:00:00Z';

describe.each(dialects)('credits engine on %s', (dialect) => {
  const ctx = useEngine(dialect);

  async function customerOnClock(overage = false) {
    const clock = must(await createTestClock(ctx.engine, { frozen_time: T0 }));
    const customer = must(await createCustomer(ctx.engine, { currency: 'USD', test_clock: clock.id, overage }));
    return { clock, customer };
  }

  it('burns down in the documented order: 90 takes 50 from A, 40 from B, 0 from C', async () => {
    const { customer } = await customerOnClock();
    const a = must(await createGrant(ctx.engine, { customer: customer.id, credits: '50', category: 'paid', source: 'purchase', priority: 1, expires_at: '2026-03-10T00:00:00Z' }));
    const b = must(await createGrant(ctx.engine, { customer: customer.id, credits: '80', category: 'paid', source: 'purchase', priority: 1, expires_at: '2026-03-20T00:00:00Z' }));
    const c = must(await createGrant(ctx.engine, { customer: customer.id, credits: '100', category: 'paid', source: 'purchase', priority: 2 }));
    must(await createMeter(ctx.engine, { code: `job_${dialect}`, event_type: `job_${dialect}`, aggregation: 'sum', value_property: 'credits', rate: { model: 'per_unit', credits_per_unit: '1' } }));
    const [result] = await ingestEvents(ctx.engine, [{ id: `e1-${dialect}`, customer: customer.id, type: `job_${dialect}`, properties: { credits: 90 } }]);
    expect(result).toMatchObject({ status: 'accepted', credits: '90', paid_by: [{ grant: a.id, credits: '50' }, { grant: b.id, credits: '40' }] });
    const balance = must(await getBalance(ctx.engine, customer.id)).balance;
    expect(formatCredits(balance.availableMicro)).toBe('140');
    expect(balance.grants.map((g) => [g.id, formatCredits(g.remainingMicro)])).toEqual([[b.id, '40'], [c.id, '100']]);
  });

  it('breaks a tie by creation order, however the grant rows are stored: 70 takes 50 from the first grant, 20 from the second', async () => {
    const { customer } = await customerOnClock();
    const same = { customer: customer.id, category: 'paid', source: 'purchase', priority: 1, effective_at: T0 } as const;
    const first = must(await createGrant(ctx.engine, { ...same, credits: '50' }));
    const second = must(await createGrant(ctx.engine, { ...same, credits: '80' }));
    // Store the first grant's row after the second's, so that a read in storage order sees them reversed.
    const c = ctx.engine.store.read.c;
    if (dialect === 'sqlite') await c.run(`UPDATE grants SET rowid = (SELECT MAX(rowid) + 1 FROM grants) WHERE id = ?`, [first.id]);
    else await c.run(`UPDATE grants SET metadata = metadata WHERE id = ?`, [first.id]);
    const type = `tie_${dialect}`;
    must(await createMeter(ctx.engine, { code: type, event_type: type, aggregation: 'sum', value_property: 'credits', rate: { model: 'per_unit', credits_per_unit: '1' } }));
    const [result] = await ingestEvents(ctx.engine, [{ id: `tie-${dialect}`, customer: customer.id, type, properties: { credits: 70 } }]);
    expect(result).toMatchObject({ status: 'accepted', credits: '70', paid_by: [{ grant: first.id, credits: '50' }, { grant: second.id, credits: '20' }] });
    expect(must(await getBalance(ctx.engine, customer.id)).balance.grants.map((g) => [g.id, formatCredits(g.remainingMicro)])).toEqual([[second.id, '60']]);
  });

  it('rates graduated tiers exactly across events and charges a duplicate once', async () => {
    const { customer } = await customerOnClock(true);
    must(await createMeter(ctx.engine, {
      code: `calls_${dialect}`, event_type: `call_${dialect}`, aggregation: 'count',
      rate: { model: 'graduated', tiers: [{ up_to: 5, credits_per_unit: '5' }, { up_to: 10, credits_per_unit: '4' }, { up_to: 15, credits_per_unit: '3' }, { up_to: 20, credits_per_unit: '2' }, { up_to: null, credits_per_unit: '1' }] },
    }));
    const events = Array.from({ length: 6 }, (_, i) => ({ id: `call-${dialect}-${i}`, customer: customer.id, type: `call_${dialect}` }));
    const first = await ingestEvents(ctx.engine, events);
    expect(first.map((r) => r.credits)).toEqual(['5', '5', '5', '5', '5', '4']);
    const again = await ingestEvents(ctx.engine, events);
    expect(again.every((r) => r.status === 'duplicate')).toBe(true);
    const balance = must(await getBalance(ctx.engine, customer.id)).balance;
    expect(formatCredits(balance.overageMicro)).toBe('29');
  });

  it('expires grants when the clock passes expires_at, and voids what is left', async () => {
    const { clock, customer } = await customerOnClock();
    must(await createGrant(ctx.engine, { customer: customer.id, credits: '10', category: 'promotional', source: 'promotion', expires_at: '2026-03-05T00:00:00Z' }));
    const keep = must(await createGrant(ctx.engine, { customer: customer.id, credits: '7', category: 'paid', source: 'purchase' }));
    const advanced = must(await advanceTestClock(ctx.engine, clock.id, { frozen_time: '2026-03-06T00:00:00Z' }));
    expect(advanced.ran).toBe(1);
    expect(formatCredits(must(await getBalance(ctx.engine, customer.id)).balance.availableMicro)).toBe('7');
    must(await voidGrant(ctx.engine, keep.id, 'test'));
    expect(formatCredits(must(await getBalance(ctx.engine, customer.id)).balance.availableMicro)).toBe('0');
    expect(await ctx.engine.store.read.ledger.balanceDiscrepancies()).toEqual([]);
    expect(await ctx.engine.store.read.ledger.unbalancedTransactions()).toEqual([]);
  });
});

describe.each(dialects)('in-batch ids on %s', (dialect) => {
  const ctx = useEngine(dialect);

  it('a rejected event claims nothing: the same id with a good body later in the batch is accepted', async () => {
    const clock = must(await createTestClock(ctx.engine, { frozen_time: T0 }));
    const customer = must(await createCustomer(ctx.engine, { currency: 'USD', test_clock: clock.id, overage: true }));
    must(await createMeter(ctx.engine, { code: `n_${dialect}`, event_type: `n_${dialect}`, aggregation: 'sum', value_property: 'n', rate: { model: 'per_unit', credits_per_unit: '1' } }));
    const event = (n: number) => ({ id: 'x1', customer: customer.id, type: `n_${dialect}`, properties: { n } });
    const results = await ingestEvents(ctx.engine, [event(-1), event(2), event(2), event(3)]);
    expect(results.map((r) => [r.status, r.error?.code ?? r.credits])).toEqual([
      ['rejected', 'negative_quantity'], ['accepted', '2'], ['duplicate', '2'], ['rejected', 'idempotency_conflict'],
    ]);
  });
});

describe.each(dialects)('debt settlement on %s', (dialect) => {
  const ctx = useEngine(dialect);

  it('pays debt down when a future-effective grant takes effect', async () => {
    const clock = must(await createTestClock(ctx.engine, { frozen_time: T0 }));
    const customer = must(await createCustomer(ctx.engine, { currency: 'USD', test_clock: clock.id }));
    must(await createMeter(ctx.engine, { code: `d_${dialect}`, event_type: `d_${dialect}`, aggregation: 'sum', value_property: 'n', rate: { model: 'per_unit', credits_per_unit: '1' } }));
    await ingestEvents(ctx.engine, [{ id: `debt-${dialect}`, customer: customer.id, type: `d_${dialect}`, properties: { n: 5 } }]);
    must(await createGrant(ctx.engine, { customer: customer.id, credits: '20', category: 'paid', source: 'adjustment', effective_at: '2026-03-02T00:00:00Z' }));
    let balance = must(await getBalance(ctx.engine, customer.id)).balance;
    expect([formatCredits(balance.availableMicro), formatCredits(balance.debtMicro)]).toEqual(['0', '5']);
    must(await advanceTestClock(ctx.engine, clock.id, { frozen_time: '2026-03-03T00:00:00Z' }));
    balance = must(await getBalance(ctx.engine, customer.id)).balance;
    expect([formatCredits(balance.availableMicro), formatCredits(balance.debtMicro)]).toEqual(['15', '0']);
    expect(await ctx.engine.store.read.ledger.balanceDiscrepancies()).toEqual([]);
  });
});

describe.each(dialects)('amount bounds on %s', (dialect) => {
  const ctx = useEngine(dialect);

  it('refuses an event whose charge exceeds what a 64-bit amount holds, and keeps the rest of its batch', async () => {
    const clock = must(await createTestClock(ctx.engine, { frozen_time: T0 }));
    const customer = must(await createCustomer(ctx.engine, { currency: 'USD', test_clock: clock.id, overage: true }));
    must(await createMeter(ctx.engine, { code: `big_${dialect}`, event_type: `big_${dialect}`, aggregation: 'sum', value_property: 'n', rate: { model: 'per_unit', credits_per_unit: '1000' } }));
    const results = await ingestEvents(ctx.engine, [
      { id: `ok-${dialect}`, customer: customer.id, type: `big_${dialect}`, properties: { n: 1 } },
      { id: `huge-${dialect}`, customer: customer.id, type: `big_${dialect}`, properties: { n: '100000000000' } },
      { id: `ok2-${dialect}`, customer: customer.id, type: `big_${dialect}`, properties: { n: 2 } },
    ]);
    expect(results.map((r) => [r.status, r.error?.code ?? r.credits])).toEqual([['accepted', '1000'], ['rejected', 'amount_out_of_range'], ['accepted', '2000']]);
    expect(await ctx.engine.store.read.usage.event(`huge-${dialect}`)).toBeNull();
    expect(formatCredits(must(await getBalance(ctx.engine, customer.id)).balance.overageMicro)).toBe('3000');
  });
});
