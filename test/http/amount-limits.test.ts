import { describe, expect, it } from 'vitest';
import { dialects } from '../support/databases.ts';
import { unique, useServer, type Api } from '../support/server.ts';
import { advance, balance, listAll, newClock, newCustomer, perUnitMeter, use } from './fixtures.ts';

/**
 * Money at the edges of what Tally stores and sends (PRODUCT §1, §16): an overage price past the
 * column that keeps it is refused with its field; an overage line past the largest amount an
 * invoice line carries (10^15 minor units) is left unbilled and named by reconciliation while the
 * renewal goes on; a reply whose sums pass 2^53 - 1 minor units is refused with 422, never rounded
 * and never a 5xx.
 */
describe.each(dialects)('money at its limits on %s', (dialect) => {
  const ctx = useServer(dialect);

  const plan = (api: Api, price: string) => api.post('/v1/plans', {
    code: unique('plan'), name: 'Edge', currency: 'USD', interval: 'month', amount: 1000, included_credits: '0', overage: { unit_amount_per_credit: price },
  });

  it('refuses an overage price above 10^12 minor units a credit with the field, storing no plan; takes 10^12 itself', async () => {
    const { api } = ctx;
    const before = (await listAll(api, '/v1/plans')).length;
    for (const price of ['1000000000000.000001', '1000000000001', '999999999999999']) {
      const refused = await plan(api, price);
      expect(refused.status, JSON.stringify(refused.body)).toBe(400);
      expect(refused.body.error.details.fields).toEqual([expect.objectContaining({ field: 'overage.unit_amount_per_credit', code: 'out_of_range' })]);
    }
    expect(await listAll(api, '/v1/plans')).toHaveLength(before);
    const taken = await plan(api, '1000000000000');
    expect(taken.status, JSON.stringify(taken.body)).toBe(201);
    expect(taken.body.overage.unit_amount_per_credit).toBe('1000000000000');
  });

  it('bills overage up to 10^15 minor units on a line; past it the renewal goes on, the overage stays and reconciliation names the period', async () => {
    const { api } = ctx;
    const clock = await newClock(api, '2026-03-01T00:00:00Z');
    const meter = await perUnitMeter(api);
    const created = await plan(api, '1000000000000');
    expect(created.status).toBe(201);
    const [atMax, past] = [await newCustomer(api, { clock, overage: true }), await newCustomer(api, { clock, overage: true })];
    const subs: string[] = [];
    for (const customer of [atMax, past]) {
      const sub = await api.post('/v1/subscriptions', { customer: customer.id, plan: created.body.code });
      expect(sub.status, JSON.stringify(sub.body)).toBe(201);
      subs.push(sub.body.id);
    }
    // 1,000 credits at 10^12 minor units each: 10^15, the largest line. 1,001: one credit's price past it.
    await use(api, atMax.id, meter.type, 1000);
    await use(api, past.id, meter.type, 1001);
    const ready = await advance(api, clock, '2026-04-01T00:00:00Z');
    expect(ready.status).toBe('ready');

    const billed = await listAll(api, `/v1/invoices?customer=${atMax.id}`);
    expect(billed.map((i) => i.total)).toEqual([1000, 1000 + 10 ** 15]);
    expect(billed[1].lines[1]).toMatchObject({ type: 'overage', quantity: '1000', unit_amount: '1000000000000', amount: 10 ** 15 });
    expect(await balance(api, atMax.id)).toMatchObject({ overage: '0' });

    // The renewal of the other went on: its second period began with its fee, and its overage waits.
    const unbilled = await listAll(api, `/v1/invoices?customer=${past.id}`);
    expect(unbilled.map((i) => [i.total, i.lines.map((l: any) => l.type)])).toEqual([[1000, ['subscription_fee']], [1000, ['subscription_fee']]]);
    expect((await api.get(`/v1/subscriptions/${subs[1]}`)).body.current_period).toMatchObject({ index: 1, start: '2026-04-01T00:00:00Z' });
    expect(await balance(api, past.id)).toMatchObject({ overage: '1001' });

    const reconciliation = (await api.get('/v1/reconciliation')).body;
    const named = reconciliation.discrepancies.filter((d: any) => d.check === 'overage_invoiced');
    expect(named.some((d: any) => d.ids.includes(subs[1]))).toBe(true);
    expect(named.some((d: any) => d.ids.includes(subs[0]))).toBe(false);
  });

  it('answers 422 amount_beyond_json for a report whose sums pass 2^53 - 1 minor units, and the report of one customer', async () => {
    const { api } = ctx;
    const customers: string[] = [];
    // Ten purchases of 10^15 minor units (the largest amount a caller sends) sum to 10^16.
    for (let i = 0; i < 10; i++) {
      const customer = await newCustomer(api, { clock: null });
      const bought = await api.post(`/v1/customers/${customer.id}/purchases`, { credits: '1', amount: 10 ** 15 });
      expect(bought.status, JSON.stringify(bought.body)).toBe(201);
      customers.push(customer.id);
    }
    const whole = await api.get('/v1/reports/revenue');
    expect(whole.status, JSON.stringify(whole.body)).toBe(422);
    expect(whole.body.error).toMatchObject({ code: 'amount_beyond_json', message: expect.stringContaining('9007199254740991') });
    const one = await api.get(`/v1/reports/revenue?customer=${customers[0]}`);
    expect(one.status, JSON.stringify(one.body)).toBe(200);
    expect(JSON.stringify(one.body.totals)).toContain(String(10 ** 15));
    // Each invoice is still served whole.
    const invoices = await listAll(api, `/v1/invoices?customer=${customers[9]}`);
    expect(invoices.map((i) => i.total)).toEqual([10 ** 15]);
  });
});
