import type Stripe from 'stripe';
import type { Engine } from '../../engine/context.ts';
import { idFloor } from '../../core/id-time.ts';
import { outboxSettleMs } from '../../engine/stripe-pushes.ts';

const cursorName = 'stripe_invoice_void';
const voidEventsPerPassMax = 100;
/** Events this process already acted on while they wait to settle behind the cursor. */
const voidedByEngine = new WeakMap<Engine, Set<string>>();

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
 * there (an invoice voided before its push is voided by the push itself, `pushInvoice`). The
 * cursor passes only events old enough to have settled and whose void did not fail for a reason
 * worth retrying. Returns the Tally invoices voided in Stripe.
 */
export async function voidStripeInvoices(engine: Engine, stripe: Stripe): Promise<string[]> {
  const settled = idFloor('evt', engine.clock.now() - outboxSettleMs);
  const position = await engine.store.read.stripe.cursor(cursorName);
  const events = await engine.store.read.stripe.voidedInvoiceEventsAfter(position, voidEventsPerPassMax);
  const voided: string[] = [];
  const seen = voidedByEngine.get(engine) ?? new Set<string>();
  voidedByEngine.set(engine, seen);
  let safe = '';
  for (const event of events) {
    if (!seen.has(event.eventId)) {
      const invoice = await engine.store.read.billing.invoice(event.invoiceId);
      if (invoice && invoice.provider === 'stripe' && invoice.providerInvoiceId) {
        try {
          if (await voidInStripe(stripe, invoice.id, invoice.providerInvoiceId)) voided.push(invoice.id);
        } catch {
          // Stripe unreachable or failing: this event and the ones after it wait for the next pass.
          break;
        }
      }
      seen.add(event.eventId);
    }
    if (event.eventId < settled) safe = event.eventId;
  }
  // Transactions commit out of id order: the cursor only passes events old enough to be settled.
  if (safe !== '') {
    await engine.store.transaction((tx) => tx.stripe.advanceCursor(cursorName, safe));
    for (const id of seen) if (id <= safe) seen.delete(id);
  }
  return voided;
}
