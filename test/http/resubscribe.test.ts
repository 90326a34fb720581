import { describe, expect, it } from 'vitest';
import { dialects } from '../support/databases.ts';
import { unique, useServer, type Api } from '../support/server.ts';
import { advance, balance, ingest, listAll, newClock, newCustomer, newPlan, overageLines, perUnitMeter, use } from './fixtures.ts';

/**
 * A customer whose subscription ended and who subscribes again (PRODUCT §6): each millisecond of
 * usage is billed by one subscription, whatever instant the new one starts at.
 */
describe.each(dialects)('subscribing again after a cancellation, on %s', (dialect) => {
  const ctx = useServer(dialect);

  const newOveragePlan = (api: Api, overageUnit: string) => newPlan(api, { overage: { unit_amount_per_credit: overageUnit } });

  it('bills the overage of the instant a subscription was canceled and another began once, on the ended one', async () => {
    const { api } = ctx;
    const clock = await newClock(api, '2026-04-01T00:00:00Z');
    const customer = await newCustomer(api, { clock, net_days: 365 });
    const meter = await perUnitMeter(api);
    const [planA, planB] = [await newOveragePlan(api, '2'), await newOveragePlan(api, '3')];
    const a = await api.post('/v1/subscriptions', { customer: customer.id, plan: planA.code });
    expect(a.status).toBe(201);
    await advance(api, clock, '2026-04-10T00:00:00Z');
    await use(api, customer.id, meter.type, 130);
    await advance(api, clock, '2026-04-16T00:00:00Z');
    expect((await api.post(`/v1/subscriptions/${a.body.id}/cancel`, { timing: 'immediate' })).status).toBe(200);
    // Subscribed again at the very millisecond the first one ended, and 250 credits used then: the
    // new allowance of 100 first paid the debt of 50 the cancellation left (the unused half of an
    // allowance already spent), and paid 50 of them; 200 are overage.
    const b = await api.post('/v1/subscriptions', { customer: customer.id, plan: planB.code });
    expect(b.status, JSON.stringify(b.body)).toBe(201);
    expect(b.body.start_at).toBe('2026-04-16T00:00:00Z');
    const [charged] = await ingest(api, [{ id: unique('ev'), customer: customer.id, type: meter.type, timestamp: '2026-04-16T00:00:00Z', properties: { n: 250 } }]);
    expect(charged).toMatchObject({ status: 'accepted', credits: '250', overage: '200' });

    // The new subscription's first renewal, then the ended one's closing correction (35 days after
    // the five minutes it owns after its end), then the new one's next renewals, which look back into its first period.
    await advance(api, clock, '2026-05-16T00:00:00Z');
    await advance(api, clock, '2026-05-21T00:05:00.001Z');
    await advance(api, clock, '2026-06-16T00:00:00Z');
    await advance(api, clock, '2026-07-16T00:00:00Z');
    // The ended subscription owns its end's millisecond: its final invoice bills 30 credits at 2,
    // its correction the 200 of that millisecond at 2; the new one's renewal bills none of them.
    // Before, both the renewal (200 at 3: 600) and the correction (400) billed them.
    expect(await overageLines(api, customer.id)).toEqual([
      { invoice: 'final', subscription: a.body.id, quantity: '30', amount: 60 },
      { invoice: 'correction', subscription: a.body.id, quantity: '200', amount: 400 },
    ]);
    expect((await balance(api, customer.id)).overage).toBe('0');
    const reconciliation = await api.get('/v1/reconciliation');
    expect(reconciliation.body.discrepancies).toEqual([]);
  });

  it("leaves the overage of the instant a subscription was canceled and of the five minutes after it to it, which the one begun then does not settle", async () => {
    const { api } = ctx;
    const clock = await newClock(api, '2026-04-01T00:00:00Z');
    const customer = await newCustomer(api, { clock, net_days: 365 });
    const meter = await perUnitMeter(api);
    const [planA, planB] = [await newOveragePlan(api, '2'), await newOveragePlan(api, '3')];
    const a = await api.post('/v1/subscriptions', { customer: customer.id, plan: planA.code });
    await advance(api, clock, '2026-04-10T00:00:00Z');
    await use(api, customer.id, meter.type, 130);
    await advance(api, clock, '2026-04-16T00:00:00Z');
    // 20 credits at 00:00 and 10 stamped three minutes ahead, both charged to overage.
    const charged = await ingest(api, [
      { id: unique('ev'), customer: customer.id, type: meter.type, timestamp: '2026-04-16T00:00:00Z', properties: { n: 20 } },
      { id: unique('ev'), customer: customer.id, type: meter.type, timestamp: '2026-04-16T00:03:00Z', properties: { n: 10 } },
    ]);
    expect(charged.map((r: any) => r.overage)).toEqual(['20', '10']);
    // Canceled at 00:00, its final invoice bills the 30 of April 10, the 20 of its end's millisecond
    // and the 10 stamped 00:03, in the five minutes after its end that it owns.
    expect((await api.post(`/v1/subscriptions/${a.body.id}/cancel`, { timing: 'immediate' })).status).toBe(200);
    expect(await overageLines(api, customer.id)).toEqual([{ invoice: 'final', subscription: a.body.id, quantity: '60', amount: 120 }]);
    // Subscribed again at 00:00: its allowance of 100 pays the debt of 50 the cancellation left,
    // not the 30 the final invoice billed (before, it paid those too: 20 left, and 20 credits of
    // overage given back that no invoice bills any more).
    const b = await api.post('/v1/subscriptions', { customer: customer.id, plan: planB.code });
    expect(b.status, JSON.stringify(b.body)).toBe(201);
    const allowance = (await listAll(api, `/v1/grants?customer=${customer.id}`)).find((g: any) => g.source === 'plan_allowance' && g.effective_at === '2026-04-16T00:00:00Z' && g.subscription === b.body.id);
    expect(allowance?.remaining).toBe('50');
    expect((await balance(api, customer.id)).overage).toBe('0');
    expect((await api.get('/v1/reconciliation')).body.discrepancies).toEqual([]);
    await advance(api, clock, '2026-05-16T00:00:00Z');
    await advance(api, clock, '2026-05-21T00:05:00.001Z');
    expect(await overageLines(api, customer.id)).toEqual([{ invoice: 'final', subscription: a.body.id, quantity: '60', amount: 120 }]);
    expect((await balance(api, customer.id)).overage).toBe('0');
    expect((await api.get('/v1/reconciliation')).body.discrepancies).toEqual([]);
  });

  it('refuses a new subscription starting before the previous one ended, which would bill the same days twice', async () => {
    const { api } = ctx;
    const clock = await newClock(api, '2026-04-01T00:00:00Z');
    const customer = await newCustomer(api, { clock, net_days: 365 });
    const meter = await perUnitMeter(api);
    const [planA, planB] = [await newOveragePlan(api, '2'), await newOveragePlan(api, '3')];
    const a = await api.post('/v1/subscriptions', { customer: customer.id, plan: planA.code });
    await advance(api, clock, '2026-04-10T00:00:00Z');
    await use(api, customer.id, meter.type, 130);
    await advance(api, clock, '2026-04-16T00:00:00Z');
    expect((await api.post(`/v1/subscriptions/${a.body.id}/cancel`, { timing: 'immediate' })).status).toBe(200);
    // Started back on April 10: its fee, its allowance and the overage of April 10 to 16 (30
    // credits, billed by the canceled one's final invoice) would be billed a second time.
    const overlapping = await api.post('/v1/subscriptions', { customer: customer.id, plan: planB.code, start_at: '2026-04-10T00:00:00Z' });
    expect(overlapping.status, JSON.stringify(overlapping.body)).toBe(400);
    expect(overlapping.body.error.details.fields).toEqual([
      { field: 'start_at', code: 'before_previous_end', message: 'start_at must not be before 2026-04-16T00:00:00Z, when the customer\'s previous subscription ended.' },
    ]);
    expect(await listAll(api, `/v1/subscriptions?customer=${customer.id}`)).toHaveLength(1);
    // From the instant it ended on, it is accepted.
    const b = await api.post('/v1/subscriptions', { customer: customer.id, plan: planB.code, start_at: '2026-04-16T00:00:00Z' });
    expect(b.status, JSON.stringify(b.body)).toBe(201);
    await advance(api, clock, '2026-05-16T00:00:00Z');
    expect(await overageLines(api, customer.id)).toEqual([{ invoice: 'final', subscription: a.body.id, quantity: '30', amount: 60 }]);
  });

  it('takes any start after a subscription canceled before it began, which billed nothing', async () => {
    const { api } = ctx;
    const clock = await newClock(api, '2026-04-01T00:00:00Z');
    const customer = await newCustomer(api, { clock, net_days: 365 });
    const plan = await newOveragePlan(api, '2');
    const future = await api.post('/v1/subscriptions', { customer: customer.id, plan: plan.code, start_at: '2026-04-20T00:00:00Z' });
    expect((await api.post(`/v1/subscriptions/${future.body.id}/cancel`, { timing: 'immediate' })).body).toMatchObject({ status: 'canceled', ended_at: '2026-04-01T00:00:00Z' });
    await advance(api, clock, '2026-04-05T00:00:00Z');
    const started = await api.post('/v1/subscriptions', { customer: customer.id, plan: plan.code, start_at: '2026-03-25T00:00:00Z' });
    expect(started.status, JSON.stringify(started.body)).toBe(201);
    expect(started.body.current_period).toEqual({ index: 0, start: '2026-03-25T00:00:00Z', end: '2026-04-25T00:00:00Z' });
  });

  it('bills the usage of the instant a subscription canceled before it began ended on the one begun then', async () => {
    const { api } = ctx;
    const clock = await newClock(api, '2026-04-01T00:00:00Z');
    const customer = await newCustomer(api, { clock, net_days: 365 });
    const meter = await perUnitMeter(api);
    const plan = await newOveragePlan(api, '2');
    const future = await api.post('/v1/subscriptions', { customer: customer.id, plan: plan.code, start_at: '2026-04-20T00:00:00Z' });
    expect((await api.post(`/v1/subscriptions/${future.body.id}/cancel`, { timing: 'immediate' })).status).toBe(200);
    const now = await api.post('/v1/subscriptions', { customer: customer.id, plan: plan.code });
    expect(now.body.start_at).toBe('2026-04-01T00:00:00Z');
    expect(await use(api, customer.id, meter.type, 150)).toMatchObject({ overage: '50' });
    await advance(api, clock, '2026-05-01T00:00:00Z');
    // The canceled one billed nothing and owns no instant: the renewal bills the 50 at 2.
    expect(await overageLines(api, customer.id)).toEqual([{ invoice: 'subscription', subscription: now.body.id, quantity: '50', amount: 100 }]);
    expect((await api.get('/v1/reconciliation')).body.discrepancies).toEqual([]);
  });
});
