import type { CreditPolicy } from '../core/claw-back.ts';
import { minorToJson } from '../core/money.ts';
import { fail, notFound, ok, type DomainError, type Outcome } from '../core/errors.ts';
import { formatTimestamp } from '../core/time.ts';
import type { InvoiceRecord, ShortfallHandling } from '../store/records.ts';
import type { StripeEventRecord } from '../store/queries/stripe.ts';
import type { StoreTx } from '../store/store.ts';
import { Changes, customerNow, type Engine } from './context.ts';
import { recordPaymentIn } from './invoices.ts';
import { isCollectible, isPayable } from './credit-notes.ts';
import { recordPaymentAttemptIn } from './dunning.ts';
import { closeChargebackIn, createReturnIn } from './refunds.ts';

/**
 * What a verified Stripe event asks of Tally, already read out of Stripe's object (see
 * src/integrations/stripe/inbound.ts): the engine never sees Stripe's shapes beyond these fields.
 * `paymentRefs` are the payment intent and charge ids a payment was recorded under.
 */
export type StripeAction =
  | { kind: 'invoice_paid'; stripeInvoiceId: string; tallyInvoiceId: string | null; amountPaid: number; currency: string; paymentRef: string }
  | { kind: 'invoice_payment_failed'; stripeInvoiceId: string; tallyInvoiceId: string | null; amountDue: number; attemptCount: number; currency: string }
  | {
    kind: 'charge_refunded'; chargeId: string; paymentRefs: string[]; stripeInvoiceId: string | null; tallyInvoiceId: string | null;
    amount: number; amountRefunded: number; currency: string; paid: boolean;
  }
  | {
    kind: 'dispute'; disputeId: string; paymentRefs: string[]; tallyInvoiceId: string | null; amount: number; currency: string;
    reason: string; outcome: 'won' | 'lost' | null;
  }
  | { kind: 'ignored' };

export interface StripeEventInput {
  id: string;
  type: string;
  objectId: string | null;
  payload: Record<string, unknown>;
  action: StripeAction;
}

export interface StripeEventResult {
  /** True when this event id was received before: nothing was done again. */
  duplicate: boolean;
  status: StripeEventRecord['status'];
  invoice: string | null;
  outcome: Record<string, unknown>;
}

export interface StripeInboundPolicy {
  creditPolicy: CreditPolicy;
  shortfall: ShortfallHandling;
}

type Applied = { status: 'processed' | 'rejected'; outcome: Record<string, unknown> };

/**
 * Applies one Stripe event through the same flows as Tally's own endpoints (payment §6, refund
 * and chargeback §8), in ONE transaction with the record of the event: the event id is the key,
 * so a repeat (or two servers receiving it at once) applies nothing twice. Each flow also reads
 * the state it would change, so events arriving out of order still end right: a refund is the
 * newly refunded part of Stripe's cumulative `amount_refunded`, and a dispute closed before its
 * `created` event opens the chargeback and closes it at once.
 */
export function applyStripeEvent(engine: Engine, input: StripeEventInput, policy: StripeInboundPolicy): Promise<StripeEventResult> {
  return engine.store.transaction(async (tx) => {
    const fresh = await tx.stripe.insertEvent({
      id: input.id, type: input.type, status: 'processed', objectId: input.objectId, invoiceId: null, outcome: {}, payload: input.payload,
      receivedAtMs: engine.clock.now(),
    });
    if (!fresh) {
      const prior = (await tx.stripe.event(input.id))!;
      return { duplicate: true, status: prior.status, invoice: prior.invoiceId, outcome: prior.outcome };
    }
    const settle = async (status: StripeEventRecord['status'], invoice: string | null, outcome: Record<string, unknown>) => {
      await tx.stripe.settleEvent(input.id, status, invoice, outcome);
      return { duplicate: false, status, invoice, outcome };
    };
    const action = input.action;
    if (action.kind === 'ignored') return settle('ignored', null, {});
    const found = await matchInvoice(tx, action);
    if (!found) return settle('unmatched', null, { reason: 'No Tally invoice matches this event.' });
    // A payment may reward the customer's referral, a refund or lost dispute claw it back: both lock the referrer.
    await tx.lockCustomers([found.customerId], { pendingReferrers: true, referrerRewardedBy: found.id });
    // Every action writes the invoice's customer's rows (and a referral's, which names its own);
    // the event's own record is outside the write order.
    tx.scopeWritesTo([found.customerId]);
    const invoice = (await tx.billing.invoice(found.id))!;
    if (invoice.currency.toLowerCase() !== action.currency.toLowerCase()) {
      return settle('rejected', invoice.id, { error: { code: 'currency_mismatch', message: `Stripe sent ${action.currency}; the invoice is in ${invoice.currency}.` } });
    }
    const applied = await apply(engine, tx, action, invoice, policy);
    return settle(applied.status, invoice.id, applied.outcome);
  });
}

async function matchInvoice(tx: StoreTx, action: Exclude<StripeAction, { kind: 'ignored' }>): Promise<InvoiceRecord | null> {
  const byRef = async (ref: string | null) => (ref ? tx.billing.invoice(ref) : null);
  if (action.kind === 'invoice_paid' || action.kind === 'invoice_payment_failed') {
    return (await byRef(action.stripeInvoiceId)) ?? (await byRef(action.tallyInvoiceId));
  }
  if (action.kind === 'charge_refunded') {
    const direct = (await byRef(action.stripeInvoiceId)) ?? (await byRef(action.tallyInvoiceId));
    if (direct) return direct;
  }
  if (action.kind === 'dispute') {
    const direct = await byRef(action.tallyInvoiceId);
    if (direct) return direct;
    const earlier = await tx.stripe.chargebackForDispute(action.disputeId);
    if (earlier) return tx.billing.invoice(earlier.invoiceId);
  }
  return byRef(await tx.stripe.invoiceForPayment(action.paymentRefs));
}

async function apply(engine: Engine, tx: StoreTx, action: Exclude<StripeAction, { kind: 'ignored' }>, invoice: InvoiceRecord, policy: StripeInboundPolicy): Promise<Applied> {
  switch (action.kind) {
    case 'invoice_paid': {
      if (invoice.providerInvoiceId === null) await tx.stripe.linkInvoice(invoice.id, action.stripeInvoiceId);
      if (invoice.status === 'void' && action.amountPaid > 0) {
        // Stripe collected it before the void reached it: nothing here to pay, so kept for review.
        return rejected({ code: 'invoice_void', message: `Stripe collected ${action.amountPaid} on invoice ${invoice.id}, which is void in Tally: refund it in Stripe.` });
      }
      return payUpTo(engine, tx, invoice, action.amountPaid, action.paymentRef);
    }
    case 'invoice_payment_failed': {
      const details = { provider: 'stripe', provider_invoice_id: action.stripeInvoiceId, attempt_count: action.attemptCount };
      if (isCollectible(invoice)) {
        // The dunning flow: past due, retries scheduled, credits frozen after the grace period.
        const { attempt } = await recordPaymentAttemptIn(engine, tx, invoice, {
          outcome: 'failed', failure_code: 'stripe_payment_failed', provider: 'stripe', details,
        }, 0n, 'provider');
        return { status: 'processed', outcome: { payment_attempt: attempt.id } };
      }
      const customer = (await tx.customers.find(invoice.customerId))!;
      const changes = new Changes(engine);
      const event = changes.event('invoice.payment_failed', invoice.customerId, {
        invoice: invoice.id, provider: 'stripe', provider_invoice_id: action.stripeInvoiceId, amount_due: action.amountDue,
        attempt_count: action.attemptCount,
      }, await customerNow(engine, tx, customer));
      await changes.flush(tx);
      return { status: 'processed', outcome: { domain_event: event.id } };
    }
    case 'charge_refunded': {
      const paid = action.paid ? await payUpTo(engine, tx, invoice, action.amount, action.paymentRefs[0] ?? action.chargeId) : null;
      if (paid?.status === 'rejected') return paid;
      const newlyMinor = BigInt(action.amountRefunded) - (await tx.stripe.refundedForCharge(action.chargeId));
      if (newlyMinor <= 0n) return { status: 'processed', outcome: { ...paid?.outcome, refund: null, note: 'Nothing newly refunded.' } };
      const refund = await createReturnIn(engine, tx, 'refund', {
        invoice: invoice.id, amount: minorToJson(newlyMinor), reason: 'Refunded in Stripe', credit_policy: policy.creditPolicy,
        provider: 'stripe', provider_ref: action.chargeId,
      }, policy.shortfall);
      if (!refund.ok) return rejected(refund.error);
      return { status: 'processed', outcome: { ...paid?.outcome, refund: refund.value.id } };
    }
    case 'dispute':
      return applyDispute(engine, tx, action, invoice, policy);
  }
}

/** A dispute opens a chargeback once; a closing outcome (even one that arrives first) closes it. */
async function applyDispute(engine: Engine, tx: StoreTx, action: Extract<StripeAction, { kind: 'dispute' }>, invoice: InvoiceRecord, policy: StripeInboundPolicy): Promise<Applied> {
  const outcome: Record<string, unknown> = {};
  let chargeback = await tx.stripe.chargebackForDispute(action.disputeId);
  if (!chargeback) {
    const paid = await payUpTo(engine, tx, invoice, action.amount, action.paymentRefs[0] ?? action.disputeId);
    if (paid.status === 'rejected') return paid;
    Object.assign(outcome, paid.outcome);
    const created = await createReturnIn(engine, tx, 'chargeback', {
      invoice: invoice.id, amount: action.amount, reason: `Stripe dispute: ${action.reason}`.slice(0, 500), credit_policy: policy.creditPolicy,
      provider: 'stripe', provider_ref: action.disputeId,
    }, policy.shortfall);
    if (!created.ok) return rejected(created.error);
    chargeback = created.value;
    outcome.chargeback_created = chargeback.id;
  }
  outcome.chargeback = chargeback.id;
  if (action.outcome !== null && chargeback.status === 'open') {
    const closed = await closeChargebackIn(engine, tx, chargeback.id, action.outcome);
    if (!closed.ok) return rejected(closed.error);
    outcome.closed = action.outcome;
  }
  return { status: 'processed', outcome };
}

/**
 * Records what Stripe collected, up to what is still due: a refund or dispute that arrives before
 * `invoice.paid` first records the payment it implies, and a later `invoice.paid` finds nothing due.
 */
async function payUpTo(engine: Engine, tx: StoreTx, invoice: InvoiceRecord, amount: number, paymentRef: string): Promise<Applied> {
  // Stripe may still collect an invoice Tally marked uncollectible: that money pays it.
  if (!isPayable(invoice)) return { status: 'processed', outcome: { payment: null } };
  const dueMinor = invoice.totalMinor - invoice.amountPaidMinor;
  const payMinor = BigInt(amount) < dueMinor ? BigInt(amount) : dueMinor;
  if (payMinor <= 0n) return { status: 'processed', outcome: { payment: null } };
  const paid = await recordPaymentIn(engine, tx, invoice.id, { amount: minorToJson(payMinor), provider: 'stripe', provider_payment_id: paymentRef });
  if (!paid.ok) return rejected(paid.error);
  Object.assign(invoice, paid.value.invoice);
  return { status: 'processed', outcome: { payment: paid.value.payment.id } };
}

function rejected(error: DomainError): Applied {
  return { status: 'rejected', outcome: { error: { code: error.code, message: error.message } } };
}

/**
 * Settles a Stripe event kept for review (unmatched, or refused by its flow): an operator dealt
 * with it outside Tally, say by refunding in Stripe money collected on an invoice Tally voided.
 * The event keeps what it was, gains `outcome.resolution` (the note, when, and its status before),
 * leaves the review list and the reconciliation's `stripe_money_linked`, and records
 * `stripe_event.resolved`. Nothing else changes: no money or credits move.
 */
export async function resolveStripeEvent(engine: Engine, id: string, input: { note: string }): Promise<Outcome<StripeEventRecord>> {
  return engine.store.transaction(async (tx) => {
    const event = await tx.stripe.event(id);
    if (!event) return notFound('stripe_event', id);
    if (event.status !== 'unmatched' && event.status !== 'rejected') {
      return fail('stripe_event_not_in_review', `The Stripe event is ${event.status}: only an unmatched or rejected event is kept for review.`, { details: { status: event.status } });
    }
    const nowMs = engine.clock.now();
    const outcome = { ...event.outcome, resolution: { note: input.note, resolved_at: formatTimestamp(nowMs), was: event.status } };
    await tx.stripe.settleEvent(id, 'resolved', event.invoiceId, outcome);
    const customerId = event.invoiceId ? ((await tx.billing.invoice(event.invoiceId))?.customerId ?? null) : null;
    const changes = new Changes(engine);
    changes.event('stripe_event.resolved', customerId, { stripe_event: id, type: event.type, invoice: event.invoiceId, note: input.note }, nowMs);
    await changes.flush(tx);
    return ok({ ...event, status: 'resolved' as const, outcome });
  });
}
