import { describe, expect, it } from 'vitest';
import { dialects } from '../support/databases.ts';
import { unique, useServer, type Api } from '../support/server.ts';
import { advance, balance, domainEvents, expectLedgerConsistent, ingest, listAll, newClock, newCustomer as newAnyCustomer, perUnitMeter, use, type CustomerOptions } from './fixtures.ts';

/**
 * These scenarios are about periods, proration and overage, not collection: their customers are on
 * a year's payment terms, so no invoice falls past due (nor any allowance freezes) within them.
 * Dunning and frozen credits have their own suite (dunning.test.ts).
 */
const newCustomer = (api: Api, options: CustomerOptions = {}) => newAnyCustomer(api, { net_days: 365, ...options });

/**
 * Plans, subscriptions, renewals, invoices, payments, changes and cancellations over HTTP
 * (PRODUCT §6, §7), each scenario on its own test clock so every amount and instant is exact.
 */
describe.each(dialects)('billing over HTTP on %s', (dialect) => {
  const ctx = useServer(dialect);

  async function newPlan(api: Api, fields: Record<string, unknown> = {}): Promise<any> {
    const created = await api.post('/v1/plans', {
      code: unique('plan'), name: 'Plan', currency: 'USD', interval: 'month', amount: 1000, included_credits: '100', ...fields,
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    return created.body;
  }

  async function subscribe(api: Api, customer: string, plan: string): Promise<any> {
    const created = await api.post('/v1/subscriptions', { customer, plan });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    return created.body;
  }

  /**
   * A subscriber since April 1 to 100 included credits at 10.00, overage at 2 minor units a credit,
   * who used 130 credits on April 10 and canceled at once on April 16.
   */
  async function canceledAtOnceWithOverage(api: Api) {
    const clock = await newClock(api, '2026-04-01T00:00:00Z');
    const customer = await newCustomer(api, { clock });
    const meter = await perUnitMeter(api);
    const plan = await newPlan(api, { amount: 1000, included_credits: '100', overage: { unit_amount_per_credit: '2' } });
    const sub = await subscribe(api, customer.id, plan.code);
    await advance(api, clock, '2026-04-10T00:00:00Z');
    await use(api, customer.id, meter.type, 130);
    await advance(api, clock, '2026-04-16T00:00:00Z');
    expect((await api.post(`/v1/subscriptions/${sub.id}/cancel`, { timing: 'immediate' })).status).toBe(200);
    return { clock, customer, meter, sub };
  }

  const invoicesOf = (api: Api, customer: string) => listAll(api, `/v1/invoices?customer=${customer}`);
  const linesOf = (invoice: any) => invoice.lines.map((l: any) => [l.type, l.amount]);

  it('versions a plan: before any subscription a code is replaced in place, after one it gets version 2 and the subscriber keeps version 1', async () => {
    const { api } = ctx;
    const code = unique('versioned');
    const draft = await newPlan(api, { code, amount: 1000 });
    expect(draft).toMatchObject({ code, version: 1, amount: 1000, subscribed: false });

    const replaced = await newPlan(api, { code, amount: 1200 });
    expect(replaced).toMatchObject({ code, version: 1, amount: 1200 });
    expect(replaced.id).not.toBe(draft.id);
    expect((await api.get(`/v1/plans/${draft.id}`)).status).toBe(404);
    expect((await api.get(`/v1/plans/${code}`)).body).toMatchObject({ id: replaced.id, version: 1 });

    const clock = await newClock(api, '2026-03-01T00:00:00Z');
    const customer = await newCustomer(api, { clock });
    const sub = await subscribe(api, customer.id, code);
    expect(sub.plan).toBe(replaced.id);
    expect((await api.get(`/v1/plans/${code}`)).body).toMatchObject({ id: replaced.id, subscribed: true });

    const v2 = await newPlan(api, { code, amount: 1500 });
    expect(v2).toMatchObject({ code, version: 2, amount: 1500, subscribed: false });
    expect((await api.get(`/v1/plans/${code}`)).body).toMatchObject({ id: v2.id, version: 2 });
    expect((await api.get(`/v1/plans/${replaced.id}`)).body).toMatchObject({ version: 1, amount: 1200, subscribed: true });
    // An unsubscribed version 2 is itself replaced in place.
    const v2b = await newPlan(api, { code, amount: 1600 });
    expect(v2b).toMatchObject({ version: 2, amount: 1600 });
    expect((await api.get(`/v1/plans/${v2.id}`)).status).toBe(404);

    // The subscriber renews on version 1; a new subscriber gets the latest version.
    await advance(api, clock, '2026-04-01T00:00:00Z');
    expect((await api.get(`/v1/subscriptions/${sub.id}`)).body.plan).toBe(replaced.id);
    const fees = (await invoicesOf(api, customer.id)).map((i) => [i.plan, i.total]);
    expect(fees).toEqual([[replaced.id, 1200], [replaced.id, 1200]]);
    const other = await newCustomer(api, { clock });
    expect((await subscribe(api, other.id, code)).plan).toBe(v2b.id);
    const listed = (await listAll(api, '/v1/plans')).filter((p) => p.code === code).map((p) => [p.version, p.amount]);
    expect(listed).toEqual([[1, 1200], [2, 1600]]);
  });

  it('invoices the fee in advance at the start and at each of three renewals, anchored on a month end, with overage in arrears', async () => {
    const { api } = ctx;
    const clock = await newClock(api, '2026-01-31T09:30:00Z');
    const customer = await newCustomer(api, { clock });
    const meter = await perUnitMeter(api);
    const plan = await newPlan(api, { name: 'Team', amount: 2500, included_credits: '300', overage: { unit_amount_per_credit: '0.5' } });
    const sub = await subscribe(api, customer.id, plan.code);
    expect(sub).toMatchObject({
      customer: customer.id, plan: plan.id, status: 'active', start_at: '2026-01-31T09:30:00Z',
      current_period: { index: 0, start: '2026-01-31T09:30:00Z', end: '2026-02-28T09:30:00Z' },
    });
    expect(await balance(api, customer.id)).toMatchObject({ available: '300' });

    const boundaries = ['2026-01-31T09:30:00Z', '2026-02-28T09:30:00Z', '2026-03-31T09:30:00Z', '2026-04-30T09:30:00Z', '2026-05-31T09:30:00Z'];
    // The first period uses 351 of its 300 credits: 51 in overage at 0.5 minor units each = 25.5, rounded once to 26.
    await use(api, customer.id, meter.type, 351);
    expect(await balance(api, customer.id)).toMatchObject({ available: '0', overage: '51' });
    for (const at of boundaries.slice(1, 4)) await advance(api, clock, at);
    const invoices = await invoicesOf(api, customer.id);
    expect(invoices).toHaveLength(4);
    invoices.forEach((invoice, i) => {
      const [start, end] = [boundaries[i], boundaries[i + 1]];
      const total = i === 1 ? 2526 : 2500;
      expect(invoice).toMatchObject({
        customer: customer.id, subscription: sub.id, plan: plan.id, kind: 'subscription', currency: 'USD',
        period_start: start, period_end: end, status: 'open', total, amount_paid: 0, amount_refunded: 0,
        finalized_at: start, paid_at: null, voided_at: null,
      });
      expect(invoice.lines).toHaveLength(i === 1 ? 2 : 1);
      expect(invoice.lines[0]).toMatchObject({
        type: 'subscription_fee', quantity: '1', unit_amount: '2500', amount: 2500, period_start: start, period_end: end,
        refs: { plan: plan.id, subscription: sub.id },
      });
    });
    expect(invoices[1].lines[1]).toMatchObject({
      type: 'overage', quantity: '51', unit_amount: '0.5', amount: 26, period_start: boundaries[0], period_end: boundaries[1],
      refs: { plan: plan.id, subscription: sub.id },
    });
    // The allowance of the period just started, the old one expired; the overage was invoiced once.
    expect(await balance(api, customer.id)).toMatchObject({ available: '300', overage: '0' });
    const detail = (await api.get(`/v1/subscriptions/${sub.id}`)).body;
    expect(detail.current_period).toEqual({ index: 3, start: boundaries[3], end: boundaries[4] });
    expect(detail.periods.map((p: any) => [p.index, p.start, p.invoice])).toEqual(invoices.map((inv, i) => [i, boundaries[i], inv.id]));

    // The list filters by subscription and by period start.
    const byPeriod = await api.get(`/v1/invoices?customer=${customer.id}&subscription=${sub.id}&period_start=${boundaries[2]}`);
    expect(byPeriod.status).toBe(200);
    expect(byPeriod.body.data.map((i: any) => i.id)).toEqual([invoices[2].id]);
    expect((await api.get(`/v1/invoices?period_start=yesterday`)).status).toBe(400);
    await expectLedgerConsistent(api);
  });

  it('records payments: partial then full marks the invoice paid; more than is due is a 409 overpayment that stores nothing', async () => {
    const { api } = ctx;
    const clock = await newClock(api, '2026-02-10T00:00:00Z');
    const customer = await newCustomer(api, { clock });
    const plan = await newPlan(api, { amount: 1000 });
    await subscribe(api, customer.id, plan.code);
    const [invoice] = await invoicesOf(api, customer.id);

    const partial = await api.post(`/v1/invoices/${invoice.id}/payments`, { amount: 400, provider: 'manual', provider_payment_id: 'chk_1' });
    expect(partial.status, JSON.stringify(partial.body)).toBe(201);
    expect(partial.body).toMatchObject({ object: 'payment', amount: 400, currency: 'USD', provider: 'manual', provider_payment_id: 'chk_1' });
    expect(partial.body.invoice).toMatchObject({ status: 'open', amount_paid: 400 });

    const over = await api.post(`/v1/invoices/${invoice.id}/payments`, { amount: 601 });
    expect(over.status).toBe(409);
    expect(over.body.error).toMatchObject({ code: 'overpayment', details: { due: 600 } });
    expect((await api.get(`/v1/invoices/${invoice.id}`)).body).toMatchObject({ status: 'open', amount_paid: 400 });

    const rest = await api.post(`/v1/invoices/${invoice.id}/payments`, { amount: 600 });
    expect(rest.status).toBe(201);
    expect(rest.body.invoice).toMatchObject({ status: 'paid', amount_paid: 1000, paid_at: '2026-02-10T00:00:00Z' });
    const fetched = (await api.get(`/v1/invoices/${invoice.id}`)).body;
    expect(fetched.payments.map((p: any) => p.amount)).toEqual([400, 600]);

    const again = await api.post(`/v1/invoices/${invoice.id}/payments`, { amount: 1 });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('invoice_not_open');
    expect((await api.post(`/v1/invoices/${invoice.id}/void`)).status).toBe(409);
    expect((await api.get(`/v1/invoices/${invoice.id}`)).body.payments).toHaveLength(2);
    expect((await domainEvents(api, customer.id, 'payment.recorded')).length).toBe(2);
  });

  it('voids an open invoice once; a void invoice takes no payment', async () => {
    const { api } = ctx;
    const clock = await newClock(api, '2026-02-10T00:00:00Z');
    const customer = await newCustomer(api, { clock });
    await subscribe(api, customer.id, (await newPlan(api)).code);
    const [invoice] = await invoicesOf(api, customer.id);
    const voided = await api.post(`/v1/invoices/${invoice.id}/void`);
    expect(voided.status, JSON.stringify(voided.body)).toBe(200);
    expect(voided.body).toMatchObject({ id: invoice.id, status: 'void', voided_at: '2026-02-10T00:00:00Z', total: 1000, lines: invoice.lines });
    const twice = await api.post(`/v1/invoices/${invoice.id}/void`);
    expect(twice.status).toBe(409);
    expect(twice.body.error.code).toBe('invoice_not_voidable');
    const paid = await api.post(`/v1/invoices/${invoice.id}/payments`, { amount: 1000 });
    expect(paid.status).toBe(409);
    expect(paid.body.error.code).toBe('invoice_not_open');
    expect((await api.get(`/v1/invoices/${invoice.id}`)).body).toMatchObject({ status: 'void', amount_paid: 0, payments: [] });
    expect((await api.post('/v1/invoices/inv_nope/void')).status).toBe(404);
  });

  it('changes plan immediately at half a period: lines -5.00 and +10.00, credits revoked and granted by the same half', async () => {
    const { api } = ctx;
    const clock = await newClock(api, '2026-04-01T00:00:00Z');
    const customer = await newCustomer(api, { clock });
    const a = await newPlan(api, { name: 'A', amount: 1000, included_credits: '1000' });
    const b = await newPlan(api, { name: 'B', amount: 2000, included_credits: '3000' });
    const sub = await subscribe(api, customer.id, a.code);
    await advance(api, clock, '2026-04-16T00:00:00Z');
    const changed = await api.post(`/v1/subscriptions/${sub.id}/change`, { plan: b.code, timing: 'immediate' });
    expect(changed.status, JSON.stringify(changed.body)).toBe(200);
    expect(changed.body).toMatchObject({ plan: b.id, pending_plan: null, current_period: { index: 0, start: '2026-04-01T00:00:00Z', end: '2026-05-01T00:00:00Z' } });

    const proration = (await invoicesOf(api, customer.id)).find((i) => i.kind === 'proration');
    expect(proration).toMatchObject({ subscription: sub.id, plan: b.id, period_start: '2026-04-16T00:00:00Z', period_end: '2026-05-01T00:00:00Z', total: 500, status: 'open' });
    expect(linesOf(proration)).toEqual([['proration_credit', -500], ['proration_charge', 1000]]);
    expect(proration.lines.map((l: any) => l.refs.plan)).toEqual([a.id, b.id]);
    const [event] = await domainEvents(api, customer.id, 'subscription.changed');
    expect(event.data).toMatchObject({ from_plan: a.id, to_plan: b.id, timing: 'immediate', invoice: proration.id, fraction: '1296000/2592000' });
    // 1000 − 500 revoked + 1500 granted.
    expect(await balance(api, customer.id)).toMatchObject({ available: '2000' });
    const timeline = (await api.get(`/v1/subscriptions/${sub.id}`)).body.timeline;
    expect(timeline).toEqual([
      { plan: a.id, start_at: '2026-04-01T00:00:00Z', end_at: '2026-04-16T00:00:00Z', reason: 'created' },
      { plan: b.id, start_at: '2026-04-16T00:00:00Z', end_at: null, reason: 'change' },
    ]);
    // The next period runs on B in full.
    await advance(api, clock, '2026-05-01T00:00:00Z');
    const may = (await invoicesOf(api, customer.id)).at(-1);
    expect(may).toMatchObject({ kind: 'subscription', plan: b.id, period_start: '2026-05-01T00:00:00Z', total: 2000 });
    expect(await balance(api, customer.id)).toMatchObject({ available: '3000' });
    await expectLedgerConsistent(api);
  });

  it('schedules a change at period end: nothing prorated now, the next period runs on the new plan', async () => {
    const { api } = ctx;
    const clock = await newClock(api, '2026-04-01T00:00:00Z');
    const customer = await newCustomer(api, { clock });
    const a = await newPlan(api, { amount: 3000, included_credits: '400' });
    const b = await newPlan(api, { amount: 1000, included_credits: '100' });
    const sub = await subscribe(api, customer.id, a.code);
    await advance(api, clock, '2026-04-20T00:00:00Z');
    const scheduled = await api.post(`/v1/subscriptions/${sub.id}/change`, { plan: b.code, timing: 'period_end' });
    expect(scheduled.status).toBe(200);
    expect(scheduled.body).toMatchObject({ plan: a.id, pending_plan: b.id });
    expect(await invoicesOf(api, customer.id)).toHaveLength(1);
    // The scheduled version is committed: posting its code again makes version 2, not a replacement.
    expect((await api.get(`/v1/plans/${b.id}`)).body.subscribed).toBe(true);
    expect(await newPlan(api, { code: b.code, amount: 1100 })).toMatchObject({ version: 2 });
    await advance(api, clock, '2026-05-01T00:00:00Z');
    const invoices = await invoicesOf(api, customer.id);
    expect(invoices.map((i) => [i.plan, i.total])).toEqual([[a.id, 3000], [b.id, 1000]]);
    expect((await api.get(`/v1/subscriptions/${sub.id}`)).body).toMatchObject({ plan: b.id, pending_plan: null });
    expect(await balance(api, customer.id)).toMatchObject({ available: '100' });
  });

  it('turns overage on when a change moves onto a plan that prices it, so usage beyond the allowance is billed in arrears', async () => {
    const { api } = ctx;
    const clock = await newClock(api, '2026-04-01T00:00:00Z');
    const customer = await newCustomer(api, { clock });
    const meter = await perUnitMeter(api);
    const plain = await newPlan(api, { amount: 1000, included_credits: '100' });
    const metered = await newPlan(api, { amount: 1000, included_credits: '100', overage: { unit_amount_per_credit: '2' } });
    const sub = await subscribe(api, customer.id, plain.code);
    expect((await api.get(`/v1/customers/${customer.id}`)).body.overage).toBe(false);
    await advance(api, clock, '2026-04-16T00:00:00Z');
    expect((await api.post(`/v1/subscriptions/${sub.id}/change`, { plan: metered.code, timing: 'immediate' })).status).toBe(200);
    expect((await api.get(`/v1/customers/${customer.id}`)).body.overage).toBe(true);
    // 100 − 50 revoked + 50 granted = 100 left; 130 used puts 30 in overage at 2 minor units each.
    await use(api, customer.id, meter.type, 130);
    expect(await balance(api, customer.id)).toMatchObject({ available: '0', overage: '30', debt: '0' });
    await advance(api, clock, '2026-05-01T00:00:00Z');
    const may = (await invoicesOf(api, customer.id)).at(-1);
    expect(may.lines.map((l: any) => [l.type, l.quantity, l.amount])).toEqual([['subscription_fee', '1', 1000], ['overage', '30', 60]]);
  });

  it('prices overage per plan phase: before a mid-period change at the old price, after it at the new one', async () => {
    const { api } = ctx;
    const clock = await newClock(api, '2026-04-01T00:00:00Z');
    const customer = await newCustomer(api, { clock });
    const meter = await perUnitMeter(api);
    const dear = await newPlan(api, { amount: 1000, included_credits: '100', overage: { unit_amount_per_credit: '5' } });
    const cheap = await newPlan(api, { amount: 3000, included_credits: '100', overage: { unit_amount_per_credit: '1' } });
    const sub = await subscribe(api, customer.id, dear.code);
    await advance(api, clock, '2026-04-10T00:00:00Z');
    await use(api, customer.id, meter.type, 130);
    await advance(api, clock, '2026-04-16T00:00:00Z');
    expect((await api.post(`/v1/subscriptions/${sub.id}/change`, { plan: cheap.code, timing: 'immediate' })).status).toBe(200);
    // Nothing of the first allowance is left to revoke: its remaining-time share (50) was already
    // spent, so it offsets the new allowance's share (50) and nothing is granted. All 80 later
    // credits are overage at the new price.
    await use(api, customer.id, meter.type, 80);
    await advance(api, clock, '2026-05-01T00:00:00Z');
    const may = (await invoicesOf(api, customer.id)).at(-1);
    expect(may.lines.map((l: any) => [l.type, l.quantity, l.unit_amount, l.amount, l.period_start, l.period_end, l.refs.plan])).toEqual([
      ['subscription_fee', '1', '3000', 3000, '2026-05-01T00:00:00Z', '2026-06-01T00:00:00Z', cheap.id],
      ['overage', '30', '5', 150, '2026-04-01T00:00:00Z', '2026-04-16T00:00:00Z', dear.id],
      ['overage', '80', '1', 80, '2026-04-16T00:00:00Z', '2026-05-01T00:00:00Z', cheap.id],
    ]);
    expect(await balance(api, customer.id)).toMatchObject({ available: '100', overage: '0' });
    await expectLedgerConsistent(api);
  });

  it('cancels immediately: a proration_credit for the unused time, the unused allowance revoked, and no renewal afterwards', async () => {
    const { api } = ctx;
    const clock = await newClock(api, '2026-04-01T00:00:00Z');
    const customer = await newCustomer(api, { clock });
    const plan = await newPlan(api, { amount: 1000, included_credits: '1000' });
    const sub = await subscribe(api, customer.id, plan.code);
    await advance(api, clock, '2026-04-16T00:00:00Z');
    const canceled = await api.post(`/v1/subscriptions/${sub.id}/cancel`, { timing: 'immediate' });
    expect(canceled.status, JSON.stringify(canceled.body)).toBe(200);
    expect(canceled.body).toMatchObject({ status: 'canceled', canceled_at: '2026-04-16T00:00:00Z', ended_at: '2026-04-16T00:00:00Z' });

    const final = (await invoicesOf(api, customer.id)).find((i) => i.kind === 'final');
    expect(final).toMatchObject({ subscription: sub.id, period_start: '2026-04-01T00:00:00Z', period_end: '2026-04-16T00:00:00Z', total: -500 });
    expect(final.lines).toHaveLength(1);
    expect(final.lines[0]).toMatchObject({ type: 'proration_credit', amount: -500, period_start: '2026-04-16T00:00:00Z', period_end: '2026-05-01T00:00:00Z' });
    expect(await balance(api, customer.id)).toMatchObject({ available: '500' });

    await advance(api, clock, '2026-07-15T00:00:00Z');
    expect((await invoicesOf(api, customer.id)).map((i) => i.kind)).toEqual(['subscription', 'final']);
    expect((await api.get(`/v1/subscriptions/${sub.id}`)).body).toMatchObject({ status: 'canceled', periods: [{ index: 0 }] });
    expect(await balance(api, customer.id)).toMatchObject({ available: '0' });
    const again = await api.post(`/v1/subscriptions/${sub.id}/cancel`, { timing: 'immediate' });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('subscription_not_active');
    // A canceled subscription no longer blocks a new one.
    expect((await api.post('/v1/subscriptions', { customer: customer.id, plan: plan.code })).status).toBe(201);
    await expectLedgerConsistent(api);
  });

  it('cancels immediately with overage so far: the final invoice credits the unused time and bills the overage; nothing is revoked past zero', async () => {
    const { api } = ctx;
    const { clock, customer } = await canceledAtOnceWithOverage(api);
    const final = (await invoicesOf(api, customer.id)).find((i) => i.kind === 'final');
    expect(final.lines.map((l: any) => [l.type, l.quantity, l.amount])).toEqual([['proration_credit', '1', -500], ['overage', '30', 60]]);
    expect(final.total).toBe(-440);
    expect(await balance(api, customer.id)).toMatchObject({ available: '0', overage: '0' });
    await advance(api, clock, '2026-05-15T00:00:00Z');
    expect((await invoicesOf(api, customer.id)).map((i) => i.kind)).toEqual(['subscription', 'final']);
    await expectLedgerConsistent(api);
  });

  it('bills late overage of a subscription canceled at once on one correction invoice, 35 days after the five minutes it owns after its end', async () => {
    const { api } = ctx;
    const { clock, customer, meter, sub } = await canceledAtOnceWithOverage(api);
    // An event of April 12 arrives after the final invoice: 5 credits of overage the customer owes.
    const [late] = await ingest(api, [{ id: unique('late'), customer: customer.id, type: meter.type, timestamp: '2026-04-12T00:00:00Z', properties: { n: 5 } }]);
    expect(late.status, JSON.stringify(late)).toBe('accepted');
    expect(await balance(api, customer.id)).toMatchObject({ overage: '5' });
    expect((await api.get('/v1/reconciliation')).body).toMatchObject({ ok: true, discrepancies: [] });

    await advance(api, clock, '2026-05-21T00:05:00Z');
    expect((await invoicesOf(api, customer.id)).map((i) => i.kind)).toEqual(['subscription', 'final']);
    await advance(api, clock, '2026-05-21T00:05:00.001Z');
    const invoices = await invoicesOf(api, customer.id);
    expect(invoices.map((i) => i.kind)).toEqual(['subscription', 'final', 'correction']);
    const correction = invoices[2];
    expect(correction).toMatchObject({ subscription: sub.id, total: 10, period_start: '2026-04-01T00:00:00Z', period_end: '2026-04-16T00:00:00Z' });
    expect(correction.lines.map((l: any) => [l.type, l.quantity, l.unit_amount, l.amount, l.period_start, l.period_end]))
      .toEqual([['overage', '5', '2', 10, '2026-04-01T00:00:00Z', '2026-04-16T00:00:00Z']]);
    const finalized = await domainEvents(api, customer.id, 'invoice.finalized');
    expect(finalized.map((e) => e.data)).toContainEqual(expect.objectContaining({ invoice: correction.id, kind: 'correction', total: 10 }));
    expect(await balance(api, customer.id)).toMatchObject({ overage: '0' });
    await advance(api, clock, '2026-09-01T00:00:00Z');
    expect((await invoicesOf(api, customer.id)).map((i) => i.kind)).toEqual(['subscription', 'final', 'correction']);
    expect((await api.get('/v1/reconciliation')).body).toMatchObject({ ok: true, discrepancies: [] });
    await expectLedgerConsistent(api);
  });

  it('bills the usage of the instant a subscription was changed and canceled at once, once', async () => {
    const { api } = ctx;
    const clock = await newClock(api, '2026-03-01T00:00:00Z');
    const customer = await newCustomer(api, { clock });
    const meter = await perUnitMeter(api, '1');
    const plan = await newPlan(api, { amount: 0, included_credits: '0', overage: { unit_amount_per_credit: '2' } });
    const sub = await subscribe(api, customer.id, plan.code);
    // The same instant: a change of plan (a phase that begins and ends at once), the cancellation,
    // then usage stamped at it, which the subscription owns (its end's own millisecond).
    expect((await api.post(`/v1/subscriptions/${sub.id}/change`, { plan: plan.code, timing: 'immediate' })).status).toBe(200);
    expect((await api.post(`/v1/subscriptions/${sub.id}/cancel`, { timing: 'immediate' })).status).toBe(200);
    expect(await use(api, customer.id, meter.type, '5')).toMatchObject({ overage: '5' });
    await advance(api, clock, '2026-04-06T00:05:00.001Z');
    const correction = (await invoicesOf(api, customer.id)).find((i) => i.kind === 'correction');
    // Each phase's window billed it before: 10 credits and 20 cents for 5 credits of usage.
    expect(correction.lines.map((l: any) => [l.type, l.quantity, l.amount, l.period_start])).toEqual([['overage', '5', 10, '2026-03-01T00:00:00Z']]);
    expect(await balance(api, customer.id)).toMatchObject({ overage: '0' });
    expect((await api.get('/v1/reconciliation')).body).toMatchObject({ ok: true, discrepancies: [] });
    await expectLedgerConsistent(api);
  });

  it('cancels at period end: the period runs out, then the subscription ends with no further invoice', async () => {
    const { api } = ctx;
    const clock = await newClock(api, '2026-04-01T00:00:00Z');
    const customer = await newCustomer(api, { clock });
    const plan = await newPlan(api, { amount: 1000, included_credits: '50' });
    const sub = await subscribe(api, customer.id, plan.code);
    await advance(api, clock, '2026-04-10T00:00:00Z');
    const scheduled = await api.post(`/v1/subscriptions/${sub.id}/cancel`, { timing: 'period_end' });
    expect(scheduled.status).toBe(200);
    expect(scheduled.body).toMatchObject({ status: 'active', cancel_at_period_end: true, ended_at: null });
    expect(await balance(api, customer.id)).toMatchObject({ available: '50' });

    await advance(api, clock, '2026-05-01T00:00:00Z');
    expect((await api.get(`/v1/subscriptions/${sub.id}`)).body).toMatchObject({ status: 'canceled', ended_at: '2026-05-01T00:00:00Z' });
    await advance(api, clock, '2026-08-01T00:00:00Z');
    expect((await invoicesOf(api, customer.id)).map((i) => [i.kind, i.period_start])).toEqual([['subscription', '2026-04-01T00:00:00Z']]);
    expect(await balance(api, customer.id)).toMatchObject({ available: '0' });
    await expectLedgerConsistent(api);
  });

  describe('bad input', () => {
    const fieldsOf = (body: any): { field: string; code: string }[] =>
      (body.error.details?.fields ?? []).map((f: { field: string; code: string }) => ({ field: f.field, code: f.code }));

    /** What a refused request must leave untouched for the customer. */
    async function stateOf(api: Api, customer: string) {
      return {
        subscriptions: (await listAll(api, `/v1/subscriptions?customer=${customer}`)).map((s) => [s.id, s.plan, s.status]),
        invoices: (await invoicesOf(api, customer)).map((i) => i.id),
        grants: (await listAll(api, `/v1/grants?customer=${customer}`)).map((g) => [g.id, g.remaining]),
        events: (await domainEvents(api, customer)).length,
      };
    }

    it('refuses a subscription to an unknown plan or customer', async () => {
      const { api } = ctx;
      const customer = await newCustomer(api);
      const before = await stateOf(api, customer.id);
      const unknownPlan = await api.post('/v1/subscriptions', { customer: customer.id, plan: unique('nope') });
      expect(unknownPlan.status).toBe(404);
      expect(unknownPlan.body.error.code).toBe('plan_not_found');
      const plan = await newPlan(api);
      const unknownCustomer = await api.post('/v1/subscriptions', { customer: unique('cus'), plan: plan.code });
      expect(unknownCustomer.status).toBe(404);
      expect(unknownCustomer.body.error.code).toBe('customer_not_found');
      expect(await stateOf(api, customer.id)).toEqual(before);
      expect((await api.get(`/v1/plans/${plan.code}`)).body.subscribed).toBe(false);
    });

    it('refuses a plan in another currency than the customer', async () => {
      const { api } = ctx;
      const created = await api.post('/v1/customers', { currency: 'EUR', test_clock: await newClock(api) });
      expect(created.status).toBe(201);
      const customer = created.body.id as string;
      const plan = await newPlan(api, { currency: 'USD' });
      const before = await stateOf(api, customer);
      const response = await api.post('/v1/subscriptions', { customer, plan: plan.code });
      expect(response.status).toBe(400);
      expect(response.body.error.code).toBe('validation_failed');
      expect(fieldsOf(response.body)).toEqual([{ field: 'plan', code: 'currency_mismatch' }]);
      expect(await stateOf(api, customer)).toEqual(before);
    });

    it('refuses a change to a plan of another interval or currency, leaving the subscription as it was', async () => {
      const { api } = ctx;
      const customer = await newCustomer(api);
      const monthly = await newPlan(api);
      const yearly = await newPlan(api, { interval: 'year', amount: 10000 });
      const euro = await newPlan(api, { currency: 'EUR' });
      const sub = await subscribe(api, customer.id, monthly.code);
      const before = await stateOf(api, customer.id);
      for (const [target, timing] of [[yearly, 'immediate'], [yearly, 'period_end'], [euro, 'immediate']] as const) {
        const response = await api.post(`/v1/subscriptions/${sub.id}/change`, { plan: target.code, timing });
        expect(response.status).toBe(400);
        expect(fieldsOf(response.body)).toEqual([{ field: 'plan', code: 'plan_incompatible' }]);
      }
      const unknown = await api.post(`/v1/subscriptions/${sub.id}/change`, { plan: unique('nope'), timing: 'immediate' });
      expect(unknown.status).toBe(404);
      const badTiming = await api.post(`/v1/subscriptions/${sub.id}/change`, { plan: monthly.code, timing: 'later' });
      expect(badTiming.status).toBe(400);
      expect(await stateOf(api, customer.id)).toEqual(before);
      expect((await api.get(`/v1/subscriptions/${sub.id}`)).body).toMatchObject({ plan: monthly.id, pending_plan: null });
      expect((await api.post('/v1/subscriptions/sub_nope/change', { plan: monthly.code, timing: 'immediate' })).status).toBe(404);
    });

    it('refuses a second active subscription with 409 subscription_exists', async () => {
      const { api } = ctx;
      const customer = await newCustomer(api);
      const plan = await newPlan(api);
      await subscribe(api, customer.id, plan.code);
      const before = await stateOf(api, customer.id);
      const second = await api.post('/v1/subscriptions', { customer: customer.id, plan: (await newPlan(api)).code });
      expect(second.status).toBe(409);
      expect(second.body.error.code).toBe('subscription_exists');
      expect(await stateOf(api, customer.id)).toEqual(before);
      expect(before.subscriptions).toHaveLength(1);
    });

    it('refuses negative amounts and credits on plans, payments and purchases', async () => {
      const { api } = ctx;
      const code = unique('neg');
      const negativeAmount = await api.post('/v1/plans', { code, name: 'N', currency: 'USD', interval: 'month', amount: -100, included_credits: '10' });
      expect(negativeAmount.status).toBe(400);
      expect(fieldsOf(negativeAmount.body)).toContainEqual({ field: 'amount', code: 'out_of_range' });
      const negativeCredits = await api.post('/v1/plans', {
        code, name: 'N', currency: 'USD', interval: 'month', amount: 100, included_credits: '-10', rollover: { max_credits: '-1' },
      });
      expect(negativeCredits.status).toBe(400);
      expect(fieldsOf(negativeCredits.body).map((f) => f.field).sort()).toEqual(['included_credits', 'rollover.max_credits']);
      const negativePrice = await api.post('/v1/plans', {
        code, name: 'N', currency: 'USD', interval: 'month', amount: 100, included_credits: '10', overage: { unit_amount_per_credit: '-0.5' },
      });
      expect(negativePrice.status).toBe(400);
      expect((await api.get(`/v1/plans/${code}`)).status).toBe(404);
      expect((await listAll(api, '/v1/plans')).filter((p) => p.code === code)).toEqual([]);

      const customer = await newCustomer(api);
      await subscribe(api, customer.id, (await newPlan(api)).code);
      const [invoice] = await invoicesOf(api, customer.id);
      const before = await stateOf(api, customer.id);
      for (const amount of [-5, 0, 1.5]) {
        const response = await api.post(`/v1/invoices/${invoice.id}/payments`, { amount });
        expect(response.status, String(amount)).toBe(400);
      }
      const purchase = await api.post(`/v1/customers/${customer.id}/purchases`, { credits: '10', amount: -1 });
      expect(purchase.status).toBe(400);
      const negativePack = await api.post(`/v1/customers/${customer.id}/purchases`, { credits: '-10', amount: 100 });
      expect(negativePack.status).toBe(400);
      expect(await stateOf(api, customer.id)).toEqual(before);
      expect((await api.get(`/v1/invoices/${invoice.id}`)).body).toMatchObject({ amount_paid: 0, payments: [] });
    });
  });
});
