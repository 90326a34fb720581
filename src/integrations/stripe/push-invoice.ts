import type Stripe from 'stripe';
import { invoiceExcessMinor } from '../../core/customer-balance.ts';
import { minorToJson } from '../../core/money.ts';
import type { Engine } from '../../engine/context.ts';
import { linkStripeCustomer, noteStripeInvoice, pushSubject, recordStripePush } from '../../engine/stripe-pushes.ts';
import type { StripePushRecord } from '../../store/queries/stripe.ts';
import { voidInStripe } from './void-invoices.ts';

/**
 * Idempotency keys derived from Tally ids: a retry, or a second attempt after a crash between
 * Stripe's reply and our record, sends the same key and gets Stripe's first answer back instead
 * of a second object.
 */
export const stripeKeys = {
  customer: (customerId: string) => `tally:customer:${customerId}`,
  invoice: (invoiceId: string) => `tally:invoice:${invoiceId}`,
  line: (lineId: string) => `tally:line:${lineId}`,
  balanceApplied: (invoiceId: string) => `tally:balance_applied:${invoiceId}`,
  creditNote: (invoiceId: string) => `tally:credit_note:${invoiceId}`,
  finalize: (invoiceId: string) => `tally:finalize:${invoiceId}`,
};

/**
 * Pushes one finalized Tally invoice: the customer's Stripe customer (made on first need), a draft
 * Stripe invoice that takes no other pending items, one invoice item per line with the exact
 * amount and currency (negative proration credits included), the customer balance it used, then
 * finalization, so the Stripe invoice asks for exactly Tally's amount due. Every object
 * carries `metadata.tally_customer_id` (and `tally_invoice_id` where it belongs to an invoice).
 */
export async function pushInvoice(engine: Engine, stripe: Stripe, job: StripePushRecord): Promise<string> {
  const subject = await pushSubject(engine, job.invoiceId);
  if (!subject) throw new Error(`invoice ${job.invoiceId} not found`);
  const { invoice, customer } = subject;
  if (invoice.providerInvoiceId) return invoice.providerInvoiceId;
  const currency = invoice.currency.toLowerCase();
  const metadata = { tally_customer_id: customer.id, tally_invoice_id: invoice.id };

  let stripeCustomerId = customer.providerCustomerId ?? null;
  if (!stripeCustomerId) {
    const created = await stripe.customers.create({
      ...(customer.name ? { name: customer.name } : {}),
      ...(customer.email ? { email: customer.email } : {}),
      metadata: { tally_customer_id: customer.id, ...(customer.externalId ? { tally_external_id: customer.externalId } : {}) },
    }, { idempotencyKey: stripeKeys.customer(customer.id) });
    stripeCustomerId = await linkStripeCustomer(engine, customer.id, created.id);
  }

  let stripeInvoiceId = job.stripeInvoiceId;
  if (!stripeInvoiceId) {
    const draft = await stripe.invoices.create({
      customer: stripeCustomerId,
      currency,
      auto_advance: false,
      collection_method: 'charge_automatically',
      pending_invoice_items_behavior: 'exclude',
      description: `Tally invoice ${invoice.id}`,
      metadata,
    }, { idempotencyKey: stripeKeys.invoice(invoice.id) });
    stripeInvoiceId = draft.id;
    await noteStripeInvoice(engine, invoice.id, stripeInvoiceId);
  }

  const item = (amountMinor: bigint, description: string, extra: Record<string, string>, key: string, period?: { start: number; end: number }) =>
    stripe.invoiceItems.create({
      customer: stripeCustomerId, invoice: stripeInvoiceId, amount: minorToJson(amountMinor), currency, description,
      ...(period ? { period } : {}), metadata: { ...metadata, ...extra },
    }, { idempotencyKey: key });
  for (const line of invoice.lines) {
    await item(line.amountMinor, line.description, { tally_line_id: line.id, tally_line_type: line.type }, stripeKeys.line(line.id),
      { start: Math.floor(line.periodStartMs / 1000), end: Math.floor(line.periodEndMs / 1000) });
  }
  // Stripe must ask for what Tally asks for. The customer's Tally balance (credit notes) applied to
  // this invoice is a negative item; a total below zero is already kept as a Tally credit note, so
  // an item brings the Stripe total back to zero instead of crediting Stripe's own balance twice.
  if (invoice.balanceAppliedMinor > 0n) {
    await item(-invoice.balanceAppliedMinor, 'Customer balance applied (Tally credit notes)', { tally_adjustment: 'balance_applied' }, stripeKeys.balanceApplied(invoice.id));
  }
  const excessMinor = invoiceExcessMinor(invoice.totalMinor);
  if (excessMinor > 0n) {
    await item(excessMinor, `Kept as customer balance (Tally credit note ${invoice.creditNoteId ?? ''})`.trim(),
      { tally_adjustment: 'credit_note', ...(invoice.creditNoteId ? { tally_credit_note_id: invoice.creditNoteId } : {}) }, stripeKeys.creditNote(invoice.id));
  }

  await finalize(stripe, stripeInvoiceId, invoice.id);
  await recordStripePush(engine, invoice.id, stripeInvoiceId);
  // Voided in Tally before it reached Stripe: the void pass (void-invoices.ts) passed it while it
  // had no Stripe id, so it is voided here, read again after its Stripe id was recorded.
  if ((await engine.store.read.billing.invoice(invoice.id))?.status === 'void') await voidInStripe(stripe, invoice.id, stripeInvoiceId);
  return stripeInvoiceId;
}

/** Finalizes with Stripe collecting from then on; an invoice already finalized there counts as done. */
async function finalize(stripe: Stripe, stripeInvoiceId: string, invoiceId: string): Promise<void> {
  try {
    await stripe.invoices.finalizeInvoice(stripeInvoiceId, { auto_advance: true }, { idempotencyKey: stripeKeys.finalize(invoiceId) });
  } catch (error) {
    const current = await stripe.invoices.retrieve(stripeInvoiceId);
    if (current.status === 'draft') throw error;
  }
}
