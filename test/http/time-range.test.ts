import { describe, expect, it } from 'vitest';
import { dialects } from '../support/databases.ts';
import { unique, useServer } from '../support/server.ts';
import { advance, expectLedgerConsistent, listAll, newClock } from './fixtures.ts';

/**
 * Every time Tally keeps or answers is an RFC 3339 time, whose years have four digits (PRODUCT
 * §16): a time a request sets on something kept, from which others are derived, lies from the
 * year 0100 to 9899 (`limits.keptTimeMinMs`, `keptTimeMaxMs`), no timestamp may name an instant outside the years 0000 to 9999 in
 * UTC, and one test clock advance moves its clock at most ten years. A test clock advanced to
 * 9999-12-31 once left a subscription whose period ended in the year 10000, and every read of it
 * answered 500.
 */
describe.each(dialects)('the times a request may set on %s', (dialect) => {
  const ctx = useServer(dialect, { testClockWaitMs: 0 });

  const fieldError = (body: any) => body?.error?.details?.fields?.[0];

  it('runs a subscription up to the latest kept time, and every read of it answers', async () => {
    const { api } = ctx;
    const clock = await newClock(api, '9898-06-01T00:00:00Z');
    const plan = await api.post('/v1/plans', { code: unique('late'), name: 'Late', currency: 'USD', interval: 'year', amount: 1200, included_credits: '100' });
    expect(plan.status, JSON.stringify(plan.body)).toBe(201);
    const customer = await api.post('/v1/customers', { currency: 'USD', test_clock: clock, net_days: 365 });
    expect(customer.status).toBe(201);
    const subscription = await api.post('/v1/subscriptions', { customer: customer.body.id, plan: plan.body.code });
    expect(subscription.status, JSON.stringify(subscription.body)).toBe(201);
    const grant = await api.post('/v1/grants', { customer: customer.body.id, credits: '5', category: 'promotional', source: 'promotion', expires_at: '9899-12-31T23:59:59.999Z' });
    expect(grant.status, JSON.stringify(grant.body)).toBe(201);

    // One renewal (9899-06-01), whose invoice falls due a year on and whose period ends in 9900.
    const ready = await advance(api, clock, '9899-12-31T23:59:59.999Z');
    expect(ready).toMatchObject({ status: 'ready', frozen_time: '9899-12-31T23:59:59.999Z' });
    const read = await api.get(`/v1/subscriptions/${subscription.body.id}`);
    expect(read.status, JSON.stringify(read.body)).toBe(200);
    expect(read.body.current_period).toMatchObject({ index: 1, start: '9899-06-01T00:00:00Z', end: '9900-06-01T00:00:00Z' });
    expect((await api.get('/v1/subscriptions')).status).toBe(200);
    const invoices = await listAll(api, `/v1/invoices?customer=${customer.body.id}`);
    expect(invoices.map((i: any) => i.period_end).sort()).toEqual(['9899-06-01T00:00:00Z', '9900-06-01T00:00:00Z']);
    expect(invoices.some((i: any) => i.due_at === '9900-06-01T00:00:00Z')).toBe(true);
    expect((await api.get(`/v1/customers/${customer.body.id}/balance`)).status).toBe(200);
    const reconciliation = await api.get('/v1/reconciliation');
    expect(reconciliation.body.ok, JSON.stringify(reconciliation.body)).toBe(true);
    await expectLedgerConsistent(api);
  });

  it('refuses a kept time from 9900 on, with the field at fault, and stores nothing', async () => {
    const { api } = ctx;
    const clocksMade = async () => (await listAll(api, '/v1/domain_events?type=test_clock.created')).length;
    const before = await clocksMade();
    const late = await api.post('/v1/test_clocks', { frozen_time: '9900-01-01T00:00:00Z' });
    expect(late.status).toBe(400);
    expect(fieldError(late.body)).toMatchObject({ field: 'frozen_time', code: 'out_of_range' });
    expect(await clocksMade()).toBe(before);

    const clock = await newClock(api, '2026-01-01T00:00:00Z');
    const customer = await api.post('/v1/customers', { currency: 'USD', test_clock: clock });
    const plan = await api.post('/v1/plans', { code: unique('far'), name: 'Far', currency: 'USD', interval: 'month', amount: 100, included_credits: '1' });
    expect(plan.status, JSON.stringify(plan.body)).toBe(201);
    const start = await api.post('/v1/subscriptions', { customer: customer.body.id, plan: plan.body.code, start_at: '9950-01-01T00:00:00Z' });
    expect(start.status).toBe(400);
    expect(fieldError(start.body)).toMatchObject({ field: 'start_at', code: 'out_of_range' });
    const expiry = await api.post('/v1/grants', { customer: customer.body.id, credits: '1', category: 'promotional', source: 'promotion', expires_at: '9999-12-31T23:59:59Z' });
    expect(expiry.status).toBe(400);
    expect(fieldError(expiry.body)).toMatchObject({ field: 'expires_at', code: 'out_of_range' });
    expect(await listAll(api, `/v1/subscriptions?customer=${customer.body.id}`)).toEqual([]);
  });

  it('moves a test clock at most ten years in one advance', async () => {
    const { api } = ctx;
    const clock = await newClock(api, '2026-01-01T00:00:00Z');
    const far = await api.post(`/v1/test_clocks/${clock}/advance`, { frozen_time: '2036-01-09T00:00:00.001Z' });
    expect(far.status).toBe(400);
    expect(fieldError(far.body)).toMatchObject({ field: 'frozen_time', code: 'out_of_range' });
    expect((await api.get(`/v1/test_clocks/${clock}`)).body).toMatchObject({ status: 'ready', frozen_time: '2026-01-01T00:00:00Z', advancing_to: null });
    // 3,660 days is the most one advance takes; the clock then goes on from there.
    expect(await advance(api, clock, '2036-01-09T00:00:00Z')).toMatchObject({ status: 'ready', frozen_time: '2036-01-09T00:00:00Z' });
    expect(await advance(api, clock, '2046-01-01T00:00:00Z')).toMatchObject({ status: 'ready', frozen_time: '2046-01-01T00:00:00Z' });
  });

  it('refuses an offset that takes a time out of the years 0000 to 9999, and takes any RFC 3339 time as a filter', async () => {
    const { api } = ctx;
    const ahead = await api.post('/v1/test_clocks', { frozen_time: '9999-12-31T23:00:00-05:00' });
    expect(ahead.status).toBe(400);
    expect(fieldError(ahead.body)).toMatchObject({ field: 'frozen_time', code: 'invalid_timestamp' });
    const behind = await api.post('/v1/test_clocks', { frozen_time: '0000-01-01T00:00:00+01:00' });
    expect(behind.status).toBe(400);
    expect(fieldError(behind.body)).toMatchObject({ field: 'frozen_time', code: 'invalid_timestamp' });
    const early = await api.post('/v1/test_clocks', { frozen_time: '0099-12-31T23:59:59.999Z' });
    expect(early.status).toBe(400);
    expect(fieldError(early.body)).toMatchObject({ field: 'frozen_time', code: 'out_of_range' });
    const earliest = await api.post('/v1/test_clocks', { frozen_time: '0100-01-01T00:00:00Z' });
    expect(earliest.status, JSON.stringify(earliest.body)).toBe(201);
    expect(earliest.body.frozen_time).toBe('0100-01-01T00:00:00Z');
    // A usage series' default window reaches back before its customer's time.
    const first = await api.post('/v1/customers', { currency: 'USD', test_clock: earliest.body.id });
    const series = await api.get(`/v1/customers/${first.body.id}/usage_series`);
    expect(series.status).toBe(200);
    expect(series.body).toMatchObject({ from: '0099-12-02T00:00:00Z', to: '0100-01-01T00:00:00Z' });

    const customer = await api.post('/v1/customers', { currency: 'USD' });
    const filters = [
      '/v1/reconciliation?from=0000-01-01T00:00:00Z&to=9999-12-31T23:59:59.999Z',
      '/v1/reports/revenue?from=0000-01-01T00:00:00Z&to=9999-12-31T23:59:59.999Z',
      `/v1/customers/${customer.body.id}/usage_series?from=9999-12-30T00:00:00Z&to=9999-12-31T23:59:59.999Z`,
    ];
    for (const path of filters) {
      const reply = await api.get(path);
      expect(reply.status, `${path} ${JSON.stringify(reply.body)}`).toBeLessThan(500);
    }
  });
});
