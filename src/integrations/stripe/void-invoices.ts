import type Stripe from 'stripe';
import type { Engine } from '../../engine/context.ts';
import { passOverEvents } from './event-cursor.ts';

const voidEventsPerPassMax = 100;

/** The idempotency key of a Tally invoice's void in Stripe. */
export const voidKey = (invoiceId: string) => `tally:void:${invoiceId}`;

/**
 * Voids in Stripe what was voided in Tally, so that Stripe stops collecting it. Stripe voids only a
 * finalized invoice that is open or uncollectible: one it has paid meanwhile answers with an
 * error, and its `invoice.paid` webhook then lands on the void Tally invoice, which keeps the
 * event for review (`/v1/integrations/stripe/unmatched`) and names it in the reconciliation.
 * Returns whether Stripe voided it.
 */
export async function voidInStripe(stripe: Stripe, invoiceId: string, stripeInvoiceId: string): Promise<boolean> {
  try {
    await stripe.invoices.voidInvoice(stripeInvoiceId, {}, { idempotencyKey: voidKey(invoiceId) });
    return true;
  } catch (error) {
    // A 4xx is Stripe's answer about the invoice's state (paid, void already); anything else is retried by the caller.
    const status = (error as { statusCode?: number }).statusCode;
    if (status !== undefined && status >= 400 && status < 500) return false;
    throw error;
  }
}

/**
 * One pass over `invoice.voided` events after the cursor: each invoice already in Stripe is voided
 * there (an invoice voided before its push is voided by the push itself, `pushInvoice`). An event
 * whose void failed for a reason worth retrying (Stripe unreachable) waits, with the ones after
 * it, for the next pass. Returns the Tally invoices voided in Stripe.
 */
export async function voidStripeInvoices(engine: Engine, stripe: Stripe): Promise<string[]> {
  const voided: string[] = [];
  await passOverEvents(engine, 'stripe_invoice_void', (position) => engine.store.read.stripe.voidedInvoiceEventsAfter(position, voidEventsPerPassMax), async (event) => {
    const invoice = await engine.store.read.billing.invoice(event.invoiceId);
    if (!invoice || invoice.provider !== 'stripe' || !invoice.providerInvoiceId) return 'done';
    try {
      if (await voidInStripe(stripe, invoice.id, invoice.providerInvoiceId)) voided.push(invoice.id);
      return 'done';
    } catch {
      return 'stop';
    }
  });
  return voided;
}
