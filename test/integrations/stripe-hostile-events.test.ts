import fc from 'fast-check';
import Stripe from 'stripe';
import { describe, expect, it } from 'vitest';
import { dialects } from '../support/databases.ts';
import { useServer } from '../support/server.ts';
import { StripeStandIn } from '../support/stripe-stand-in.ts';
import { expectLedgerConsistent, newCustomer } from '../http/fixtures.ts';
import type { StripeSettings } from '../../src/integrations/stripe/settings.ts';

/**
 * Stripe's webhook under signed events of any shape (PRODUCT §11, §16): a body that carries a valid
 * signature is still input. Whatever its objects hold (ids that are objects, numbers or carry NUL,
 * amounts negative, fractional or huge, `payments` and `metadata` of the wrong type, a
 * `tally_invoice_id` naming a real invoice of another currency or amount), the answer is below 500
 * in the API's error shape, and the ledger stays balanced.
 */
const webhookSecret = 'whsec_test_tally_hostile';
const runs = Number(process.env.TALLY_FUZZ_RUNS ?? 700) / 4;

describe.each(dialects)('signed Stripe events of any shape on %s', (dialect) => {
  const settings: StripeSettings = {
    secretKey: 'sk_test_tally_stand_in', webhookSecret, apiBase: 'http://127.0.0.1:9', refundPolicy: 'proportional', retryDelaysMs: [50], pollIntervalMs: 25,
  };
  const ctx = useServer(dialect, { stripe: settings });

  it('are answered below 500, refusals in the error shape, the ledger balanced after', async () => {
    const { api } = ctx;
    // Real invoices for events to name: open purchases of two currencies.
    const invoices: string[] = [];
    const payments: string[] = [];
    for (const currency of ['USD', 'EUR']) {
      const customer = (await api.post('/v1/customers', { currency })).body.id as string;
      for (let i = 0; i < 3; i++) {
        const bought = await api.post(`/v1/customers/${customer}/purchases`, { credits: '100', amount: 1000 });
        expect(bought.status, JSON.stringify(bought.body)).toBe(201);
        invoices.push(bought.body.invoice.id);
      }
    }
    // One paid, so refunds and disputes have a payment to find.
    const paidCustomer = await newCustomer(api, { clock: null });
    const paid = await api.post(`/v1/customers/${paidCustomer.id}/purchases`, { credits: '100', amount: 1000 });
    const payment = await api.post(`/v1/invoices/${paid.body.invoice.id}/payments`, { amount: 1000, provider: 'stripe', provider_payment_id: 'pi_hostile_paid' });
    expect(payment.status, JSON.stringify(payment.body)).toBeLessThan(300);
    invoices.push(paid.body.invoice.id);
    payments.push('pi_hostile_paid');

    const text = fc.oneof(
      fc.constantFrom('', ' ', '\u0000', 'in_\u0000x', 'x'.repeat(300), '💥', 'usd', 'USD', 'eur', 'lost', 'won', 'warning_closed', 'fraudulent', ...invoices, ...payments),
      fc.string({ maxLength: 12 }),
    );
    const amount = fc.oneof(fc.constantFrom(-1, 0, 1, 500, 1000, 1001, 1.5, 2 ** 53, 1e21, Number.MAX_SAFE_INTEGER, -0), fc.integer({ min: -10, max: 5000 }));
    const anything: fc.Arbitrary<unknown> = fc.oneof(
      { depthSize: 'small' }, text, amount, fc.constant(null), fc.boolean(), fc.constant([]), fc.constant({}),
      fc.constant({ data: 5 }), fc.constant({ data: [null] }), fc.constant({ data: [{ payment: null }] }), fc.constant({ data: [{ payment: { payment_intent: { id: 7 } } }] }),
      fc.record({ id: text }), fc.array(text, { maxLength: 3 }),
    );
    const metadata = fc.oneof(fc.constant(null), fc.constant('x'), fc.record({ tally_invoice_id: fc.oneof(text, anything) }), fc.dictionary(fc.string({ maxLength: 5 }), text, { maxKeys: 3 }));
    const object = fc.record({
      id: fc.oneof(text, anything), object: fc.constantFrom('invoice', 'charge', 'dispute'), metadata, currency: fc.oneof(text, anything),
      amount_paid: amount, amount_due: amount, attempt_count: amount, amount, amount_refunded: amount, paid: fc.oneof(fc.boolean(), anything),
      payments: anything, payment_intent: fc.oneof(text, anything), charge: fc.oneof(text, anything), invoice: fc.oneof(text, anything),
      status: fc.oneof(text, anything), reason: fc.oneof(text, anything),
    }, { requiredKeys: ['id'] });
    const type = fc.constantFrom('invoice.paid', 'invoice.payment_failed', 'charge.refunded', 'charge.dispute.created', 'charge.dispute.closed', 'customer.updated', '', '\u0000');
    const eventId = fc.oneof(fc.uuid().map((u) => `evt_${u}`), fc.constantFrom('evt_\u0000', 'x'.repeat(255), 'x'.repeat(256), '💥', ''), fc.integer());

    await fc.assert(fc.asyncProperty(eventId, type, object, async (id, kind, body) => {
      const event = { id, object: 'event', api_version: '2025-01-27', created: Math.floor(Date.now() / 1000), type: kind, livemode: false, data: { object: body } };
      const { body: raw, signature } = StripeStandIn.sign(event, webhookSecret);
      const response = await api.as(null).request('POST', '/v1/integrations/stripe/webhook', raw, { 'stripe-signature': signature });
      const shown = `${raw.slice(0, 600)} → ${response.status} ${JSON.stringify(response.body)?.slice(0, 300)}`;
      expect(response.status, shown).toBeLessThan(500);
      if (response.status >= 400) expect(response.body?.error, shown).toMatchObject({ code: expect.any(String), message: expect.any(String) });
    }), { numRuns: runs });
    // Nested deeper than any Stripe object (a signed body up to 1 MiB can nest a few hundred thousand levels).
    for (const nul of ['', '\\u0000']) {
      const deep = `${'['.repeat(100_000)}"x${nul}"${']'.repeat(100_000)}`;
      const raw = `{"id":"evt_deep${nul}","object":"event","type":"invoice.paid","data":{"object":{"id":"in_deep","metadata":{"deep":${deep}}}}}`;
      const signature = Stripe.webhooks.generateTestHeaderString({ payload: raw, secret: webhookSecret, timestamp: Math.floor(Date.now() / 1000) });
      const response = await api.as(null).request('POST', '/v1/integrations/stripe/webhook', raw, { 'stripe-signature': signature });
      expect([response.status, response.body?.error?.code]).toEqual([400, 'stripe_event_invalid']);
    }
    expect((await api.get('/v1/integrations/stripe/unmatched')).status).toBe(200);
    await expectLedgerConsistent(api);
  }, 240_000);
});
