import { describe, expect, it } from 'vitest';
import { dialects } from '../support/databases.ts';
import { unique, useServer } from '../support/server.ts';
import { advance, listAll, newClock } from './fixtures.ts';

/**
 * A test clock advance is a job (PRODUCT §9, as Stripe's test clocks): the request answers
 * `ready` when the work is done within the server's wait bound, else `advancing`, and the clock is
 * polled until `ready`. Here the bound is 0, so every advance answers `advancing` at once.
 */
describe.each(dialects)('test clock advances as jobs over HTTP on %s', (dialect) => {
  const ctx = useServer(dialect, { testClockWaitMs: 0 });

  it('answers advancing at once, then the clock reads ready with the renewals done', async () => {
    const { api } = ctx;
    const clock = await newClock(api, '2026-01-01T00:00:00Z');
    expect((await api.get(`/v1/test_clocks/${clock}`)).body).toMatchObject({ status: 'ready', advancing_to: null });
    const plan = await api.post('/v1/plans', { code: unique('jobs'), name: 'Jobs', currency: 'USD', interval: 'month', amount: 900, included_credits: '10' });
    expect(plan.status).toBe(201);
    const customers: string[] = [];
    for (let i = 0; i < 3; i++) {
      const customer = await api.post('/v1/customers', { currency: 'USD', test_clock: clock });
      expect(customer.status).toBe(201);
      customers.push(customer.body.id);
      expect((await api.post('/v1/subscriptions', { customer: customer.body.id, plan: plan.body.code })).status).toBe(201);
    }

    const started = await api.post(`/v1/test_clocks/${clock}/advance`, { frozen_time: '2026-02-01T00:00:00Z' });
    expect(started.status, JSON.stringify(started.body)).toBe(200);
    expect(started.body).toMatchObject({ id: clock, object: 'test_clock', status: 'advancing', advancing_to: '2026-02-01T00:00:00Z' });

    // The helper every HTTP test uses polls until ready.
    const ready = await advance(api, clock, '2026-02-01T00:00:00Z');
    expect(ready).toMatchObject({ status: 'ready', frozen_time: '2026-02-01T00:00:00Z', advancing_to: null });
    for (const customer of customers) {
      const invoices = await listAll(api, `/v1/invoices?customer=${customer}`);
      expect(invoices.map((i: any) => i.total)).toEqual([900, 900]);
    }
  });

  it('refuses to go back at once, as a 409 with the field at fault', async () => {
    const { api } = ctx;
    const clock = await newClock(api, '2026-01-01T00:00:00Z');
    const back = await api.post(`/v1/test_clocks/${clock}/advance`, { frozen_time: '2025-12-01T00:00:00Z' });
    expect(back.status).toBe(409);
    expect(back.body.error.code).toBe('clock_cannot_go_back');
    expect((await api.get(`/v1/test_clocks/${clock}`)).body.status).toBe('ready');
  });
});
