import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type Stripe from 'stripe';
import { dialects } from '../support/databases.ts';
import { useServer } from '../support/server.ts';
import { StripeStandIn } from '../support/stripe-stand-in.ts';
import { WebhookReceiver } from '../support/webhook-receiver.ts';
import { waitFor } from '../support/wait-for.ts';
import { balance, newCustomer } from '../http/fixtures.ts';
import { SecretBox } from '../../src/engine/secret-box.ts';
import { startStripePushWorker } from '../../src/integrations/stripe/push-worker.ts';
import { startWebhookWorker, type WebhookWorker } from '../../src/integrations/webhooks/delivery-worker.ts';
import type { StripeSettings } from '../../src/integrations/stripe/settings.ts';

/**
 * The whole loop of PRODUCT §11 in one flow: a credit purchase is pushed to Stripe, the buyer pays
 * it there, Stripe's signed `invoice.paid` comes in, the payment releases the pending paid grant,
 * and the product's own endpoint hears `invoice.paid` then `grant.created`, signed, in that order.
 */
describe.each(dialects)('from a Stripe payment to the product, on %s', (dialect) => {
  const webhookSecret = 'whsec_test_tally_loop';
  const box = new SecretBox('stripe-loop-secret-key');
  const settings: StripeSettings = {
    secretKey: 'sk_test_tally_stand_in', webhookSecret, apiBase: null, refundPolicy: 'proportional', retryDelaysMs: [50, 50, 50, 50], pollIntervalMs: 25,
  };
  const ctx = useServer(dialect, { stripe: settings, webhooks: { box, allowPrivate: true } });
  let standIn: StripeStandIn;
  let stripe: Stripe;
  let receiver: WebhookReceiver;
  let pushWorker: { stop(): Promise<void> } | null = null;
  let webhookWorker: WebhookWorker | null = null;

  beforeAll(async () => {
    standIn = await StripeStandIn.start();
    stripe = standIn.client();
    settings.apiBase = standIn.url;
    receiver = await WebhookReceiver.start();
    pushWorker = startStripePushWorker(ctx.engine, settings);
    webhookWorker = startWebhookWorker(ctx.engine, { box, allowPrivate: true, intervalMs: 50, timeoutMs: 10_000 });
  });
  afterAll(async () => {
    await webhookWorker?.stop();
    await pushWorker?.stop();
    await receiver?.close();
    await standIn?.close();
  });

  it('a buyer pays in Stripe: the payment is recorded, the grant becomes usable, the product hears invoice.paid then grant.created', async () => {
    const { api } = ctx;
    const endpoint = await api.post('/v1/webhook_endpoints', { url: receiver.url, event_types: ['invoice.paid', 'grant.created'] });
    expect(endpoint.status, JSON.stringify(endpoint.body)).toBe(201);
    receiver.secrets = [endpoint.body.secret];

    const customer = await newCustomer(api);
    const bought = await api.post(`/v1/customers/${customer.id}/purchases`, { credits: '1000', amount: 10_000 });
    expect(bought.status, JSON.stringify(bought.body)).toBe(201);
    const { invoice, grant } = bought.body;
    expect((await balance(api, customer.id)).available).toBe('0');

    const local = await waitFor(`invoice ${invoice.id} pushed`, async () => {
      const shown = (await api.get(`/v1/invoices/${invoice.id}`)).body;
      return shown.provider_invoice_id ? shown : null;
    });
    const paid = await stripe.invoices.pay(local.provider_invoice_id);
    const { body, signature } = StripeStandIn.sign(standIn.event('invoice.paid', paid as never), webhookSecret);
    const delivered = await api.as(null).request('POST', '/v1/integrations/stripe/webhook', body, { 'stripe-signature': signature });
    expect(delivered.status, JSON.stringify(delivered.body)).toBe(200);

    const afterPayment = (await api.get(`/v1/invoices/${invoice.id}`)).body;
    expect(afterPayment).toMatchObject({ status: 'paid', amount_paid: 10_000 });
    expect((await balance(api, customer.id)).available).toBe('1000');

    const mine = () => receiver.received.filter((m) => (m.json.data?.customer ?? null) === customer.id);
    await receiver.waitFor(() => mine().length >= 2, 15_000, 'invoice.paid and grant.created');
    const messages = mine();
    expect(messages.map((m) => m.json.type)).toEqual(['invoice.paid', 'grant.created']);
    expect(messages[0]!.json.data).toMatchObject({ id: invoice.id, status: 'paid' });
    expect(messages[1]!.json.data).toMatchObject({ id: grant.id, category: 'paid' });
    for (const m of messages) {
      expect(m.verifiedByLibrary).toBe(true);
      expect(m.verifiedByHmac).toBe(true);
    }
    expect(messages[0]!.id).not.toBe(messages[1]!.id);
  });
});
