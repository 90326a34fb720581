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
    expect((await api.get('/v1/reconciliation')).body.discrepancies).toEqual([]);
    await expectLedgerConsistent(api);
  });

  it('an uncollectible invoice paid late is paid, and the allowance it revoked comes back for the rest of its period', async () => {
    const { api } = ctx;
    const { clock, customer, meter, invoice, sub } = await setup(api);
    await use(api, customer, meter.type, 40);
    // A failed attempt, then retries after 1, 3, 5 and 7 days, then given up on 2026-03-17.
    await api.post(`/v1/invoices/${invoice.id}/payment_attempts`, { outcome: 'failed' });
    await advance(api, clock, '2026-03-18T00:00:00Z');
    const gaveUp = (await api.get(`/v1/invoices/${invoice.id}`)).body;
    expect(gaveUp).toMatchObject({ status: 'uncollectible', uncollectible_at: '2026-03-17T00:00:00Z', amount_remaining: 2000, amount_paid: 0 });
    const original = (await listAll(api, `/v1/grants?customer=${customer}`))[0];
    expect(original).toMatchObject({ source: 'plan_allowance', status: 'voided', remaining: '0' });
    expect(await balance(api, customer)).toMatchObject({ available: '0' });
    expect((await use(api, customer, meter.type, 3)).overage).toBe('3');

    // A failed attempt has no dunning left to drive; a partial payment leaves it uncollectible.
    const failed = await api.post(`/v1/invoices/${invoice.id}/payment_attempts`, { outcome: 'failed' });
    expect([failed.status, failed.body.error.code]).toEqual([409, 'invoice_not_open']);
    const part = await api.post(`/v1/invoices/${invoice.id}/payments`, { amount: 500 });
    expect(part.status, JSON.stringify(part.body)).toBe(201);
    expect(part.body.invoice).toMatchObject({ status: 'uncollectible', amount_paid: 500, amount_remaining: 1500 });
    expect((await api.post(`/v1/invoices/${invoice.id}/payments`, { amount: 1501 })).body.error.code).toBe('overpayment');
    expect(await balance(api, customer)).toMatchObject({ available: '0' });

    await advance(api, clock, '2026-03-20T00:00:00Z');
    const rest = await api.post(`/v1/invoices/${invoice.id}/payment_attempts`, { outcome: 'succeeded' });
    expect(rest.status, JSON.stringify(rest.body)).toBe(201);
    expect(rest.body.invoice_detail).toMatchObject({
      status: 'paid', amount_paid: 2000, amount_remaining: 0, paid_at: '2026-03-20T00:00:00Z', uncollectible_at: '2026-03-17T00:00:00Z',
    });
    // What the void took (100 less the 40 used) comes back as a new grant, usable to the period's end.
    const grants = await listAll(api, `/v1/grants?customer=${customer}`);
    const restored = grants.find((g) => g.id !== original.id)!;
    expect(restored).toMatchObject({
      source: 'plan_allowance', status: 'active', credits: '60', remaining: '60', expires_at: original.expires_at, invoice: invoice.id,
      metadata: { restores: original.id },
    });
    expect(grants.find((g) => g.id === original.id)).toMatchObject({ status: 'voided', remaining: '0' });
    const issue = (await transactions(api, customer)).find((t) => t.cause.type === 'grant' && t.cause.id === restored.id);
    expect(issue).toMatchObject({ kind: 'grant', refs: { invoice: invoice.id, restores: original.id, subscription: sub.id } });
    expect(issue.entries.map((e: any) => [e.account, e.amount]).sort()).toEqual([[`grant:${restored.id}`, '60'], ['revoked', '-60']].sort());
    expect((await use(api, customer, meter.type, 10)).overage ?? '0').toBe('0');
    expect(await balance(api, customer)).toMatchObject({ available: '50' });
    expect((await domainEvents(api, customer, 'invoice.paid')).map((e) => e.data)).toEqual([{ invoice: invoice.id, total: 2000, was_uncollectible: true }]);

    // A refund counts what the invoice granted once (100, not 160): half the money, 50 credits.
    const refund = await api.post('/v1/refunds', { invoice: invoice.id, amount: 1000, reason: 'half back', credit_policy: 'proportional' });
    expect(refund.status, JSON.stringify(refund.body)).toBe(201);
    expect(refund.body).toMatchObject({ credits_revoked: '50', credits_shortfall: '0' });
    expect(await balance(api, customer)).toMatchObject({ available: '0' });
    expect((await api.get('/v1/reconciliation')).body.discrepancies).toEqual([]);
    await expectLedgerConsistent(api);
  });

  it('a fee never paid (void, or given up on) credits no unused time on a change or cancellation, nor charges its allowance as debt', async () => {
    const { api } = ctx;
    const plan = async (amount: number, included: string) => (await api.post('/v1/plans', {
      code: unique('plan'), name: 'Plan', currency: 'USD', interval: 'month', amount, included_credits: included,
    })).body;
    const [small, large] = [await plan(3100, '310'), await plan(6200, '620')];
    const subscribe = async () => {
      const clock = await newClock(api, '2026-03-01T00:00:00Z');
      const customer = (await api.post('/v1/customers', { external_id: unique('cust'), currency: 'USD', test_clock: clock })).body.id as string;
      const sub = (await api.post('/v1/subscriptions', { customer, plan: small.code })).body;
      return { clock, customer, sub, fee: (await listAll(api, `/v1/invoices?customer=${customer}`))[0] };
    };
    const invoicesOf = async (customer: string, kind: string) => (await listAll(api, `/v1/invoices?customer=${customer}`)).filter((i) => i.kind === kind);

    // Paid: canceled after 10 of March's 31 days, 21/31 of 31.00 comes back, and 210 of the 310 credits go.
    const paid = await subscribe();
    await api.post(`/v1/invoices/${paid.fee.id}/payments`, { amount: 3100 });
    await advance(api, paid.clock, '2026-03-11T00:00:00Z');
    await api.post(`/v1/subscriptions/${paid.sub.id}/cancel`, { timing: 'immediate' });
    expect((await invoicesOf(paid.customer, 'final'))[0].lines.map((l: any) => [l.type, l.amount])).toEqual([['proration_credit', -2100]]);
    expect(await balance(api, paid.customer)).toMatchObject({ available: '100', debt: '0', money_balance: [{ currency: 'USD', amount: 2100 }] });

    // Void: nothing was charged, so nothing comes back, and the revoked allowance is not owed again.
    const voided = await subscribe();
    expect((await api.post(`/v1/invoices/${voided.fee.id}/void`)).status).toBe(200);
    await advance(api, voided.clock, '2026-03-11T00:00:00Z');
    expect((await api.post(`/v1/subscriptions/${voided.sub.id}/cancel`, { timing: 'immediate' })).status).toBe(200);
    expect((await invoicesOf(voided.customer, 'final'))[0]).toMatchObject({ lines: [], total: 0, credit_note: null });
    expect(await balance(api, voided.customer)).toMatchObject({ available: '0', debt: '0', money_balance: [] });

    // Given up on, then an upgrade: only the new fee's remaining time is charged, with its allowance's share.
    const writtenOff = await subscribe();
    await api.post(`/v1/invoices/${writtenOff.fee.id}/payment_attempts`, { outcome: 'failed' });
    await advance(api, writtenOff.clock, '2026-03-18T00:00:00Z');
    expect((await api.get(`/v1/invoices/${writtenOff.fee.id}`)).body.status).toBe('uncollectible');
    const changed = await api.post(`/v1/subscriptions/${writtenOff.sub.id}/change`, { plan: large.code, timing: 'immediate' });
    expect(changed.status, JSON.stringify(changed.body)).toBe(200);
    const proration = (await invoicesOf(writtenOff.customer, 'proration'))[0];
    // 14 of 31 days left: 14/31 of 62.00 is 28.00, and 14/31 of 620 credits is 280.
    expect(proration.lines.map((l: any) => [l.type, l.amount])).toEqual([['proration_charge', 2800]]);
    expect(await balance(api, writtenOff.customer)).toMatchObject({ available: '280', debt: '0', money_balance: [] });

    // Paid late, the fee counts as charged again: a cancellation credits what the new plan has left.
    await api.post(`/v1/invoices/${proration.id}/payments`, { amount: 2800 });
    await advance(api, writtenOff.clock, '2026-03-25T00:00:00Z');
    await api.post(`/v1/subscriptions/${writtenOff.sub.id}/cancel`, { timing: 'immediate' });
    expect((await invoicesOf(writtenOff.customer, 'final'))[0].lines.map((l: any) => [l.type, l.amount])).toEqual([['proration_credit', -1400]]);
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

describe.each(dialects)('uncollectible invoices paid late, dunning set to cancel, on %s', (dialect) => {
  const ctx = useServer(dialect, { settings: { dunningFinalAction: 'cancel_subscription' } });

  async function setup(api: Api) {
    const clock = await newClock(api, '2026-03-01T00:00:00Z');
    const customer = (await api.post('/v1/customers', { external_id: unique('cust'), currency: 'USD', test_clock: clock })).body.id as string;
    const plan = (await api.post('/v1/plans', { code: unique('plan'), name: 'Plan', currency: 'USD', interval: 'month', amount: 2000, included_credits: '100' })).body;
    const sub = (await api.post('/v1/subscriptions', { customer, plan: plan.code })).body;
    const invoice = (await listAll(api, `/v1/invoices?customer=${customer}`))[0];
    return { clock, customer, sub, invoice };
  }

  it('paid late, an uncollectible purchase issues its credits; an allowance whose subscription ended stays revoked', async () => {
    const { api } = ctx;
    const { clock, customer, invoice, sub } = await setup(api);
    const bought = await api.post(`/v1/customers/${customer}/purchases`, { credits: '250', amount: 5000 });
    expect(bought.status, JSON.stringify(bought.body)).toBe(201);
    for (const id of [invoice.id, bought.body.invoice.id]) await api.post(`/v1/invoices/${id}/payment_attempts`, { outcome: 'failed' });
    await advance(api, clock, '2026-03-18T00:00:00Z');
    for (const id of [invoice.id, bought.body.invoice.id]) expect((await api.get(`/v1/invoices/${id}`)).body.status).toBe('uncollectible');
    const before = await listAll(api, `/v1/grants?customer=${customer}`);
    expect(before.map((g) => [g.source, g.status]).sort()).toEqual([['plan_allowance', 'voided'], ['purchase', 'voided']]);
    expect((await api.get(`/v1/subscriptions/${sub.id}`)).body).toMatchObject({ status: 'canceled', ended_at: '2026-03-17T00:00:00Z' });

    for (const id of [invoice.id, bought.body.invoice.id]) {
      const paid = await api.post(`/v1/invoices/${id}/payments`, { amount: (await api.get(`/v1/invoices/${id}`)).body.amount_remaining });
      expect(paid.status, JSON.stringify(paid.body)).toBe(201);
      expect(paid.body.invoice.status).toBe('paid');
    }
    const after = await listAll(api, `/v1/grants?customer=${customer}`);
    const purchase = before.find((g) => g.source === 'purchase')!;
    expect(after.filter((g) => !before.some((b) => b.id === g.id))).toEqual([expect.objectContaining({
      source: 'purchase', status: 'active', credits: '250', remaining: '250', invoice: bought.body.invoice.id, metadata: { restores: purchase.id },
    })]);
    expect(await balance(api, customer)).toMatchObject({ available: '250' });
    expect((await api.get('/v1/reconciliation')).body.discrepancies).toEqual([]);
    await expectLedgerConsistent(api);
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
