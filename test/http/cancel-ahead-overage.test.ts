import { describe, expect, it } from 'vitest';
import { dialects } from '../support/databases.ts';
import { unique, useServer, type Api } from '../support/server.ts';
import { advance, balance, ingest, listAll, newClock, newCustomer, newPlan, overageLines, perUnitMeter, use } from './fixtures.ts';

/**
 * Usage may be stamped up to five minutes ahead of the customer's clock (PRODUCT §5). Charged to
 * overage under a subscription that then ends (canceled at once, or at its period's end), its
 * overage is billed by that subscription, at its plan's price, once, whether or not the customer subscribes again.
 */
describe.each(dialects)('overage stamped ahead of a subscription\'s end, on %s', (dialect) => {
  const ctx = useServer(dialect);

  const newOveragePlan = (api: Api, overageUnit: string) => newPlan(api, { overage: { unit_amount_per_credit: overageUnit } });

  /** 130 used on April 10 (30 of overage), then 30 stamped 00:03 on April 16 while the clock reads 00:00, and the subscription canceled then. */
  async function aheadOfCancellation(api: Api) {
    const clock = await newClock(api, '2026-04-01T00:00:00Z');
    const customer = await newCustomer(api, { clock, net_days: 365 });
    const meter = await perUnitMeter(api);
    const plan = await newOveragePlan(api, '2');
    const sub = await api.post('/v1/subscriptions', { customer: customer.id, plan: plan.code });
    expect(sub.status).toBe(201);
    await advance(api, clock, '2026-04-10T00:00:00Z');
    expect(await use(api, customer.id, meter.type, 130)).toMatchObject({ overage: '30' });
    await advance(api, clock, '2026-04-16T00:00:00Z');
    const [ahead] = await ingest(api, [{ id: unique('ev'), customer: customer.id, type: meter.type, timestamp: '2026-04-16T00:03:00Z', properties: { n: 30 } }]);
    expect(ahead).toMatchObject({ status: 'accepted', credits: '30', overage: '30' });
    expect((await api.post(`/v1/subscriptions/${sub.body.id}/cancel`, { timing: 'immediate' })).body).toMatchObject({ status: 'canceled', ended_at: '2026-04-16T00:00:00Z' });
    return { clock, customer, meter, sub: sub.body };
  }

  it('bills the overage charged before the cancellation and stamped after it on the final invoice (the worked example)', async () => {
    const { api } = ctx;
    const { clock, customer, sub } = await aheadOfCancellation(api);
    // The final invoice bills the 30 of April 10 and the 30 stamped 00:03, charged before the
    // cancellation: 60 at 2 (1.20). Before, it billed the 30 of April 10 alone (0.60), the closing
    // correction none, and the customer's overage stayed at 30 with reconciliation silent.
    expect(await overageLines(api, customer.id)).toEqual([{ invoice: 'final', subscription: sub.id, quantity: '60', amount: 120 }]);
    expect((await balance(api, customer.id)).overage).toBe('0');
    await advance(api, clock, '2026-05-21T00:05:00.001Z');
    expect(await overageLines(api, customer.id)).toEqual([{ invoice: 'final', subscription: sub.id, quantity: '60', amount: 120 }]);
    expect((await balance(api, customer.id)).overage).toBe('0');
    expect((await api.get('/v1/reconciliation')).body.discrepancies).toEqual([]);
  });

  it('bills it once when the customer subscribes again at the instant of the cancellation', async () => {
    const { api } = ctx;
    const { clock, customer, meter, sub } = await aheadOfCancellation(api);
    const again = await newOveragePlan(api, '3');
    const b = await api.post('/v1/subscriptions', { customer: customer.id, plan: again.code });
    expect(b.status, JSON.stringify(b.body)).toBe(201);
    expect(b.body.start_at).toBe('2026-04-16T00:00:00Z');
    // The new allowance pays the 50 of debt the cancellation left (the unused half of an allowance
    // spent) and 50 of 150 used at 00:10; 100 are overage, the new subscription's.
    await advance(api, clock, '2026-04-16T00:10:00Z');
    expect(await use(api, customer.id, meter.type, 150)).toMatchObject({ overage: '100' });
    await advance(api, clock, '2026-05-16T00:00:00Z');
    await advance(api, clock, '2026-05-21T00:05:00.001Z');
    await advance(api, clock, '2026-06-16T00:00:00Z');
    expect(await overageLines(api, customer.id)).toEqual([
      { invoice: 'final', subscription: sub.id, quantity: '60', amount: 120 },
      { invoice: 'subscription', subscription: b.body.id, quantity: '100', amount: 300 },
    ]);
    expect((await balance(api, customer.id)).overage).toBe('0');
    expect((await api.get('/v1/reconciliation')).body.discrepancies).toEqual([]);
  });

  it('bills usage stamped within five minutes of the end and charged after it on the closing correction, and leaves later usage to no subscription', async () => {
    const { api } = ctx;
    const { clock, customer, meter, sub } = await aheadOfCancellation(api);
    // After the cancellation, at 00:01: 20 stamped 00:04 (its last instants) and 10 two
    // milliseconds past 00:05 (no subscription's).
    await advance(api, clock, '2026-04-16T00:01:00Z');
    const late = await ingest(api, [
      { id: unique('ev'), customer: customer.id, type: meter.type, timestamp: '2026-04-16T00:04:00Z', properties: { n: 20 } },
      { id: unique('ev'), customer: customer.id, type: meter.type, timestamp: '2026-04-16T00:05:00.002Z', properties: { n: 10 } },
    ]);
    expect(late).toMatchObject([{ status: 'accepted', overage: '20' }, { status: 'accepted', overage: '10' }]);
    await advance(api, clock, '2026-05-21T00:05:00.001Z');
    expect(await overageLines(api, customer.id)).toEqual([
      { invoice: 'final', subscription: sub.id, quantity: '60', amount: 120 },
      { invoice: 'correction', subscription: sub.id, quantity: '20', amount: 40 },
    ]);
    expect((await balance(api, customer.id)).overage).toBe('10');
  });

  it('bills the overage stamped ahead of a cancellation at period end on its final invoice', async () => {
    const { api } = ctx;
    const clock = await newClock(api, '2026-04-01T00:00:00Z');
    const customer = await newCustomer(api, { clock, net_days: 365 });
    const meter = await perUnitMeter(api);
    const plan = await newOveragePlan(api, '2');
    const sub = await api.post('/v1/subscriptions', { customer: customer.id, plan: plan.code });
    await advance(api, clock, '2026-04-10T00:00:00Z');
    expect(await use(api, customer.id, meter.type, 130)).toMatchObject({ overage: '30' });
    expect((await api.post(`/v1/subscriptions/${sub.body.id}/cancel`, { timing: 'period_end' })).status).toBe(200);
    // At 23:59 on April 30, 30 credits stamped 00:03 on May 1, after the period (and the subscription) ends.
    await advance(api, clock, '2026-04-30T23:59:00Z');
    const [ahead] = await ingest(api, [{ id: unique('ev'), customer: customer.id, type: meter.type, timestamp: '2026-05-01T00:03:00Z', properties: { n: 30 } }]);
    expect(ahead).toMatchObject({ status: 'accepted', overage: '30' });
    // The renewal that ends it bills 60 at 2 on the final invoice. Before, it billed 30, and the
    // other 30 stayed in `overage`, billed by nothing, with reconciliation silent.
    await advance(api, clock, '2026-05-01T00:00:00Z');
    expect(await overageLines(api, customer.id)).toEqual([{ invoice: 'final', subscription: sub.body.id, quantity: '60', amount: 120 }]);
    await advance(api, clock, '2026-06-10T00:00:00Z');
    expect(await overageLines(api, customer.id)).toEqual([{ invoice: 'final', subscription: sub.body.id, quantity: '60', amount: 120 }]);
    expect((await balance(api, customer.id)).overage).toBe('0');
    expect((await api.get('/v1/reconciliation')).body.discrepancies).toEqual([]);
  });
});
