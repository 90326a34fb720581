import type Stripe from 'stripe';
import type { Engine } from '../../engine/context.ts';
import { idFloor } from '../../core/id-time.ts';
import { outboxSettleMs } from '../../engine/stripe-pushes.ts';

const cursorName = 'stripe_payment_retry';
const retryEventsPerPassMax = 100;
/**
 * Events this process already acted on while they wait to settle behind the cursor, so a pass
 * does not ask Stripe again (the idempotency key would make that harmless, but not free).
 */
const askedByEngine = new WeakMap<Engine, Set<string>>();

/**
 * Dunning retries through Stripe (PRODUCT §14): each `invoice.payment_retry` event of an invoice
 * pushed to Stripe asks Stripe to pay it (`invoices.pay`, with an idempotency key per invoice and
 * retry, so reading an event twice charges once). The outcome comes back as Stripe's
 * `invoice.paid` or `invoice.payment_failed` webhook, which records the payment attempt.
 */
export async function retryStripePayments(engine: Engine, stripe: Stripe): Promise<string[]> {
  const settled = idFloor('evt', engine.clock.now() - outboxSettleMs);
  const position = await engine.store.read.stripe.cursor(cursorName);
  const events = await engine.store.read.dunning.retryEventsAfter(position, retryEventsPerPassMax);
  const asked: string[] = [];
  const seen = askedByEngine.get(engine) ?? new Set<string>();
  askedByEngine.set(engine, seen);
  let safe = '';
  for (const event of events) {
    if (event.eventId < settled) safe = event.eventId;
    if (seen.has(event.eventId)) continue;
    seen.add(event.eventId);
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
  }
  // Transactions commit out of id order: the cursor only passes events old enough to be settled.
  if (safe !== '') {
    await engine.store.transaction((tx) => tx.stripe.advanceCursor(cursorName, safe));
    for (const id of seen) if (id <= safe) seen.delete(id);
  }
  return asked;
}
