import { describe, expect, it } from 'vitest';
import { dialects } from '../support/databases.ts';
import { unique, useServer, type Api } from '../support/server.ts';
import { advance, balance, domainEvents, expectLedgerConsistent, listAll, newClock, perUnitMeter, transactions, use } from './fixtures.ts';

/**
 * Due dates, payment attempts, dunning and credits that follow the money, over HTTP (PRODUCT §14),
 * each on its own test clock: the grace period, the retries and the escalation run as time moves.
 */
describe.each(dialects)('dunning and frozen credits on %s', (dialect) => {
  const ctx = useServer(dialect);

  async function setup(api: Api, options: { net_days?: number; amount?: number } = {}) {
    const clock = await newClock(api, '2026-03-01T00:00:00Z');
    const created = await api.post('/v1/customers', { external_id: unique('cust'), currency: 'USD', test_clock: clock, overage: true, ...(options.net_days !== undefined ? { net_days: options.net_days } : {}) });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const customer = created.body.id as string;
    const meter = await perUnitMeter(api);
    const plan = (await api.post('/v1/plans', {
      code: unique('plan'), name: 'Plan', currency: 'USD', interval: 'month', amount: options.amount ?? 2000, included_credits: '100',
      overage: { unit_amount_per_credit: '1' },
    })).body;
    const sub = (await api.post('/v1/subscriptions', { customer, plan: plan.code })).body;
    const invoice = (await listAll(api, `/v1/invoices?customer=${customer}`))[0];
    return { clock, customer, meter, sub, invoice };
  }

  it('an unpaid fee invoice with a 7-day grace: day 3 usage is paid by the allowance, day 8 goes to overage, paying on day 9 unfreezes what is left', async () => {
    const { api } = ctx;
    const { clock, customer, meter, invoice } = await setup(api);
    expect(invoice).toMatchObject({ status: 'open', due_at: '2026-03-01T00:00:00Z', past_due: false, amount_due: 2000 });

    await advance(api, clock, '2026-03-04T00:00:00Z');
    const day3 = await use(api, customer, meter.type, 30);
    expect([day3.credits, day3.overage ?? '0', day3.paid_by.length]).toEqual(['30', '0', 1]);
    expect((await api.get(`/v1/invoices/${invoice.id}`)).body).toMatchObject({ past_due: true, past_due_at: '2026-03-01T00:00:00.001Z' });
    expect((await api.get(`/v1/subscriptions/${(await api.get(`/v1/invoices/${invoice.id}`)).body.subscription}`)).body.status).toBe('past_due');

    await advance(api, clock, '2026-03-09T00:00:00Z');
    const frozenBalance = await balance(api, customer);
    expect(frozenBalance).toMatchObject({ available: '0', frozen: '70' });
    expect(frozenBalance.grants).toEqual([expect.objectContaining({ remaining: '70', frozen: true })]);
    const grants = await listAll(api, `/v1/grants?customer=${customer}`);
    expect(grants.map((g) => [g.source, g.remaining, g.frozen, g.frozen_from])).toEqual([['plan_allowance', '70', true, '2026-03-08T00:00:00Z']]);
    const authorized = await api.post(`/v1/customers/${customer}/authorize`, { credits: '1' });
    expect(authorized.body).toMatchObject({ available: '0' });
    const day8 = await use(api, customer, meter.type, 5);
    expect(day8).toMatchObject({ credits: '5', overage: '5' });

    await advance(api, clock, '2026-03-10T00:00:00Z');
    const paid = await api.post(`/v1/invoices/${invoice.id}/payment_attempts`, { outcome: 'succeeded' });
    expect(paid.status, JSON.stringify(paid.body)).toBe(201);
    expect(paid.body).toMatchObject({ outcome: 'succeeded', invoice_detail: { status: 'paid', past_due: false } });
    expect(await balance(api, customer)).toMatchObject({ available: '70', frozen: '0' });
    const day9 = await use(api, customer, meter.type, 10);
    expect([day9.credits, day9.overage ?? '0']).toEqual(['10', '0']);
    const sub = (await api.get(`/v1/subscriptions/${paid.body.invoice_detail.subscription}`)).body;
    expect(sub.status).toBe('active');
    expect((await domainEvents(api, customer)).map((e) => e.type)).toEqual(expect.arrayContaining([
      'invoice.payment_failed', 'subscription.past_due', 'credits.unfrozen', 'subscription.recovered',
    ]));
    const reconciliation = (await api.get('/v1/reconciliation')).body;
    expect(reconciliation.discrepancies).toEqual([]);
    expect(reconciliation.checks).toContainEqual({ name: 'frozen_credits_unused', ok: true });
  });

  it('a failed attempt makes the invoice past due; retries follow after 1, 3, 5 and 7 days; after the last, uncollectible revokes the allowance', async () => {
    const { api } = ctx;
    const { clock, customer, meter, invoice, sub } = await setup(api, { net_days: 30 });
    expect(invoice.due_at).toBe('2026-03-31T00:00:00Z');
    await use(api, customer, meter.type, 40);
    const failed = await api.post(`/v1/invoices/${invoice.id}/payment_attempts`, { outcome: 'failed', failure_code: 'card_declined' });
    expect(failed.status, JSON.stringify(failed.body)).toBe(201);
    expect(failed.body).toMatchObject({ outcome: 'failed', failure_code: 'card_declined', attempt: 1, source: 'api' });
    expect(failed.body.invoice_detail).toMatchObject({ status: 'open', past_due: true, past_due_at: '2026-03-01T00:00:00Z', next_payment_attempt: '2026-03-02T00:00:00Z' });
    expect((await api.get(`/v1/subscriptions/${sub.id}`)).body.status).toBe('past_due');
    const failures = await domainEvents(api, customer, 'invoice.payment_failed');
    expect(failures.map((e) => e.data.failure_code)).toEqual(['card_declined']);
    expect((await domainEvents(api, customer, 'subscription.past_due')).map((e) => e.data.invoice)).toEqual([invoice.id]);

    // Frozen from the due date plus the grace period, even with net 30 terms.
    expect((await listAll(api, `/v1/grants?customer=${customer}`))[0].frozen_from).toBe('2026-04-07T00:00:00Z');

    await advance(api, clock, '2026-03-15T00:00:00Z');
    const attempts = (await api.get(`/v1/invoices/${invoice.id}/payment_attempts`)).body.data;
    expect(attempts.map((a: any) => [a.source, a.failure_code, a.created_at])).toEqual([
      ['api', 'card_declined', '2026-03-01T00:00:00Z'],
      ['dunning', 'no_payment_method', '2026-03-02T00:00:00Z'],
      ['dunning', 'no_payment_method', '2026-03-05T00:00:00Z'],
      ['dunning', 'no_payment_method', '2026-03-10T00:00:00Z'],
    ]);
    expect((await api.get(`/v1/invoices/${invoice.id}`)).body).toMatchObject({ status: 'open', next_payment_attempt: '2026-03-17T00:00:00Z' });

    await advance(api, clock, '2026-03-18T00:00:00Z');
    const gaveUp = (await api.get(`/v1/invoices/${invoice.id}`)).body;
    expect(gaveUp).toMatchObject({ status: 'uncollectible', uncollectible_at: '2026-03-17T00:00:00Z', next_payment_attempt: null });
    const revoke = (await transactions(api, customer)).find((t) => t.kind === 'revoke');
    expect(revoke).toMatchObject({ cause: { type: 'invoice', id: invoice.id }, refs: { invoice: invoice.id } });
    expect(revoke.entries.map((e: any) => e.amount).sort()).toEqual(['-60', '60'].sort());
    expect(await balance(api, customer)).toMatchObject({ available: '0', frozen: '0' });
    expect((await api.get(`/v1/subscriptions/${sub.id}`)).body.status).toBe('active');
    const late = await use(api, customer, meter.type, 3);
    expect(late).toMatchObject({ overage: '3' });
    expect((await api.post(`/v1/invoices/${invoice.id}/payment_attempts`, { outcome: 'succeeded' })).body.error.code).toBe('invoice_not_open');
    expect((await api.get('/v1/reconciliation')).body.discrepancies).toEqual([]);
    await expectLedgerConsistent(api);
  });

  it('voiding an unpaid fee invoice revokes its allowance in a transaction linked to the invoice', async () => {
    const { api } = ctx;
    const a = await setup(api, { amount: 1500 });
    await use(api, a.customer, a.meter.type, 25);
    const voided = await api.post(`/v1/invoices/${a.invoice.id}/void`);
    expect(voided.status, JSON.stringify(voided.body)).toBe(200);
    const revoke = (await transactions(api, a.customer)).find((t) => t.kind === 'revoke');
    expect(revoke).toMatchObject({ cause: { type: 'invoice', id: a.invoice.id } });
    expect(await balance(api, a.customer)).toMatchObject({ available: '0' });

    expect(await balance(api, a.customer)).toMatchObject({ available: '0' });
  });

  it('refuses bad payment attempts with codes and stores nothing', async () => {
    const { api } = ctx;
    const { invoice } = await setup(api, { net_days: 10 });
    const bad = await api.post(`/v1/invoices/${invoice.id}/payment_attempts`, { outcome: 'maybe' });
    expect([bad.status, bad.body.error.code, bad.body.error.details.fields[0].field]).toEqual([400, 'validation_failed', 'outcome']);
    const amountOnFailure = await api.post(`/v1/invoices/${invoice.id}/payment_attempts`, { outcome: 'failed', amount: 10 });
    expect(amountOnFailure.body.error.details.fields[0].field).toBe('amount');
    const tooMuch = await api.post(`/v1/invoices/${invoice.id}/payment_attempts`, { outcome: 'succeeded', amount: 999999 });
    expect([tooMuch.status, tooMuch.body.error.code]).toEqual([409, 'overpayment']);
    expect((await api.post('/v1/invoices/inv_missing/payment_attempts', { outcome: 'failed' })).status).toBe(404);
    const badTerms = await api.post('/v1/customers', { currency: 'USD', net_days: -1 });
    expect(badTerms.body.error.details.fields[0].field).toBe('net_days');
    expect((await api.get(`/v1/invoices/${invoice.id}/payment_attempts`)).body.data).toEqual([]);
    expect((await api.get(`/v1/invoices/${invoice.id}`)).body).toMatchObject({ past_due: false, status: 'open' });
  });
});

describe.each(dialects)('dunning through a payment provider on %s', (dialect) => {
  const ctx = useServer(dialect, { settings: { collection: 'provider' } });

  it('asks the provider at each retry, escalates when it reports the last failure, and the aging report buckets what stays unpaid', async () => {
    const { api } = ctx;
    const clock = await newClock(api, '2026-03-01T00:00:00Z');
    const customer = (await api.post('/v1/customers', { external_id: unique('cust'), currency: 'USD', test_clock: clock })).body.id as string;
    const plan = (await api.post('/v1/plans', { code: unique('plan'), name: 'Plan', currency: 'USD', interval: 'month', amount: 1200, included_credits: '10' })).body;
    const sub = (await api.post('/v1/subscriptions', { customer, plan: plan.code })).body;
    await advance(api, clock, '2026-04-15T00:00:00Z');
    const retries = await domainEvents(api, customer, 'invoice.payment_retry');
    expect(retries.map((e) => e.created_at)).toEqual([
      '2026-03-02T00:00:00.001Z', '2026-03-05T00:00:00.001Z', '2026-03-10T00:00:00.001Z', '2026-03-17T00:00:00.001Z', '2026-04-02T00:00:00.001Z',
      '2026-04-05T00:00:00.001Z', '2026-04-10T00:00:00.001Z',
    ]);
    const aging = (await api.get(`/v1/reports/aging?customer=${customer}`)).body;
    expect(aging.rows.map((r: any) => [r.bucket, r.amount_due, r.days_past_due])).toEqual([['31-60', 1200, 45], ['0-30', 1200, 14]]);
    expect(aging.totals).toEqual([{ currency: 'USD', '0-30': 1200, '31-60': 1200, '61-90': 0, '90+': 0, total: 2400 }]);
    const [march] = await listAll(api, `/v1/invoices?customer=${customer}`);
    const last = await api.post(`/v1/invoices/${march.id}/payment_attempts`, { outcome: 'failed', failure_code: 'card_declined' });
    expect(last.body.invoice_detail).toMatchObject({ status: 'uncollectible' });
    expect((await api.get(`/v1/subscriptions/${sub.id}`)).body.status).toBe('past_due');
    expect((await api.get(`/v1/reports/aging?customer=${customer}`)).body.totals[0].total).toBe(1200);
  });
});
