import { describe, expect, it } from 'vitest';
import { dialects } from '../support/databases.ts';
import { unique, useServer } from '../support/server.ts';
import { at, balance, days, ingest, newCustomer, newGrant, newMeter, use } from './fixtures.ts';

/**
 * The worked examples of issue 2, over HTTP with exact numbers: graduated and package rating,
 * per-unit token pricing, and the A/B/C burn-down.
 */
describe.each(dialects)('worked examples on %s', (dialect) => {
  const ctx = useServer(dialect);

  const graduated = {
    model: 'graduated',
    tiers: [
      { up_to: 5, credits_per_unit: '5' },
      { up_to: 10, credits_per_unit: '4' },
      { up_to: 15, credits_per_unit: '3' },
      { up_to: 20, credits_per_unit: '2' },
      { up_to: null, credits_per_unit: '1' },
    ],
  };
  const package20 = { model: 'package', package_size: 20, credits_per_package: '10' };

  /** Sends one event per quantity, in separate requests, and returns the credits of each. */
  async function charges(customer: string, type: string, quantities: (number | string)[]): Promise<string[]> {
    const out: string[] = [];
    for (const n of quantities) out.push((await use(ctx.api, customer, type, n)).credits);
    return out;
  }

  it('graduated tiers 1–5 at 5, 6–10 at 4, 11–15 at 3, 16–20 at 2, 21+ at 1: 6 units cost 29', async () => {
    const { api } = ctx;
    const meter = await newMeter(api, graduated);
    const customer = await newCustomer(api);
    await newGrant(api, customer.id, '1000');
    expect(await charges(customer.id, meter.type, [6])).toEqual(['29']);
    expect(await balance(api, customer.id)).toMatchObject({ available: '971' });
    // The next 20 units continue on the period total: units 7..26 cost 4×4 + 5×3 + 5×2 + 6×1 = 47.
    expect(await charges(customer.id, meter.type, [20])).toEqual(['47']);
    expect(await balance(api, customer.id)).toMatchObject({ available: '924' });
  });

  it('graduated rating of one unit per event sums to the same 29 for 6 units', async () => {
    const { api } = ctx;
    const meter = await newMeter(api, graduated, { aggregation: 'count' });
    const customer = await newCustomer(api);
    await newGrant(api, customer.id, '1000');
    const events = Array.from({ length: 6 }, () => ({ id: unique('ev'), customer: customer.id, type: meter.type }));
    const results = await ingest(api, events);
    expect(results.map((r) => r.credits)).toEqual(['5', '5', '5', '5', '5', '4']);
    expect(await balance(api, customer.id)).toMatchObject({ available: '971' });
  });

  it('a package of 20 units at 10 credits: one event of 98 units costs 50', async () => {
    const { api } = ctx;
    const meter = await newMeter(api, package20);
    const customer = await newCustomer(api);
    await newGrant(api, customer.id, '100');
    expect(await charges(customer.id, meter.type, [98])).toEqual(['50']);
    expect(await balance(api, customer.id)).toMatchObject({ available: '50' });
  });

  it('a package of 20 units at 10 credits: several events summing to 98 units cost exactly 50 in total', async () => {
    const { api } = ctx;
    const meter = await newMeter(api, package20);
    const customer = await newCustomer(api);
    await newGrant(api, customer.id, '100');
    // 33 → 2 packages, 66 → 4, 98 → 5: the partial last block is charged once.
    expect(await charges(customer.id, meter.type, [33, 33, 32])).toEqual(['20', '20', '10']);
    expect(await balance(api, customer.id)).toMatchObject({ available: '50' });

    const other = await newCustomer(api);
    await newGrant(api, other.id, '100');
    const batch = await ingest(api, Array.from({ length: 7 }, () => ({ id: unique('ev'), customer: other.id, type: meter.type, properties: { n: 14 } })));
    expect(batch.map((r) => r.credits)).toEqual(['10', '10', '10', '0', '10', '10', '0']);
    expect(await balance(api, other.id)).toMatchObject({ available: '50' });
  });

  it('per_unit "0.002" over 1500 tokens costs "3"', async () => {
    const { api } = ctx;
    const meter = await newMeter(api, { model: 'per_unit', credits_per_unit: '0.002' }, { value_property: 'tokens' });
    const customer = await newCustomer(api);
    await newGrant(api, customer.id, '10');
    const [result] = await ingest(api, [{ id: unique('ev'), customer: customer.id, type: meter.type, properties: { tokens: 1500 } }]);
    expect(result).toMatchObject({ status: 'accepted', credits: '3' });
    expect(await balance(api, customer.id)).toMatchObject({ available: '7' });
  });

  it('per-unit prices below a micro-credit round once on the period total, never per event', async () => {
    const { api } = ctx;
    const meter = await newMeter(api, { model: 'per_unit', credits_per_unit: '0.0000005' });
    const customer = await newCustomer(api);
    await newGrant(api, customer.id, '1');
    // Totals 1, 2, 3 units cost 0.0000005 → 0.000001, 0.000001, 0.0000015 → 0.000002.
    expect(await charges(customer.id, meter.type, [1, 1, 1])).toEqual(['0.000001', '0', '0.000001']);
    expect(await balance(api, customer.id)).toMatchObject({ available: '0.999998' });
  });

  it('burn-down: A (priority 1, expires T10, 50), B (priority 1, expires T20, 80), C (priority 2, never, 100); 90 takes 50 from A, 40 from B, 0 from C', async () => {
    const { api } = ctx;
    const meter = await newMeter(api, { model: 'per_unit', credits_per_unit: '1' });
    const customer = await newCustomer(api);
    // Created in the reverse of the burn-down order, so creation order cannot explain the result.
    const c = await newGrant(api, customer.id, '100', { priority: 2 });
    const b = await newGrant(api, customer.id, '80', { priority: 1, expires_at: at(20 * days) });
    const a = await newGrant(api, customer.id, '50', { priority: 1, expires_at: at(10 * days) });
    const id = unique('ev');
    const result = await use(api, customer.id, meter.type, 90, id);
    expect(result).toEqual({ id, status: 'accepted', credits: '90', paid_by: [{ grant: a.id, credits: '50' }, { grant: b.id, credits: '40' }] });

    const after = await balance(api, customer.id);
    expect(after).toMatchObject({ available: '140', paid: '140', promotional: '0', overage: '0', debt: '0', held: '0' });
    const remaining = Object.fromEntries(after.grants.map((g: { id: string; remaining: string }) => [g.id, g.remaining]));
    expect(remaining[b.id]).toBe('40');
    expect(remaining[c.id]).toBe('100');
    expect(remaining[a.id] ?? '0').toBe('0');
    expect(after.grants.find((g: { id: string }) => g.id === b.id)).toMatchObject({ priority: 1, category: 'paid', expires_at: at(20 * days).replace('.000Z', 'Z') });
    expect(after.grants.find((g: { id: string }) => g.id === c.id)).toMatchObject({ priority: 2, expires_at: null });
    expect((await api.get(`/v1/grants/${a.id}`)).body).toMatchObject({ remaining: '0', status: 'active' });

    const explained = await api.get(`/v1/usage_events/${id}`);
    expect(explained.body.paid_by).toEqual([{ grant: a.id, credits: '50' }, { grant: b.id, credits: '40' }]);
    expect(explained.body.transaction.entries).toEqual(expect.arrayContaining([
      { account: `grant:${a.id}`, amount: '-50' },
      { account: `grant:${b.id}`, amount: '-40' },
    ]));
    expect(explained.body.transaction.entries.some((e: { account: string }) => e.account === `grant:${c.id}`)).toBe(false);
  });

  it('burn-down: promotional before paid at equal priority and expiry; never-expiring last', async () => {
    const { api } = ctx;
    const meter = await newMeter(api, { model: 'per_unit', credits_per_unit: '1' });
    const customer = await newCustomer(api);
    const forever = await newGrant(api, customer.id, '10');
    const paid = await newGrant(api, customer.id, '10', { expires_at: at(5 * days) });
    const promo = await newGrant(api, customer.id, '10', { category: 'promotional', source: 'promotion', expires_at: at(5 * days) });
    const result = await use(api, customer.id, meter.type, 25);
    expect(result.paid_by).toEqual([{ grant: promo.id, credits: '10' }, { grant: paid.id, credits: '10' }, { grant: forever.id, credits: '5' }]);
    expect(await balance(api, customer.id)).toMatchObject({ available: '5', paid: '5', promotional: '0' });
  });
});
