import { describe, expect, it } from 'vitest';
import { dialects } from '../support/databases.ts';
import { unique, useServer } from '../support/server.ts';
import { advance, balance, listAll, newClock, newCustomer } from './fixtures.ts';

/**
 * Rollover (PRODUCT §6) carries what the customer could still use of a period's allowance into the
 * next period; credits follow the money (§14): an allowance frozen because its fee is unpaid past
 * the grace period is not usable, so it carries nothing over.
 */
describe.each(dialects)('rollover of an allowance on %s', (dialect) => {
  const ctx = useServer(dialect);

  it('carries nothing of an allowance frozen for its unpaid fee, and the allowance of a fee paid late as any other', async () => {
    const { api } = ctx;
    const plan = await api.post('/v1/plans', {
      code: unique('plan'), name: 'Plan', currency: 'USD', interval: 'month', amount: 1000, included_credits: '100', rollover: { max_credits: '50' },
    });
    expect(plan.status).toBe(201);
    // Two customers on one clock, invoices due 20 days after issue: January's fee is due on
    // January 21, and its allowance freezes 7 days later, on January 28.
    const clock = await newClock(api, '2026-01-01T00:00:00Z');
    const unpaid = await newCustomer(api, { clock, net_days: 20 });
    const paidLate = await newCustomer(api, { clock, net_days: 20 });
    for (const c of [unpaid, paidLate]) expect((await api.post('/v1/subscriptions', { customer: c.id, plan: plan.body.code })).status).toBe(201);
    await advance(api, clock, '2026-01-30T00:00:00Z');
    for (const c of [unpaid, paidLate]) expect(await balance(api, c.id)).toMatchObject({ available: '0', frozen: '100' });
    const [january] = await listAll(api, `/v1/invoices?customer=${paidLate.id}`);
    expect((await api.post(`/v1/invoices/${january.id}/payments`, { amount: 1000 })).status).toBe(201);
    expect(await balance(api, paidLate.id)).toMatchObject({ available: '100', frozen: '0' });

    await advance(api, clock, '2026-02-01T00:00:00Z');
    const rollovers = async (customer: string) => (await listAll(api, `/v1/grants?customer=${customer}`)).filter((g: any) => g.source === 'rollover').map((g: any) => g.credits);
    // Paid, its 100 unused carry 50 over. Unpaid and frozen, none: before, 50 of them carried
    // over into a grant usable at once (150 available), and stayed usable after January's
    // invoice was given up as uncollectible on February 6.
    expect(await rollovers(paidLate.id)).toEqual(['50']);
    expect((await balance(api, paidLate.id)).available).toBe('150');
    expect(await rollovers(unpaid.id)).toEqual([]);
    expect((await balance(api, unpaid.id)).available).toBe('100');
    const reconciliation = await api.get('/v1/reconciliation');
    expect(reconciliation.body.discrepancies.filter((d: any) => d.ids.includes(unpaid.id) || d.ids.includes(paidLate.id))).toEqual([]);
  });
});
