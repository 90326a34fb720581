import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import type Stripe from 'stripe';
import { dialects } from '../support/databases.ts';
import { useServer, unique, type Api } from '../support/server.ts';
import { StripeStandIn } from '../support/stripe-stand-in.ts';
import { waitFor } from '../support/wait-for.ts';
import { advance, balance, domainEvents, expectLedgerConsistent, listAll, newClock, newCustomer } from '../http/fixtures.ts';
import { startStripePushWorker } from '../../src/integrations/stripe/push-worker.ts';
import type { StripeSettings } from '../../src/integrations/stripe/settings.ts';

/**
 * Stripe, both ways (PRODUCT §11), against a local stand-in of Stripe's API driven by the official
 * `stripe` package: finalized invoices pushed once (through retries and lost replies), and signed
 * Stripe events applied once each through the payment, refund and chargeback flows.
 */
const webhookSecret = 'whsec_test_tally_stripe';

describe.each(dialects)('Stripe, both ways, on %s', (dialect) => {
  let standIn: StripeStandIn;
  let stripe: Stripe;
  let worker: { stop(): Promise<void> } | null = null;
  const settings: StripeSettings = {
    secretKey: 'sk_test_tally_stand_in', webhookSecret, apiBase: null, refundPolicy: 'proportional', retryDelaysMs: [50, 50, 50, 50], pollIntervalMs: 25,
  };
  // Dunning retries go through Stripe, as `tally serve` sets up when Stripe is configured.
  const ctx = useServer(dialect, { stripe: settings, settings: { collection: 'provider' } });

  beforeAll(async () => {
    standIn = await StripeStandIn.start();
    stripe = standIn.client();
    settings.apiBase = standIn.url;
    worker = startStripePushWorker(ctx.engine, settings);
  });
  afterAll(async () => {
    await worker?.stop();
    await standIn?.close();
  });

  async function purchase(api: Api, customer: string, credits: string, amount: number): Promise<{ invoice: any; grant: any }> {
    const response = await api.post(`/v1/customers/${customer}/purchases`, { credits, amount });
    expect(response.status, JSON.stringify(response.body)).toBe(201);
    return response.body;
  }

  /** Waits until the push worker has recorded the invoice's Stripe id; returns the Tally invoice. */
  async function pushed(api: Api, invoiceId: string): Promise<any> {
    return waitFor(`invoice ${invoiceId} pushed`, async () => {
      const invoice = (await api.get(`/v1/invoices/${invoiceId}`)).body;
      return invoice.provider_invoice_id ? invoice : null;
    });
  }

  async function deliver(api: Api, event: Record<string, any>, options: { secret?: string; timestamp?: number } = {}) {
    const { body, signature } = StripeStandIn.sign(event, options.secret ?? webhookSecret, options.timestamp);
    return api.as(null).request('POST', '/v1/integrations/stripe/webhook', body, { 'stripe-signature': signature });
  }

  async function paidPurchase(api: Api, credits = '1000', amount = 10_000) {
    const customer = await newCustomer(api);
    const { invoice, grant } = await purchase(api, customer.id, credits, amount);
    const local = await pushed(api, invoice.id);
    const paid = await stripe.invoices.pay(local.provider_invoice_id);
    const delivered = await deliver(api, standIn.event('invoice.paid', paid as never));
    expect(delivered.status, JSON.stringify(delivered.body)).toBe(200);
    const paymentIntent = (paid as any).payments.data[0].payment.payment_intent as string;
    const charge = [...standIn.charges.values()].find((c) => c.payment_intent === paymentIntent)!;
    return { customer, invoice, grant, stripeInvoice: paid, charge };
  }

  const stripeInvoicesFor = (tallyInvoice: string) => [...standIn.invoices.values()].filter((i) => i.metadata.tally_invoice_id === tallyInvoice);

  it('the stand-in speaks Stripe: idempotent replays, idempotency_error on other parameters, Stripe-shaped errors', async () => {
    const key = unique('key');
    const first = await stripe.customers.create({ name: 'A', metadata: { k: 'v' } }, { idempotencyKey: key });
    const again = await stripe.customers.create({ name: 'A', metadata: { k: 'v' } }, { idempotencyKey: key });
    expect(again.id).toBe(first.id);
    expect(again.lastResponse.headers['idempotent-replayed']).toBe('true');
    await expect(stripe.customers.create({ name: 'B' }, { idempotencyKey: key })).rejects.toMatchObject({ type: 'StripeIdempotencyError', rawType: 'idempotency_error', statusCode: 400 });
    await expect(stripe.invoiceItems.create({ customer: first.id, currency: 'usd' } as never)).rejects.toMatchObject({ type: 'StripeInvalidRequestError', code: 'parameter_missing', param: 'amount' });
    await expect(stripe.invoices.retrieve('in_missing')).rejects.toMatchObject({ statusCode: 404, code: 'resource_missing' });
  });

  it('pushes a finalized invoice once: a Stripe customer on first need, one item per line, finalized, ids stored both sides', async () => {
    const { api } = ctx;
    const customer = await newCustomer(api);
    const { invoice } = await purchase(api, customer.id, '500', 2500);
    const local = await pushed(api, invoice.id);
    expect(local).toMatchObject({ provider: 'stripe', provider_invoice_id: expect.stringMatching(/^in_/) });
    const shown = (await api.get(`/v1/customers/${customer.id}`)).body;
    expect(shown).toMatchObject({ provider: 'stripe', provider_customer_id: expect.stringMatching(/^cus_/) });

    const remote = standIn.invoices.get(local.provider_invoice_id)!;
    expect(remote).toMatchObject({
      customer: shown.provider_customer_id, currency: 'usd', status: 'open', total: 2500, amount_due: 2500,
      metadata: { tally_customer_id: customer.id, tally_invoice_id: invoice.id },
    });
    expect(remote.lines.data).toHaveLength(1);
    expect(remote.lines.data[0]).toMatchObject({ amount: 2500, currency: 'usd', metadata: { tally_invoice_id: invoice.id, tally_line_id: invoice.lines[0].id } });
    expect(standIn.customers.get(shown.provider_customer_id)!.metadata).toMatchObject({ tally_customer_id: customer.id });
    expect(stripeInvoicesFor(invoice.id)).toHaveLength(1);

    // A second invoice reuses the customer's Stripe customer.
    const second = await purchase(api, customer.id, '100', 500);
    const again = await pushed(api, second.invoice.id);
    expect(standIn.invoices.get(again.provider_invoice_id)!.customer).toBe(shown.provider_customer_id);
    expect([...standIn.customers.values()].filter((c) => c.metadata.tally_customer_id === customer.id)).toHaveLength(1);
  });

  it('pushes negative proration lines with their exact amounts', async () => {
    const { api } = ctx;
    const clock = await newClock(api, '2026-04-01T00:00:00Z');
    const customer = await newCustomer(api, { clock });
    const plan = async (amount: number) => {
      const created = await api.post('/v1/plans', { code: unique('plan'), name: 'Plan', currency: 'USD', interval: 'month', amount, included_credits: '100' });
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      return created.body;
    };
    const [a, b] = [await plan(1000), await plan(2000)];
    const sub = (await api.post('/v1/subscriptions', { customer: customer.id, plan: a.code })).body;
    await advance(api, clock, '2026-04-16T00:00:00Z');
    expect((await api.post(`/v1/subscriptions/${sub.id}/change`, { plan: b.code, timing: 'immediate' })).status).toBe(200);
    const proration = (await listAll(api, `/v1/invoices?customer=${customer.id}`)).find((i) => i.kind === 'proration');
    const local = await pushed(api, proration.id);
    const remote = standIn.invoices.get(local.provider_invoice_id)!;
    expect(remote.lines.data.map((l: any) => [l.metadata.tally_line_type, l.amount])).toEqual([['proration_credit', -500], ['proration_charge', 1000]]);
    expect(remote).toMatchObject({ total: 500, currency: 'usd', status: 'open' });
  });

  it('asks Stripe for Tally\'s amount due: a downgrade\'s credit stays a Tally credit note, and the balance it leaves is applied once', async () => {
    const { api } = ctx;
    const clock = await newClock(api, '2026-04-01T00:00:00Z');
    const customer = await newCustomer(api, { clock });
    const plan = async (amount: number) => (await api.post('/v1/plans', { code: unique('plan'), name: 'Plan', currency: 'USD', interval: 'month', amount, included_credits: '100' })).body;
    const [big, small] = [await plan(2000), await plan(1000)];
    const sub = (await api.post('/v1/subscriptions', { customer: customer.id, plan: big.code })).body;
    await advance(api, clock, '2026-04-16T00:00:00Z');
    expect((await api.post(`/v1/subscriptions/${sub.id}/change`, { plan: small.code, timing: 'immediate' })).status).toBe(200);
    const downgrade = (await listAll(api, `/v1/invoices?customer=${customer.id}`)).find((i) => i.kind === 'proration');
    expect(downgrade.total).toBe(-500);
    const credited = standIn.invoices.get((await pushed(api, downgrade.id)).provider_invoice_id)!;
    expect(credited.lines.data.map((l: any) => l.amount)).toEqual([-1000, 500, 500]);
    expect(credited).toMatchObject({ total: 0, amount_due: 0, status: 'paid' });

    await advance(api, clock, '2026-05-01T00:00:00Z');
    const renewal = (await listAll(api, `/v1/invoices?customer=${customer.id}`)).find((i) => i.period_start === '2026-05-01T00:00:00Z');
    expect(renewal).toMatchObject({ subtotal: 1000, balance_applied: 500, amount_due: 500 });
    const remote = standIn.invoices.get((await pushed(api, renewal.id)).provider_invoice_id)!;
    expect(remote.lines.data.map((l: any) => [l.metadata.tally_line_type ?? l.metadata.tally_adjustment, l.amount])).toEqual([['subscription_fee', 1000], ['balance_applied', -500]]);
    expect(remote).toMatchObject({ total: 500, amount_due: 500, status: 'open' });
    // Balance that arrives after the push cannot lower what Stripe collects: it waits for the next invoice.
    await api.post('/v1/credit_notes', { customer: customer.id, amount: 200, reason: 'goodwill after the push' });
    const applied = await api.post(`/v1/invoices/${renewal.id}/apply_balance`);
    expect([applied.status, applied.body.error.code, applied.body.error.details.provider_invoice_id]).toEqual([409, 'invoice_in_provider', remote.id]);
    expect((await api.get(`/v1/invoices/${renewal.id}`)).body).toMatchObject({ balance_applied: 500, amount_due: 500 });
    const paid = await stripe.invoices.pay(remote.id);
    expect((await deliver(api, standIn.event('invoice.paid', paid as never))).body).toMatchObject({ status: 'processed', invoice: renewal.id });
    expect((await api.get(`/v1/invoices/${renewal.id}`)).body).toMatchObject({ status: 'paid', amount_paid: 1000 });
  });

  it('a buyer pays the Stripe invoice: the signed invoice.paid records the payment and the pending grant becomes usable', async () => {
    const { api } = ctx;
    const customer = await newCustomer(api);
    const { invoice, grant } = await purchase(api, customer.id, '1000', 10_000);
    expect(await balance(api, customer.id)).toMatchObject({ available: '0' });
    const local = await pushed(api, invoice.id);
    const paid = await stripe.invoices.pay(local.provider_invoice_id);
    expect(paid.status).toBe('paid');

    const event = standIn.event('invoice.paid', paid as never);
    const delivered = await deliver(api, event);
    expect(delivered.status, JSON.stringify(delivered.body)).toBe(200);
    expect(delivered.body).toMatchObject({ received: true, event: event.id, duplicate: false, status: 'processed', invoice: invoice.id });
    const after = (await api.get(`/v1/invoices/${invoice.id}`)).body;
    expect(after).toMatchObject({ status: 'paid', amount_paid: 10_000 });
    expect(after.payments).toEqual([expect.objectContaining({ amount: 10_000, provider: 'stripe', provider_payment_id: expect.stringMatching(/^pi_/) })]);
    expect((await api.get(`/v1/grants/${grant.id}`)).body).toMatchObject({ status: 'active', remaining: '1000' });
    expect(await balance(api, customer.id)).toMatchObject({ available: '1000' });
    expect((await domainEvents(api, customer.id, 'invoice.paid')).map((e) => e.data.invoice)).toEqual([invoice.id]);

    const twice = await deliver(api, event);
    expect(twice.status).toBe(200);
    expect(twice.body).toMatchObject({ duplicate: true, status: 'processed', invoice: invoice.id });
    expect((await api.get(`/v1/invoices/${invoice.id}`)).body.payments).toHaveLength(1);
    await expectLedgerConsistent(api);
  });

  it('Stripe refunds 30% then another 20%: two Tally refunds of those amounts with their claw-backs; a repeat changes nothing', async () => {
    const { api } = ctx;
    const { customer, invoice, charge } = await paidPurchase(api);
    await stripe.refunds.create({ charge: charge.id, amount: 3000 });
    const first = standIn.event('charge.refunded', await stripe.charges.retrieve(charge.id) as never);
    const r1 = await deliver(api, first);
    expect(r1.status, JSON.stringify(r1.body)).toBe(200);
    expect(r1.body).toMatchObject({ status: 'processed', invoice: invoice.id });
    await stripe.refunds.create({ charge: charge.id, amount: 2000 });
    const second = standIn.event('charge.refunded', await stripe.charges.retrieve(charge.id) as never);
    expect(second.data.object.amount_refunded).toBe(5000);
    expect((await deliver(api, second)).status).toBe(200);

    const refunds = await listAll(api, `/v1/refunds?customer=${customer.id}`);
    expect(refunds.map((r) => [r.amount, r.credit_policy, r.credits_revoked])).toEqual([[3000, 'proportional', '300'], [2000, 'proportional', '200']]);
    expect(await balance(api, customer.id)).toMatchObject({ available: '500' });
    expect((await api.get(`/v1/invoices/${invoice.id}`)).body).toMatchObject({ amount_refunded: 5000 });

    // The same events again, and the first one late: nothing more is refunded.
    expect((await deliver(api, second)).body).toMatchObject({ duplicate: true });
    expect((await deliver(api, first)).body).toMatchObject({ duplicate: true });
    const replayedAsNew = standIn.event('charge.refunded', await stripe.charges.retrieve(charge.id) as never);
    expect((await deliver(api, replayedAsNew)).body).toMatchObject({ duplicate: false, status: 'processed', outcome: { refund: null } });
    expect(await listAll(api, `/v1/refunds?customer=${customer.id}`)).toHaveLength(2);
    expect(await balance(api, customer.id)).toMatchObject({ available: '500' });
    await expectLedgerConsistent(api);
  });

  it('a dispute closed (lost) before its created event arrives still ends as one lost chargeback', async () => {
    const { api } = ctx;
    const { customer, invoice, charge } = await paidPurchase(api);
    const dispute = standIn.dispute(charge.id);
    const closed = await deliver(api, standIn.event('charge.dispute.closed', { ...dispute, status: 'lost' }));
    expect(closed.status, JSON.stringify(closed.body)).toBe(200);
    expect(closed.body).toMatchObject({ status: 'processed', invoice: invoice.id, outcome: { closed: 'lost' } });
    const created = await deliver(api, standIn.event('charge.dispute.created', dispute));
    expect(created.body).toMatchObject({ status: 'processed', invoice: invoice.id });
    expect(created.body.outcome.chargeback_created).toBeUndefined();

    const chargebacks = await listAll(api, `/v1/chargebacks?customer=${customer.id}`);
    expect(chargebacks).toEqual([expect.objectContaining({ amount: 10_000, status: 'lost', credits_revoked: '1000' })]);
    expect(await balance(api, customer.id)).toMatchObject({ available: '0' });
    await expectLedgerConsistent(api);
  });

  it('a dispute opened then won restores the credits; won arriving first opens and restores at once', async () => {
    const { api } = ctx;
    const inOrder = await paidPurchase(api);
    const dispute = standIn.dispute(inOrder.charge.id);
    expect((await deliver(api, standIn.event('charge.dispute.created', dispute))).body).toMatchObject({ status: 'processed' });
    expect(await balance(api, inOrder.customer.id)).toMatchObject({ available: '0' });
    expect((await deliver(api, standIn.event('charge.dispute.closed', { ...dispute, status: 'won' }))).body).toMatchObject({ outcome: { closed: 'won' } });
    expect(await balance(api, inOrder.customer.id)).toMatchObject({ available: '1000' });

    const reversed = await paidPurchase(api);
    const late = standIn.dispute(reversed.charge.id);
    await deliver(api, standIn.event('charge.dispute.closed', { ...late, status: 'won' }));
    await deliver(api, standIn.event('charge.dispute.created', late));
    expect(await listAll(api, `/v1/chargebacks?customer=${reversed.customer.id}`)).toEqual([expect.objectContaining({ status: 'won' })]);
    expect(await balance(api, reversed.customer.id)).toMatchObject({ available: '1000' });
    await expectLedgerConsistent(api);
  });

  it('a failed Stripe payment is recorded and emitted as invoice.payment_failed', async () => {
    const { api } = ctx;
    const customer = await newCustomer(api);
    const { invoice } = await purchase(api, customer.id, '10', 100);
    const local = await pushed(api, invoice.id);
    const remote = { ...standIn.invoices.get(local.provider_invoice_id)!, attempt_count: 1, attempted: true };
    const failed = await deliver(api, standIn.event('invoice.payment_failed', remote));
    expect(failed.body).toMatchObject({ status: 'processed', invoice: invoice.id });
    const events = await domainEvents(api, customer.id, 'invoice.payment_failed');
    expect(events.map((e) => e.data)).toEqual([expect.objectContaining({ invoice: invoice.id, provider: 'stripe', attempt_count: 1, amount_due: 100 })]);
    expect((await api.get(`/v1/invoices/${invoice.id}`)).body).toMatchObject({ status: 'open' });
  });

  it('a failed Stripe payment starts dunning; the retry asks Stripe to pay, and its invoice.paid settles the invoice', async () => {
    const { api } = ctx;
    const customer = await newCustomer(api);
    const { invoice, grant } = await purchase(api, customer.id, '10', 100);
    const local = await pushed(api, invoice.id);
    const remote = { ...standIn.invoices.get(local.provider_invoice_id)!, attempt_count: 1, attempted: true };
    expect((await deliver(api, standIn.event('invoice.payment_failed', remote))).status).toBe(200);
    const pastDue = (await api.get(`/v1/invoices/${invoice.id}`)).body;
    expect(pastDue).toMatchObject({ status: 'open', past_due: true, next_payment_attempt: expect.any(String) });
    expect((await api.get(`/v1/invoices/${invoice.id}/payment_attempts`)).body.data).toEqual([
      expect.objectContaining({ outcome: 'failed', failure_code: 'stripe_payment_failed', source: 'provider' }),
    ]);

    await advance(api, customer.clock!, pastDue.next_payment_attempt);
    expect((await domainEvents(api, customer.id, 'invoice.payment_retry')).map((e) => e.data)).toEqual([
      expect.objectContaining({ invoice: invoice.id, retry: 1, provider: 'stripe' }),
    ]);
    const paidRemote = await waitFor(`Stripe invoice ${local.provider_invoice_id} paid by the retry`, async () => {
      const current = standIn.invoices.get(local.provider_invoice_id)!;
      return current.status === 'paid' ? current : null;
    });
    expect((await deliver(api, standIn.event('invoice.paid', paidRemote as never))).status).toBe(200);
    expect((await api.get(`/v1/invoices/${invoice.id}`)).body).toMatchObject({ status: 'paid', past_due: false, next_payment_attempt: null });
    expect((await api.get(`/v1/grants/${grant.id}`)).body.status).toBe('active');
  });

  it('Stripe collects an invoice Tally gave up on: the late invoice.paid pays the uncollectible invoice and issues its credits', async () => {
    const { api } = ctx;
    const customer = await newCustomer(api);
    const { invoice, grant } = await purchase(api, customer.id, '10', 100);
    const local = await pushed(api, invoice.id);
    const failed = async (attempt: number) => {
      const remote = { ...standIn.invoices.get(local.provider_invoice_id)!, status: 'open', attempt_count: attempt, attempted: true };
      const delivered = await deliver(api, standIn.event('invoice.payment_failed', remote as never));
      expect(delivered.status, JSON.stringify(delivered.body)).toBe(200);
    };
    // The first failure starts dunning; each retry asks Stripe, and Stripe reports it failed again.
    await failed(1);
    for (let retry = 1; retry <= 4; retry++) {
      await advance(api, customer.clock!, (await api.get(`/v1/invoices/${invoice.id}`)).body.next_payment_attempt);
      await failed(retry + 1);
    }
    expect((await api.get(`/v1/invoices/${invoice.id}`)).body).toMatchObject({ status: 'uncollectible', amount_remaining: 100, amount_paid: 0 });
    expect((await api.get(`/v1/grants/${grant.id}`)).body).toMatchObject({ status: 'voided', close_reason: 'invoice uncollectible' });

    const paidRemote = await stripe.invoices.retrieve(local.provider_invoice_id);
    const collected = paidRemote.status === 'paid' ? paidRemote : await stripe.invoices.pay(local.provider_invoice_id);
    const delivered = await deliver(api, standIn.event('invoice.paid', collected as never));
    expect(delivered.body).toMatchObject({ status: 'processed', invoice: invoice.id, outcome: { payment: expect.stringMatching(/^pay_/) } });
    const after = (await api.get(`/v1/invoices/${invoice.id}`)).body;
    expect(after).toMatchObject({ status: 'paid', amount_paid: 100, amount_remaining: 0, uncollectible_at: expect.any(String) });
    expect(after.payments).toEqual([expect.objectContaining({ amount: 100, provider: 'stripe' })]);
    const restored = (await listAll(api, `/v1/grants?customer=${customer.id}`)).filter((g) => g.id !== grant.id);
    expect(restored).toEqual([expect.objectContaining({ source: 'purchase', status: 'active', remaining: '10', invoice: invoice.id, metadata: { restores: grant.id } })]);
    expect(await balance(api, customer.id)).toMatchObject({ available: '10' });
    expect((await api.get('/v1/reconciliation')).body.discrepancies).toEqual([]);
    await expectLedgerConsistent(api);
  });

  it('a void in Tally voids the Stripe invoice, pushed before or after it; money Stripe collected first is kept for review until resolved', async () => {
    const { api } = ctx;
    const customer = await newCustomer(api);
    const voidedInStripe = (stripeInvoiceId: string) => waitFor(`Stripe invoice ${stripeInvoiceId} void`, async () => standIn.invoices.get(stripeInvoiceId)?.status === 'void' || null);

    // Pushed, then voided: Stripe stops collecting it.
    const after = await purchase(api, customer.id, '10', 100);
    const pushedFirst = await pushed(api, after.invoice.id);
    expect((await api.post(`/v1/invoices/${after.invoice.id}/void`)).status).toBe(200);
    await voidedInStripe(pushedFirst.provider_invoice_id);
    await expect(stripe.invoices.pay(pushedFirst.provider_invoice_id)).rejects.toMatchObject({ statusCode: 400 });

    // Voided while its push was failing: the push that succeeds later voids it too.
    standIn.failNext(2);
    const before = await purchase(api, customer.id, '20', 200);
    expect((await api.post(`/v1/invoices/${before.invoice.id}/void`)).status).toBe(200);
    const pushedLate = await pushed(api, before.invoice.id);
    await voidedInStripe(pushedLate.provider_invoice_id);

    // Paid in Stripe before the void reached it: the void there fails, and the payment is kept for review.
    const raced = await purchase(api, customer.id, '30', 300);
    const racedLocal = await pushed(api, raced.invoice.id);
    const paid = await stripe.invoices.pay(racedLocal.provider_invoice_id);
    expect((await api.post(`/v1/invoices/${raced.invoice.id}/void`)).status).toBe(200);
    const delivered = await deliver(api, standIn.event('invoice.paid', paid as never));
    expect(delivered.body).toMatchObject({ status: 'rejected', invoice: raced.invoice.id, outcome: { error: { code: 'invoice_void' } } });
    expect((await api.get(`/v1/invoices/${raced.invoice.id}`)).body).toMatchObject({ status: 'void', amount_paid: 0, payments: [] });
    const review = (await api.get('/v1/integrations/stripe/unmatched')).body.data;
    expect(review.map((e: any) => [e.id, e.status])).toContainEqual([delivered.body.event, 'rejected']);
    const reconciliation = (await api.get('/v1/reconciliation')).body;
    expect(reconciliation.discrepancies).toContainEqual(expect.objectContaining({ check: 'stripe_money_linked', ids: expect.arrayContaining([delivered.body.event]) }));
    expect(standIn.invoices.get(racedLocal.provider_invoice_id)!.status).toBe('paid');

    // Refunded in Stripe, then settled in Tally with a note: out of review and of the reconciliation.
    const eventId = delivered.body.event as string;
    const bad = await api.post(`/v1/integrations/stripe/events/${eventId}/resolve`, { note: '' });
    expect([bad.status, bad.body.error.details.fields[0].field]).toEqual([400, 'note']);
    const resolved = await api.post(`/v1/integrations/stripe/events/${eventId}/resolve`, { note: 'Refunded in Stripe (re_123)' });
    expect(resolved.status, JSON.stringify(resolved.body)).toBe(200);
    expect(resolved.body).toMatchObject({
      id: eventId, status: 'resolved', invoice: raced.invoice.id,
      outcome: { error: { code: 'invoice_void' }, resolution: { note: 'Refunded in Stripe (re_123)', resolved_at: expect.any(String), was: 'rejected' } },
    });
    expect((await api.get('/v1/integrations/stripe/unmatched')).body.data.map((e: any) => e.id)).not.toContain(eventId);
    const settled = (await api.get('/v1/reconciliation')).body.discrepancies;
    expect(settled.filter((d: any) => d.ids.includes(eventId))).toEqual([]);
    expect((await domainEvents(api, customer.id, 'stripe_event.resolved')).map((e) => e.data)).toEqual([
      { stripe_event: eventId, type: 'invoice.paid', invoice: raced.invoice.id, note: 'Refunded in Stripe (re_123)' },
    ]);
    const again = await api.post(`/v1/integrations/stripe/events/${eventId}/resolve`, { note: 'twice' });
    expect([again.status, again.body.error.code]).toEqual([409, 'stripe_event_not_in_review']);
    expect((await api.post('/v1/integrations/stripe/events/evt_missing/resolve', { note: 'x' })).status).toBe(404);
  });

  it('refuses unsigned, stale and tampered events with 400 and stores nothing', async () => {
    const { api, engine } = ctx;
    const { invoice } = await purchase(api, (await newCustomer(api)).id, '10', 100);
    const local = await pushed(api, invoice.id);
    const event = standIn.event('invoice.paid', { ...standIn.invoices.get(local.provider_invoice_id)!, status: 'paid', amount_paid: 100 });
    const { body, signature } = StripeStandIn.sign(event, webhookSecret);
    const attempts = [
      await api.as(null).request('POST', '/v1/integrations/stripe/webhook', body),
      await deliver(api, event, { timestamp: Math.floor(Date.now() / 1000) - 301 }),
      await deliver(api, event, { secret: 'whsec_someone_else' }),
      await api.as(null).request('POST', '/v1/integrations/stripe/webhook', body.replace('"amount_paid":100', '"amount_paid":1'), { 'stripe-signature': signature }),
      await api.as(null).request('POST', '/v1/integrations/stripe/webhook', body, { 'stripe-signature': 't=1,v1=00' }),
    ];
    expect(attempts.map((a) => [a.status, a.body.error?.code])).toEqual([
      [400, 'stripe_signature_missing'],
      [400, 'stripe_signature_invalid'],
      [400, 'stripe_signature_invalid'],
      [400, 'stripe_signature_invalid'],
      [400, 'stripe_signature_invalid'],
    ]);
    expect(await engine.store.read.stripe.event(event.id)).toBeNull();
    expect((await api.get(`/v1/invoices/${invoice.id}`)).body).toMatchObject({ status: 'open', payments: [] });
  });

  it('acknowledges unknown types and keeps events for unknown invoices at /unmatched', async () => {
    const { api } = ctx;
    const ignored = await deliver(api, standIn.event('customer.updated', { id: 'cus_x', object: 'customer', metadata: {} }));
    expect(ignored.status).toBe(200);
    expect(ignored.body).toMatchObject({ status: 'ignored', invoice: null });

    const stranger = standIn.event('invoice.paid', { id: `in_${unique('x')}`, object: 'invoice', currency: 'usd', amount_paid: 700, metadata: {} });
    const unmatched = await deliver(api, stranger);
    expect(unmatched.status).toBe(200);
    expect(unmatched.body).toMatchObject({ status: 'unmatched', invoice: null });
    const listed = await listAll(api, '/v1/integrations/stripe/unmatched');
    expect(listed.find((e) => e.id === stranger.id)).toMatchObject({ object: 'stripe_event', type: 'invoice.paid', status: 'unmatched', object_id: stranger.data.object.id });
    expect((await api.as(null).get('/v1/integrations/stripe/unmatched')).status).toBe(401);
    const reader = (await api.post('/v1/api_keys', { scopes: ['read'] })).body.secret;
    expect((await api.as(reader).get('/v1/integrations/stripe/unmatched')).status).toBe(200);
    const portal = (await api.post('/v1/api_keys', { scopes: ['read'], customer: (await newCustomer(api)).id })).body.secret;
    const refused = await api.as(portal).get('/v1/integrations/stripe/unmatched');
    expect([refused.status, refused.body.error.code]).toEqual([403, 'customer_forbidden']);

    // Paging through the review while resolving: the event that ended a page, resolved since,
    // still continues the list (it left the list's filter, not the table).
    const second = standIn.event('invoice.paid', { id: `in_${unique('x')}`, object: 'invoice', currency: 'usd', amount_paid: 800, metadata: {} });
    expect((await deliver(api, second)).body).toMatchObject({ status: 'unmatched' });
    const before = (await listAll(api, '/v1/integrations/stripe/unmatched')).map((e) => e.id as string);
    // The list runs in Stripe's event ids' order: the cursor is whichever of the two comes first.
    const cursor = before.find((id) => id === stranger.id || id === second.id)!;
    const after = before.slice(before.indexOf(cursor) + 1);
    expect(after).toContain(cursor === stranger.id ? second.id : stranger.id);
    expect((await api.post(`/v1/integrations/stripe/events/${cursor}/resolve`, { note: 'Refunded in Stripe' })).status).toBe(200);
    const next = await api.get(`/v1/integrations/stripe/unmatched?starting_after=${cursor}&limit=100`);
    expect([next.status, next.body.data.map((e: { id: string }) => e.id)], JSON.stringify(next.body)).toEqual([200, after]);
  });

  it('the stand-in failing (500, and a lost reply) is retried later: still exactly one Stripe invoice with one item per line', async () => {
    const { api } = ctx;
    const customer = await newCustomer(api);
    await worker!.stop();
    const { invoice } = await purchase(api, customer.id, '20', 200);
    standIn.failNext(2);
    worker = startStripePushWorker(ctx.engine, settings);
    await pushed(api, invoice.id);
    expect(stripeInvoicesFor(invoice.id)).toHaveLength(1);

    await worker.stop();
    const lost = await purchase(api, customer.id, '30', 300);
    // The invoice is made, then the reply is lost: the retry's idempotency key gets the same invoice back.
    standIn.failNext(1, { afterWork: true });
    worker = startStripePushWorker(ctx.engine, settings);
    const local = await pushed(api, lost.invoice.id);
    const made = stripeInvoicesFor(lost.invoice.id);
    expect(made).toHaveLength(1);
    expect(made[0]!.id).toBe(local.provider_invoice_id);
    expect(made[0]!.lines.data).toHaveLength(1);
    expect((await ctx.engine.store.read.stripe.push(lost.invoice.id))!.attempts).toBeGreaterThanOrEqual(2);
  });

  it('documents both routes in the OpenAPI document; the webhook needs no API key', async () => {
    const doc = (await ctx.api.as(null).get('/openapi.json')).body;
    const webhook = doc.paths['/v1/integrations/stripe/webhook'].post;
    expect(webhook).toMatchObject({ operationId: 'receiveStripeWebhook', security: [], tags: ['stripe'] });
    expect(Object.keys(webhook.responses)).toEqual(expect.arrayContaining(['200', '4XX']));
    expect(doc.paths['/v1/integrations/stripe/unmatched'].get).toMatchObject({ operationId: 'listUnmatchedStripeEvents' });
    const customer = (await ctx.api.post('/v1/customers', { currency: 'USD' })).body;
    expect(customer).toMatchObject({ provider: null, provider_customer_id: null });
  });

  it('reconciliation checks that Stripe customers\' invoices were pushed and Stripe money links to invoices', async () => {
    const { api } = ctx;
    // Earlier tests leave invoices whose pushes were made to fail on purpose (the stand-in failing):
    // the window starts with this test, so only its own invoices and money are judged here.
    const from = encodeURIComponent(new Date().toISOString());
    await paidPurchase(api, '10', 100);
    const report = await waitFor('every finalized invoice of this test pushed', async () => {
      const body = (await api.get(`/v1/reconciliation?from=${from}`)).body;
      return body.discrepancies.some((d: any) => d.check === 'stripe_invoices_pushed') ? null : body;
    });
    const names = report.checks.map((c: any) => c.name);
    expect(names).toEqual(expect.arrayContaining(['stripe_invoices_pushed', 'stripe_money_linked']));
    const stripeProblems = report.discrepancies.filter((d: any) => d.check.startsWith('stripe_'));
    // Events for unknown invoices (kept at /unmatched by an earlier test) show as unlinked Stripe money.
    expect(stripeProblems.filter((d: any) => !(d.check === 'stripe_money_linked' && d.message.includes('Stripe event')))).toEqual([]);

    await worker!.stop();
    const customer = await newCustomer(api);
    const first = await purchase(api, customer.id, '10', 100);
    worker = startStripePushWorker(ctx.engine, settings);
    await pushed(api, first.invoice.id);
    await worker.stop();
    const waiting = await purchase(api, customer.id, '10', 100);
    const held = (await api.get('/v1/reconciliation')).body;
    expect(held.discrepancies).toContainEqual(expect.objectContaining({ check: 'stripe_invoices_pushed', ids: expect.arrayContaining([waiting.invoice.id]) }));
    const stranger = standIn.event('charge.refunded', { id: `ch_${unique('x')}`, object: 'charge', currency: 'usd', amount: 100, amount_refunded: 100, metadata: {} });
    expect((await deliver(api, stranger)).body).toMatchObject({ status: 'unmatched' });
    const cli = await tally(['stripe-status'], ctx.database.url);
    expect(cli.code, cli.stderr).toBe(1);
    expect(cli.stdout).toMatch(/Stripe events kept for review/);
    expect(cli.stdout).toContain(`stripe event unmatched ${stranger.id} charge.refunded`);
    worker = startStripePushWorker(ctx.engine, settings);
    await pushed(api, waiting.invoice.id);
    const after = (await api.get(`/v1/reconciliation?from=${from}`)).body;
    expect(after.discrepancies.filter((d: any) => d.check === 'stripe_invoices_pushed')).toEqual([]);
  });
});

/** Runs the `tally` CLI on a database URL; resolves with the exit code and the output. */
function tally(args: string[], url: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { env: { ...process.env, TALLY_DATABASE_URL: url }, timeout: 60_000 },
      (error, stdout, stderr) => resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr }));
  });
}
