import type Stripe from 'stripe';
import type { Engine } from '../../engine/context.ts';
import { passOverEvents } from './event-cursor.ts';

const retryEventsPerPassMax = 100;

/**
 * Dunning retries through Stripe (PRODUCT §14): each `invoice.payment_retry` event of an invoice
 * pushed to Stripe asks Stripe to pay it (`invoices.pay`, with an idempotency key per invoice and
 * retry, so reading an event twice charges once). The outcome comes back as Stripe's
 * `invoice.paid` or `invoice.payment_failed` webhook, which records the payment attempt.
 */
export async function retryStripePayments(engine: Engine, stripe: Stripe): Promise<string[]> {
  const asked: string[] = [];
  await passOverEvents(engine, 'stripe_payment_retry', (position) => engine.store.read.dunning.retryEventsAfter(position, retryEventsPerPassMax), async (event) => {
    const invoice = await engine.store.read.billing.invoice(event.invoiceId);
    if (invoice && invoice.status === 'open' && invoice.provider === 'stripe' && invoice.providerInvoiceId) {
      try {
        await stripe.invoices.pay(invoice.providerInvoiceId, {}, { idempotencyKey: `tally_retry_${invoice.id}_${event.retry}` });
        asked.push(invoice.id);
      } catch {
        // A declined payment answers with an error here and with `invoice.payment_failed` on the
        // webhook, which is what records the failed attempt.
      }
    }
    return 'done';
  });
  return asked;
}
