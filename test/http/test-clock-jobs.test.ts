import { describe, expect, it, vi } from 'vitest';
import { grantExpiry } from '../../src/engine/due-work.ts';
import type { Api } from '../support/server.ts';
import { waitFor } from '../support/wait-for.ts';
import { dialects } from '../support/databases.ts';
import { unique, useServer } from '../support/server.ts';
import { advance, domainEvents, listAll, newClock, newCustomer, newGrant } from './fixtures.ts';

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

/**
 * An advance whose due work throws leaves its clock `internal_failure` (as Stripe's test clocks
 * name a failed advance) with the error, where the work got to; the next advance runs on from
 * there. Here a grant's expiry throws until the test lets it run.
 */
describe.each(dialects)('a test clock advance that fails on %s', (dialect) => {
  const background = useServer(dialect, { testClockWaitMs: 0 });
  const waiting = useServer(dialect);

  /** A customer on a clock at Jan 1 with 10 credits expiring Jan 10, whose expiry throws until `restore`. */
  async function failingExpiry(api: Api): Promise<{ clock: string; customer: string; grant: string; restore: () => void }> {
    const customer = await newCustomer(api, { clock: await newClock(api, '2026-01-01T00:00:00Z') });
    const grant = (await newGrant(api, customer.id, '10', { expires_at: '2026-01-10T00:00:00Z' })).id as string;
    const run = grantExpiry.run;
    const spy = vi.spyOn(grantExpiry, 'run').mockImplementation(async (...args) => {
      if (args[2].id === grant) throw new Error('the disk is on fire');
      return run(...args);
    });
    return { clock: customer.clock!, customer: customer.id, grant, restore: () => spy.mockRestore() };
  }

  it('a job: the clock reads internal_failure with the error where it stopped, then a new advance runs on to its target', async () => {
    const { api } = background;
    const { clock, customer, grant, restore } = await failingExpiry(api);
    try {
      const started = await api.post(`/v1/test_clocks/${clock}/advance`, { frozen_time: '2026-01-20T00:00:00Z' });
      expect(started.body).toMatchObject({ status: 'advancing', failure: null });
      const read = await waitFor('the advance to end', async () => {
        const body = (await api.get(`/v1/test_clocks/${clock}`)).body;
        return body.status === 'advancing' ? null : body;
      });
      // Before: ready, at Jan 1, and nothing said why.
      expect(read).toMatchObject({ status: 'internal_failure', advancing_to: null, failure: { message: 'the disk is on fire' } });
      expect(Date.parse(read.frozen_time)).toBe(Date.parse('2026-01-01T00:00:00Z'));
      expect(Date.parse(read.failure.failed_at)).toBeGreaterThan(0);
      expect((await api.get(`/v1/grants/${grant}`)).body).toMatchObject({ status: 'active' });
      const recorded = (await listAll(api, '/v1/domain_events?type=test_clock.internal_failure')).filter((e: any) => e.data.test_clock === clock);
      expect(recorded).toMatchObject([{ data: { test_clock: clock, frozen_time: '2026-01-20T00:00:00Z', error: 'the disk is on fire' } }]);
    } finally {
      restore();
    }
    const done = await advance(api, clock, '2026-01-20T00:00:00Z');
    expect(done).toMatchObject({ status: 'ready', failure: null });
    expect(Date.parse(done.frozen_time)).toBe(Date.parse('2026-01-20T00:00:00Z'));
    expect((await api.get(`/v1/grants/${grant}`)).body).toMatchObject({ status: 'expired' });
    expect(await domainEvents(api, customer, 'grant.expired')).toMatchObject([{ data: { grant, credits: '10' } }]);
  });

  it('within the request\'s wait: the answer is the clock, internal_failure, not an error', async () => {
    const { api } = waiting;
    const { clock, grant, restore } = await failingExpiry(api);
    try {
      const failed = await api.post(`/v1/test_clocks/${clock}/advance`, { frozen_time: '2026-01-20T00:00:00Z' });
      // Before: 500 internal_error, and the clock then read ready at Jan 1.
      expect([failed.status, failed.body.status, failed.body.failure?.message]).toEqual([200, 'internal_failure', 'the disk is on fire']);
      expect((await api.get(`/v1/test_clocks/${clock}`)).body).toEqual(failed.body);
    } finally {
      restore();
    }
    const done = await api.post(`/v1/test_clocks/${clock}/advance`, { frozen_time: '2026-01-20T00:00:00Z' });
    expect(done.body).toMatchObject({ status: 'ready', failure: null, ran: 1 });
    expect((await api.get(`/v1/grants/${grant}`)).body).toMatchObject({ status: 'expired' });
  });
});
