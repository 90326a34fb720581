import { describe, expect, it } from 'vitest';
import { dialects } from '../support/databases.ts';
import { useServer } from '../support/server.ts';

/**
 * The README's billing walkthrough, step by step over HTTP, so the docs can quote each request and
 * the replies that matter: a test clock, a customer on it, the `starter` plan, a subscription, one
 * month of clock, and the two subscription invoices. Every request body is written out in full.
 */
describe.each(dialects)('README billing walkthrough on %s', (dialect) => {
  const ctx = useServer(dialect);

  it('plan, subscription, clock advance, invoices', async () => {
    const { api } = ctx;

    // 1. A test clock frozen at the start of 2026.
    const clock = await api.post('/v1/test_clocks', { frozen_time: '2026-01-01T00:00:00Z' });
    expect(clock.status).toBe(201);
    expect(clock.body).toMatchObject({ object: 'test_clock', frozen_time: '2026-01-01T00:00:00Z' });

    // 2. A customer living on that clock, known by its own id.
    const customer = await api.post('/v1/customers', { external_id: 'globex', currency: 'USD', test_clock: clock.body.id, net_days: 30 });
    expect(customer.status).toBe(201);
    expect(customer.body).toMatchObject({ external_id: 'globex', currency: 'USD', test_clock: clock.body.id });

    // 3. $10.00 a month with 1,000 credits included; overage at half a cent a credit.
    const plan = await api.post('/v1/plans', {
      code: 'starter', name: 'Starter', currency: 'USD', interval: 'month',
      amount: 1000, included_credits: '1000', overage: { unit_amount_per_credit: '0.5' },
    });
    expect(plan.status).toBe(201);
    expect(plan.body).toMatchObject({
      object: 'plan', code: 'starter', version: 1, currency: 'USD', interval: 'month', amount: 1000, included_credits: '1000',
      overage: { unit_amount_per_credit: '0.5', limit_credits: null }, rollover: null,
    });

    // 4. Subscribing starts the first period at once: the allowance grant and the fee invoice.
    const subscription = await api.post('/v1/subscriptions', { customer: 'globex', plan: 'starter' });
    expect(subscription.status).toBe(201);
    expect(subscription.body).toMatchObject({
      object: 'subscription', customer: customer.body.id, plan: plan.body.id, status: 'active', start_at: '2026-01-01T00:00:00Z',
      current_period: { index: 0, start: '2026-01-01T00:00:00Z', end: '2026-02-01T00:00:00Z' },
    });

    // 5. A month later: the renewal has run.
    const advanced = await api.post(`/v1/test_clocks/${clock.body.id}/advance`, { frozen_time: '2026-02-01T00:00:00Z' });
    expect(advanced.status).toBe(200);
    expect(advanced.body).toMatchObject({ frozen_time: '2026-02-01T00:00:00Z' });

    // 6. Two subscription invoices, each for the fee in advance.
    const list = await api.get('/v1/invoices?customer=globex');
    expect(list.status).toBe(200);
    expect(list.body.has_more).toBe(false);
    expect(list.body.data.map((i: any) => [i.kind, i.period_start, i.period_end, i.total, i.status])).toEqual([
      ['subscription', '2026-01-01T00:00:00Z', '2026-02-01T00:00:00Z', 1000, 'open'],
      ['subscription', '2026-02-01T00:00:00Z', '2026-03-01T00:00:00Z', 1000, 'open'],
    ]);

    // 7. The second invoice in full.
    const second = await api.get(`/v1/invoices/${list.body.data[1].id}`);
    expect(second.status).toBe(200);
    expect(second.body).toEqual({
      id: list.body.data[1].id,
      object: 'invoice',
      customer: customer.body.id,
      subscription: subscription.body.id,
      plan: plan.body.id,
      kind: 'subscription',
      period_start: '2026-02-01T00:00:00Z',
      period_end: '2026-03-01T00:00:00Z',
      currency: 'USD',
      status: 'open',
      lines: [{
        id: expect.stringMatching(/^lin_/),
        type: 'subscription_fee',
        description: 'Starter (monthly fee, in advance)',
        quantity: '1',
        unit_amount: '1000',
        amount: 1000,
        period_start: '2026-02-01T00:00:00Z',
        period_end: '2026-03-01T00:00:00Z',
        refs: { plan: plan.body.id, subscription: subscription.body.id },
      }],
      subtotal: 1000,
      total: 1000,
      balance_applied: 0,
      amount_due: 1000,
      amount_remaining: 1000,
      credit_note: null,
      due_at: '2026-03-03T00:00:00Z',
      past_due: false,
      past_due_at: null,
      next_payment_attempt: null,
      uncollectible_at: null,
      amount_paid: 0,
      amount_refunded: 0,
      amount_charged_back: 0,
      provider: null,
      provider_invoice_id: null,
      finalized_at: '2026-02-01T00:00:00Z',
      paid_at: null,
      voided_at: null,
      created_at: '2026-02-01T00:00:00Z',
      payments: [],
    });

    // The new period's allowance replaced the old one.
    const balance = await api.get('/v1/customers/globex/balance');
    expect(balance.body).toMatchObject({ available: '1000', overage: '0' });
  });
});
