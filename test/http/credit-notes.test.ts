import { describe, expect, it } from 'vitest';
import { dialects } from '../support/databases.ts';
import { unique, useServer, type Api } from '../support/server.ts';
import { advance, domainEvents, expectLedgerConsistent, listAll, newClock, newCustomer } from './fixtures.ts';

/**
 * Credit notes and the customer's money balance over HTTP (PRODUCT §14): money owed back is kept
 * as balance and applied, oldest note first, to the next invoices; refundable notes can be paid out.
 */
describe.each(dialects)('credit notes and the customer balance on %s', (dialect) => {
  const ctx = useServer(dialect);

  async function newPlan(api: Api, amount: number, included = '100'): Promise<any> {
    const created = await api.post('/v1/plans', { code: unique('plan'), name: 'Plan', currency: 'USD', interval: 'month', amount, included_credits: included });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    return created.body;
  }

  const invoicesOf = (api: Api, customer: string) => listAll(api, `/v1/invoices?customer=${customer}`);

  async function pay(api: Api, invoice: any): Promise<void> {
    const paid = await api.post(`/v1/invoices/${invoice.id}/payments`, { amount: invoice.amount_remaining });
    expect(paid.status, JSON.stringify(paid.body)).toBe(201);
  }

  it('a cancellation\'s credit beside its unpaid fee is not paid out: the balance pays the fee first', async () => {
    const { api } = ctx;
    const clock = await newClock(api, '2026-03-01T00:00:00Z');
    const customer = (await api.post('/v1/customers', { external_id: unique('cust'), currency: 'USD', test_clock: clock, net_days: 30 })).body;
    const plan = await newPlan(api, 3100, '310');
    const sub = (await api.post('/v1/subscriptions', { customer: customer.id, plan: plan.code })).body;
    const fee = (await invoicesOf(api, customer.id))[0];
    await advance(api, clock, '2026-03-11T00:00:00Z');
    expect((await api.post(`/v1/subscriptions/${sub.id}/cancel`, { timing: 'immediate' })).status).toBe(200);
    const final = (await invoicesOf(api, customer.id)).find((i) => i.kind === 'final');
    expect(final).toMatchObject({ total: -2100, credit_note: expect.stringMatching(/^cn_/) });

    // 31.00 still owed, 21.00 owed back: no cash leaves while the fee is unpaid.
    const payout = await api.post(`/v1/credit_notes/${final.credit_note}/refund`, {});
    expect([payout.status, payout.body.error.code, payout.body.error.details.invoices]).toEqual([409, 'customer_has_unpaid_invoices', [fee.id]]);
    expect((await api.get(`/v1/credit_notes/${final.credit_note}`)).body).toMatchObject({ remaining: 2100, uses: [] });
    const applied = await api.post(`/v1/invoices/${fee.id}/apply_balance`);
    expect(applied.body).toMatchObject({ balance_applied: 2100, amount_remaining: 1000, status: 'open' });
    await pay(api, applied.body);
    expect((await api.get(`/v1/customers/${customer.id}/money_balance`)).body.balances).toEqual([{ currency: 'USD', amount: 0 }]);
    expect((await api.get('/v1/reconciliation')).body.discrepancies).toEqual([]);
  });

  it('a dunning retry pays from the balance first: a cancellation\'s credit settles what it can of the unpaid fee', async () => {
    const { api } = ctx;
    const clock = await newClock(api, '2026-03-01T00:00:00Z');
    const customer = (await api.post('/v1/customers', { external_id: unique('cust'), currency: 'USD', test_clock: clock })).body;
    const plan = await newPlan(api, 3100, '310');
    const sub = (await api.post('/v1/subscriptions', { customer: customer.id, plan: plan.code })).body;
    const fee = (await invoicesOf(api, customer.id))[0];
    await api.post(`/v1/invoices/${fee.id}/payment_attempts`, { outcome: 'failed' });
    // Canceled on day 10: 21.00 of unused time comes back as a note, beside the 31.00 still owed.
    await advance(api, clock, '2026-03-11T00:00:00Z');
    expect((await api.post(`/v1/subscriptions/${sub.id}/cancel`, { timing: 'immediate' })).status).toBe(200);
    // The last retry (March 17: 1, 3, 5 and 7 days after each other from the failure) takes the
    // note first, then gives up on the 10.00 left.
    await advance(api, clock, '2026-03-18T00:00:00Z');
    const after = (await api.get(`/v1/invoices/${fee.id}`)).body;
    expect(after).toMatchObject({ balance_applied: 2100, amount_paid: 2100, status: 'uncollectible', amount_remaining: 1000 });
    expect((await api.get(`/v1/customers/${customer.id}/money_balance`)).body.balances).toEqual([{ currency: 'USD', amount: 0 }]);

    // Balance enough for all of it: the retry settles the invoice and nothing fails.
    const other = (await api.post('/v1/customers', { external_id: unique('cust'), currency: 'USD', test_clock: clock })).body;
    const bought = (await api.post(`/v1/customers/${other.id}/purchases`, { credits: '50', amount: 500 })).body;
    await api.post(`/v1/invoices/${bought.invoice.id}/payment_attempts`, { outcome: 'failed' });
    await api.post('/v1/credit_notes', { customer: other.id, amount: 600, reason: 'goodwill' });
    await advance(api, clock, '2026-03-20T00:00:00Z');
    expect((await api.get(`/v1/invoices/${bought.invoice.id}`)).body).toMatchObject({ status: 'paid', balance_applied: 500, past_due: false, next_payment_attempt: null });
    expect((await api.get(`/v1/invoices/${bought.invoice.id}/payment_attempts`)).body.data.map((a: any) => a.outcome)).toEqual(['failed']);
    expect((await api.get(`/v1/grants/${bought.grant.id}`)).body).toMatchObject({ status: 'active', remaining: '50' });
    expect((await api.get('/v1/reconciliation')).body.discrepancies).toEqual([]);
  });

  it('a downgrade at half the period from 30.00 to 10.00 issues a credit note of 10.00, which pays the next renewal by balance', async () => {
    const { api } = ctx;
    const clock = await newClock(api, '2026-04-01T00:00:00Z');
    const customer = await newCustomer(api, { clock });
    const big = await newPlan(api, 3000);
    const small = await newPlan(api, 1000);
    const sub = (await api.post('/v1/subscriptions', { customer: customer.id, plan: big.code })).body;
    await pay(api, (await invoicesOf(api, customer.id))[0]);

    await advance(api, clock, '2026-04-16T00:00:00Z');
    expect((await api.post(`/v1/subscriptions/${sub.id}/change`, { plan: small.code, timing: 'immediate' })).status).toBe(200);
    const proration = (await invoicesOf(api, customer.id)).find((i) => i.kind === 'proration');
    expect(proration.lines.map((l: any) => [l.type, l.amount])).toEqual([['proration_credit', -1500], ['proration_charge', 500]]);
    expect(proration).toMatchObject({ subtotal: -1000, total: -1000, balance_applied: 0, amount_due: 0, status: 'paid' });
    expect(proration.credit_note).toMatch(/^cn_/);

    const note = (await api.get(`/v1/credit_notes/${proration.credit_note}`)).body;
    expect(note).toMatchObject({
      object: 'credit_note', customer: customer.id, currency: 'USD', amount: 1000, remaining: 1000, source: 'proration', status: 'open',
      invoice: proration.id, invoice_line: proration.lines[0].id, refundable: true, uses: [],
    });
    expect((await api.get(`/v1/customers/${customer.id}`)).body.money_balance).toEqual([{ currency: 'USD', amount: 1000 }]);
    expect((await api.get(`/v1/customers/${customer.id}/balance`)).body.money_balance).toEqual([{ currency: 'USD', amount: 1000 }]);
    expect((await domainEvents(api, customer.id, 'credit_note.created')).map((e) => e.data.credit_note)).toEqual([note.id]);

    await advance(api, clock, '2026-05-01T00:00:00Z');
    const renewal = (await invoicesOf(api, customer.id)).find((i) => i.kind === 'subscription' && i.period_start === '2026-05-01T00:00:00Z');
    expect(renewal).toMatchObject({ subtotal: 1000, total: 1000, balance_applied: 1000, amount_due: 0, amount_paid: 1000, status: 'paid' });
    const payments = (await api.get(`/v1/invoices/${renewal.id}`)).body.payments;
    expect(payments.map((p: any) => [p.method, p.amount])).toEqual([['balance', 1000]]);
    expect((await api.get(`/v1/credit_notes/${note.id}`)).body).toMatchObject({
      remaining: 0, amount_applied: 1000, status: 'closed', uses: [{ kind: 'applied', invoice: renewal.id, payment: payments[0].id, amount: 1000 }],
    });
    expect((await api.get(`/v1/customers/${customer.id}/money_balance`)).body.balances).toEqual([{ currency: 'USD', amount: 0 }]);
    const reconciliation = (await api.get('/v1/reconciliation')).body;
    expect(reconciliation.discrepancies).toEqual([]);
    expect(reconciliation.checks).toContainEqual({ name: 'customer_balance', ok: true });
    await expectLedgerConsistent(api);

    // Revenue nets the credit note: 30.00 in cash, though 40.00 was paid counting the balance.
    const revenue = (await api.get(`/v1/reports/revenue?customer=${customer.id}`)).body;
    expect(revenue.totals).toEqual([expect.objectContaining({ currency: 'USD', invoiced: 3000, paid: 4000, credit_notes: 1000, net: 3000 })]);
    const notes = (await api.get(`/v1/reports/credit_notes?customer=${customer.id}`)).body;
    expect(notes.rows.map((r: any) => [r.id, r.amount, r.source])).toEqual([[note.id, 1000, 'proration']]);
    expect(notes.totals).toEqual([{ currency: 'USD', opening_balance: 0, issued: 1000, applied: 1000, paid_out: 0, reversed: 0, closing_balance: 0 }]);
    const window = (await api.get(`/v1/reports/credit_notes?customer=${customer.id}&from=2026-04-20T00:00:00Z`)).body;
    expect(window.totals).toEqual([{ currency: 'USD', opening_balance: 1000, issued: 0, applied: 1000, paid_out: 0, reversed: 0, closing_balance: 0 }]);
    const csv = await api.request('GET', `/v1/reports/credit_notes?customer=${customer.id}`, undefined, { accept: 'text/csv' });
    expect(String(csv.body).split('\r\n')[0]).toBe('id,customer,created_at,currency,amount,source,reason,refundable,invoice,refund');
  });

  it('a 20.00 invoice refunded 8.00 to balance: a credit note of 8.00, no cash; the next 15.00 invoice has 7.00 due', async () => {
    const { api } = ctx;
    const customer = await newCustomer(api);
    const first = (await api.post(`/v1/customers/${customer.id}/purchases`, { credits: '200', amount: 2000 })).body.invoice;
    await pay(api, first);
    const refund = await api.post('/v1/refunds', { invoice: first.id, amount: 800, reason: 'partial service', credit_policy: 'none', to: 'balance' });
    expect(refund.status, JSON.stringify(refund.body)).toBe(201);
    expect(refund.body).toMatchObject({ amount: 800, to: 'balance' });
    const note = (await api.get(`/v1/credit_notes/${refund.body.credit_note}`)).body;
    expect(note).toMatchObject({ amount: 800, remaining: 800, source: 'refund', refund: refund.body.id, invoice: first.id, refundable: true });
    expect((await api.get(`/v1/invoices/${first.id}`)).body).toMatchObject({ amount_paid: 2000, amount_refunded: 800 });

    const second = (await api.post(`/v1/customers/${customer.id}/purchases`, { credits: '150', amount: 1500 })).body;
    expect(second.invoice).toMatchObject({ subtotal: 1500, balance_applied: 800, amount_due: 700, amount_remaining: 700, amount_paid: 800, status: 'open' });
    expect(second.grant.status).toBe('pending');
    await pay(api, second.invoice);
    expect((await api.get(`/v1/invoices/${second.invoice.id}`)).body.payments.map((p: any) => [p.method, p.amount])).toEqual([['balance', 800], ['manual', 700]]);
    expect((await api.get(`/v1/grants/${second.grant.id}`)).body.status).toBe('active');

    // Cash refunds stay the default.
    const cash = await api.post('/v1/refunds', { invoice: second.invoice.id, amount: 100, reason: 'goodwill', credit_policy: 'none' });
    expect(cash.body).toMatchObject({ to: 'cash', credit_note: null });
    // Net revenue is the cash kept: 20.00 + 7.00 − 1.00.
    const revenue = (await api.get(`/v1/reports/revenue?customer=${customer.id}`)).body;
    expect(revenue.totals).toEqual([expect.objectContaining({ paid: 3500, refunded: 900, credit_notes: 0, net: 2600 })]);
  });

  it('goodwill notes: listed per customer, applied oldest first; a refundable one is paid out, a non-refundable one is not', async () => {
    const { api } = ctx;
    const customer = await newCustomer(api);
    const a = await api.post('/v1/credit_notes', { customer: customer.externalId, amount: 300, reason: 'outage', refundable: false });
    expect(a.status, JSON.stringify(a.body)).toBe(201);
    const b = await api.post('/v1/credit_notes', { customer: customer.id, amount: 500, currency: 'USD', reason: 'apology', refundable: true });
    expect(b.status).toBe(201);
    expect((await listAll(api, `/v1/customers/${customer.id}/credit_notes`)).map((n) => n.id)).toEqual([a.body.id, b.body.id]);
    expect((await listAll(api, `/v1/credit_notes?customer=${customer.id}`)).map((n) => n.amount)).toEqual([300, 500]);

    const refused = await api.post(`/v1/credit_notes/${a.body.id}/refund`, {});
    expect(refused.status).toBe(409);
    expect(refused.body.error.code).toBe('credit_note_not_refundable');
    const tooMuch = await api.post(`/v1/credit_notes/${b.body.id}/refund`, { amount: 501 });
    expect(tooMuch.body.error.code).toBe('amount_exceeds_remaining');

    const purchase = (await api.post(`/v1/customers/${customer.id}/purchases`, { credits: '4', amount: 400 })).body;
    expect(purchase.invoice).toMatchObject({ balance_applied: 400, amount_due: 0, status: 'paid' });
    expect(purchase.grant.status).toBe('active');
    expect((await api.get(`/v1/credit_notes/${a.body.id}`)).body).toMatchObject({ remaining: 0, status: 'closed' });
    expect((await api.get(`/v1/credit_notes/${b.body.id}`)).body).toMatchObject({ remaining: 400, amount_applied: 100 });

    const paidOut = await api.post(`/v1/credit_notes/${b.body.id}/refund`, {});
    expect(paidOut.status, JSON.stringify(paidOut.body)).toBe(200);
    expect(paidOut.body).toMatchObject({ remaining: 0, amount_refunded: 400, amount_applied: 100, status: 'closed' });
    expect((await api.get(`/v1/customers/${customer.id}`)).body.money_balance).toEqual([{ currency: 'USD', amount: 0 }]);
    expect((await api.get('/v1/reconciliation')).body.discrepancies).toEqual([]);
  });

  it('what the balance paid goes back only to the balance: a non-refundable note never leaves as cash or a chargeback', async () => {
    const { api } = ctx;
    const customer = await newCustomer(api);
    expect((await api.post('/v1/credit_notes', { customer: customer.id, amount: 400, reason: 'outage', refundable: false })).status).toBe(201);
    const invoice = (await api.post(`/v1/customers/${customer.id}/purchases`, { credits: '10', amount: 1000 })).body.invoice;
    expect(invoice).toMatchObject({ balance_applied: 400, amount_due: 600 });
    await pay(api, invoice);

    // 600 came in as money, 400 from the note: 601 in cash is refused and stores nothing.
    const tooMuch = await api.post('/v1/refunds', { invoice: invoice.id, amount: 601, reason: 'x', credit_policy: 'none' });
    expect([tooMuch.status, tooMuch.body.error.code, tooMuch.body.error.details.returnable]).toEqual([409, 'amount_exceeds_paid', 600]);
    const chargeback = await api.post('/v1/chargebacks', { invoice: invoice.id, amount: 601, reason: 'x', credit_policy: 'none' });
    expect([chargeback.status, chargeback.body.error.code]).toEqual([409, 'amount_exceeds_paid']);
    expect((await api.get(`/v1/invoices/${invoice.id}`)).body).toMatchObject({ amount_paid: 1000, amount_refunded: 0, amount_charged_back: 0 });

    // 500 in cash, then what is left of the money (100) charged back; the note's 400 goes back to the balance.
    expect((await api.post('/v1/refunds', { invoice: invoice.id, amount: 500, reason: 'x', credit_policy: 'none' })).status).toBe(201);
    expect((await api.post('/v1/chargebacks', { invoice: invoice.id, amount: 100, reason: 'x', credit_policy: 'none' })).status).toBe(201);
    const cash = await api.post('/v1/refunds', { invoice: invoice.id, amount: 1, reason: 'x', credit_policy: 'none' });
    expect([cash.status, cash.body.error.details.returnable]).toEqual([409, 0]);
    const toBalance = await api.post('/v1/refunds', { invoice: invoice.id, amount: 400, reason: 'x', credit_policy: 'none', to: 'balance' });
    expect(toBalance.status, JSON.stringify(toBalance.body)).toBe(201);
    expect((await api.post('/v1/refunds', { invoice: invoice.id, amount: 1, reason: 'x', credit_policy: 'none', to: 'balance' })).status).toBe(409);
    expect((await api.get(`/v1/invoices/${invoice.id}`)).body).toMatchObject({ amount_paid: 1000, amount_refunded: 900, amount_charged_back: 100 });
    expect((await api.get(`/v1/customers/${customer.id}/money_balance`)).body.balances).toEqual([{ currency: 'USD', amount: 400 }]);
    expect((await api.get('/v1/reconciliation')).body.discrepancies).toEqual([]);
  });

  it('refuses bad input with codes and stores nothing', async () => {
    const { api } = ctx;
    const customer = await newCustomer(api);
    const before = await listAll(api, `/v1/credit_notes?customer=${customer.id}`);
    const eur = await api.post('/v1/credit_notes', { customer: customer.id, amount: 100, currency: 'EUR', reason: 'x' });
    expect([eur.status, eur.body.error.code, eur.body.error.details.fields[0].field]).toEqual([400, 'validation_failed', 'currency']);
    expect(eur.body.error.details.fields[0].code).toBe('currency_mismatch');
    const negative = await api.post('/v1/credit_notes', { customer: customer.id, amount: -100, reason: 'x' });
    expect([negative.status, negative.body.error.code, negative.body.error.details.fields[0].field]).toEqual([400, 'validation_failed', 'amount']);
    const zero = await api.post('/v1/credit_notes', { customer: customer.id, amount: 0, reason: 'x' });
    expect(zero.status).toBe(400);
    const unknown = await api.post('/v1/credit_notes', { customer: 'nobody', amount: 100, reason: 'x' });
    expect([unknown.status, unknown.body.error.code]).toEqual([404, 'customer_not_found']);

    const open = (await api.post(`/v1/customers/${customer.id}/purchases`, { credits: '1', amount: 100 })).body.invoice;
    expect((await api.post(`/v1/invoices/${open.id}/void`)).status).toBe(200);
    const onVoid = await api.post('/v1/credit_notes', { customer: customer.id, amount: 100, reason: 'x', invoice: open.id });
    expect([onVoid.status, onVoid.body.error.code]).toEqual([409, 'invoice_void']);
    const applyVoid = await api.post(`/v1/invoices/${open.id}/apply_balance`);
    expect([applyVoid.status, applyVoid.body.error.code]).toEqual([409, 'invoice_not_open']);
    const missing = await api.post('/v1/credit_notes/cn_missing/refund', {});
    expect([missing.status, missing.body.error.code]).toEqual([404, 'credit_note_not_found']);
    const chargebackToBalance = await api.post('/v1/chargebacks', { invoice: open.id, amount: 1, reason: 'x', credit_policy: 'none', to: 'balance' });
    expect(chargebackToBalance.status).toBe(400);

    expect(await listAll(api, `/v1/credit_notes?customer=${customer.id}`)).toEqual(before);
    expect((await api.get(`/v1/customers/${customer.id}`)).body.money_balance).toEqual([]);
  });

  it('applies balance given after an invoice was finalized, and gives it back as notes when that invoice is voided, refundable as far as it was', async () => {
    const { api } = ctx;
    const customer = await newCustomer(api);
    const invoice = (await api.post(`/v1/customers/${customer.id}/purchases`, { credits: '10', amount: 1000 })).body.invoice;
    await api.post('/v1/credit_notes', { customer: customer.id, amount: 250, reason: 'late credit' });
    await api.post('/v1/credit_notes', { customer: customer.id, amount: 100, reason: 'owed back in cash', refundable: true });
    const applied = await api.post(`/v1/invoices/${invoice.id}/apply_balance`);
    expect(applied.status, JSON.stringify(applied.body)).toBe(200);
    expect(applied.body).toMatchObject({ balance_applied: 350, amount_due: 650, amount_remaining: 650, status: 'open' });
    expect((await api.post(`/v1/invoices/${invoice.id}/void`)).status).toBe(200);
    const notes = await listAll(api, `/v1/credit_notes?customer=${customer.id}`);
    expect(notes.map((n) => [n.source, n.amount, n.remaining, n.refundable])).toEqual([
      ['goodwill', 250, 0, false], ['goodwill', 100, 0, true], ['invoice_void', 100, 100, true], ['invoice_void', 250, 250, false],
    ]);
    // The void gave the balance back once: no refund or chargeback of it on the void invoice.
    for (const [path, to] of [['/v1/refunds', 'balance'], ['/v1/refunds', 'cash'], ['/v1/chargebacks', undefined]] as const) {
      const refused = await api.post(path, { invoice: invoice.id, amount: 250, reason: 'x', credit_policy: 'none', ...(to ? { to } : {}) });
      expect([refused.status, refused.body.error.code, refused.body.error.details.fields[0].field]).toEqual([409, 'invoice_void', 'invoice']);
    }
    expect((await api.get(`/v1/invoices/${invoice.id}`)).body).toMatchObject({ status: 'void', amount_refunded: 0, amount_charged_back: 0 });
    expect((await api.get(`/v1/customers/${customer.id}/money_balance`)).body.balances).toEqual([{ currency: 'USD', amount: 350 }]);
    // What could be paid out before the invoice took it still can; the rest stays balance.
    expect((await api.post(`/v1/credit_notes/${notes[2].id}/refund`, {})).status).toBe(200);
    expect((await api.post(`/v1/credit_notes/${notes[3].id}/refund`, {})).body.error.code).toBe('credit_note_not_refundable');
    expect((await api.get('/v1/reconciliation')).body.discrepancies).toEqual([]);
  });
});
