import { minorToJson } from '../core/money.ts';
import { fail, invalid, notFound, ok, type Outcome } from '../core/errors.ts';
import { sumLines, type LineDraft } from '../core/plans.ts';
import type { CustomerRecord, InvoiceKind, InvoiceRecord, PaymentRecord } from '../store/records.ts';
import type { StoreTx } from '../store/store.ts';
import { Changes, customerNow, type Engine } from './context.ts';
import { invoiceExcessMinor } from '../core/customer-balance.ts';
import { applyBalance, isCollectible, isPayable, issueCreditNote, noteShares } from './credit-notes.ts';
import { recoverSubscription, takePayment } from './invoice-settlement.ts';
import { revokeInvoiceCredits } from './dunning.ts';
import { refreshSignalsNow } from './funding.ts';
import { giveOverageBack } from './subscription-credits.ts';

const dayMs = 24 * 60 * 60 * 1000;

export interface InvoiceDraft {
  customer: CustomerRecord;
  kind: InvoiceKind;
  subscriptionId?: string | null;
  planId?: string | null;
  periodStartMs?: number | null;
  periodEndMs?: number | null;
  lines: LineDraft[];
  metadata?: Record<string, string>;
  /** Whether the note for lines summing below zero may be paid out (default true). */
  excessRefundable?: boolean;
}

/**
 * Creates a finalized invoice: its lines never change afterwards (corrections go on a later
 * invoice that references the period). An invoice with nothing to collect is paid at once.
 */
export async function issueInvoice(engine: Engine, tx: StoreTx, changes: Changes, draft: InvoiceDraft, nowMs: number): Promise<InvoiceRecord> {
  const id = engine.ids.next('inv');
  const totalMinor = sumLines(draft.lines);
  const invoice: InvoiceRecord = {
    id,
    customerId: draft.customer.id,
    subscriptionId: draft.subscriptionId ?? null,
    planId: draft.planId ?? null,
    kind: draft.kind,
    periodStartMs: draft.periodStartMs ?? null,
    periodEndMs: draft.periodEndMs ?? null,
    currency: draft.customer.currency,
    status: totalMinor <= 0n ? 'paid' : 'open',
    totalMinor,
    amountPaidMinor: 0n,
    amountRefundedMinor: 0n,
    amountChargedBackMinor: 0n,
    provider: null,
    providerInvoiceId: null,
    finalizedAtMs: nowMs,
    paidAtMs: totalMinor <= 0n ? nowMs : null,
    voidedAtMs: null,
    metadata: draft.metadata ?? {},
    createdAtMs: nowMs,
    lines: draft.lines.map((line, seq) => ({
      id: engine.ids.next('lin'),
      invoiceId: id,
      customerId: draft.customer.id,
      seq,
      type: line.type,
      description: line.description,
      quantity: line.quantity,
      unitAmount: line.unitAmount,
      amountMinor: line.amountMinor,
      periodStartMs: line.periodStartMs,
      periodEndMs: line.periodEndMs,
      refs: line.refs,
    })),
    balanceAppliedMinor: 0n,
    creditNoteId: null,
    dueAtMs: nowMs + draft.customer.netDays * dayMs,
    pastDueAtMs: null,
    dunningStep: 0,
    nextAttemptAtMs: null,
    uncollectibleAtMs: null,
  };
  await tx.billing.insertInvoice(invoice);
  changes.event('invoice.finalized', invoice.customerId, { invoice: id, total: minorToJson(totalMinor), currency: invoice.currency, kind: invoice.kind }, nowMs);
  const excessMinor = invoiceExcessMinor(totalMinor);
  if (excessMinor > 0n) {
    // Money owed back is kept as the customer's balance, never lost: a credit note linked to the
    // line that gave the credit (a downgrade's or a cancellation's unused time).
    const creditLine = invoice.lines.find((l) => l.amountMinor < 0n) ?? null;
    const note = await issueCreditNote(engine, tx, changes, {
      customer: draft.customer, amountMinor: excessMinor, source: 'proration', refundable: draft.excessRefundable ?? true,
      reason: invoice.kind === 'final' ? 'unused time of a canceled subscription beyond its final charges' : 'proration credit beyond the new charge',
      invoiceId: invoice.id, invoiceLineId: creditLine?.id ?? null,
    }, nowMs);
    // It gives back the money of the invoices that paid the fee it credits (`noteShares`).
    const feeInvoiceId = creditLine?.type === 'proration_credit' ? creditLine.refs.fee_invoice : undefined;
    if (feeInvoiceId !== undefined) await tx.creditNotes.insertShares(note, await noteShares(tx, feeInvoiceId, excessMinor));
    invoice.creditNoteId = note.id;
    await tx.billing.updateInvoiceState(invoice);
  }
  if (invoice.status === 'paid') changes.event('invoice.paid', invoice.customerId, { invoice: id, total: minorToJson(totalMinor) }, nowMs);
  else if (await applyBalance(engine, tx, changes, draft.customer, invoice, nowMs) > 0n) await tx.billing.updateInvoiceState(invoice);
  return invoice;
}

export interface PaymentInput {
  amount: number;
  provider?: string | undefined;
  provider_payment_id?: string | undefined;
}

/**
 * Records money in, on an open invoice or one marked uncollectible. When the invoice is paid in
 * full, credits bought with it become active (and what being uncollectible revoked comes back).
 */
export async function recordPayment(engine: Engine, invoiceRef: string, input: PaymentInput): Promise<Outcome<{ invoice: InvoiceRecord; payment: PaymentRecord }>> {
  if (!Number.isSafeInteger(input.amount) || input.amount <= 0) {
    return invalid([{ field: 'amount', code: 'must_be_positive', message: 'amount must be a positive integer of minor units.' }]);
  }
  return engine.store.transaction(async (tx) => {
    // Its writes are the invoice's customer's rows, and a referral's reward's, which names its own.
    const found = await tx.billing.invoice(invoiceRef);
    if (found) tx.scopeWritesTo([found.customerId]);
    return recordPaymentIn(engine, tx, invoiceRef, input);
  });
}

/** The same, inside a transaction the caller holds (a payment that arrives from a provider's event). */
export async function recordPaymentIn(engine: Engine, tx: StoreTx, invoiceRef: string, input: PaymentInput): Promise<Outcome<{ invoice: InvoiceRecord; payment: PaymentRecord }>> {
  {
    const found = await tx.billing.invoice(invoiceRef);
    if (!found) return notFound('invoice', invoiceRef);
    // Paid in full, the invoice may reward its customer's referral, which locks the referrer.
    await tx.lockCustomers([found.customerId], { pendingReferrers: true });
    const invoice = (await tx.billing.invoice(found.id))!;
    if (!isPayable(invoice)) return fail('invoice_not_open', `The invoice is ${invoice.status}.`, { details: { status: invoice.status } });
    const amountMinor = BigInt(input.amount);
    const dueMinor = invoice.totalMinor - invoice.amountPaidMinor;
    if (amountMinor > dueMinor) {
      return fail('overpayment', `The invoice has ${dueMinor} minor units due.`, { fields: [{ field: 'amount', code: 'overpayment', message: 'more than the amount due' }], details: { due: minorToJson(dueMinor) } });
    }
    const customer = (await tx.customers.find(invoice.customerId))!;
    const nowMs = await customerNow(engine, tx, customer);
    const changes = new Changes(engine);
    const payment = await takePayment(engine, tx, changes, customer, invoice, {
      amountMinor, method: input.provider ?? 'manual', provider: input.provider ?? null, providerPaymentId: input.provider_payment_id ?? null,
    }, nowMs);
    await tx.billing.updateInvoiceState(invoice);
    await changes.flush(tx);
    return ok({ invoice, payment });
  }
}

/** Voids an open invoice with no payments; credits it would have bought are voided with it. */
export async function voidInvoice(engine: Engine, invoiceRef: string): Promise<Outcome<InvoiceRecord>> {
  return engine.store.transaction(async (tx) => {
    const found = await tx.billing.invoice(invoiceRef);
    if (!found) return notFound('invoice', invoiceRef);
    // Its writes are the invoice's customer's rows (the credits it bought, revoked).
    tx.scopeWritesTo([found.customerId]);
    await tx.lockCustomers([found.customerId]);
    const invoice = (await tx.billing.invoice(found.id))!;
    if (!isCollectible(invoice) || invoice.amountPaidMinor > invoice.balanceAppliedMinor) {
      return fail('invoice_not_voidable', 'Only an unpaid invoice without money payments can be voided; refund a paid one instead.');
    }
    // A change or cancellation since credited the unused time of its fee, against a new charge or
    // as balance: voided, the fee would be charged nothing, and that credit would stand for money
    // never charged (a credit note paid out in cash, or a new plan's time for free).
    const credits = invoice.subscriptionId !== null && invoice.periodStartMs !== null
      ? (await tx.billing.creditsOfFee(invoice.subscriptionId, invoice.periodStartMs, invoice.id)).filter((c) => c.invoiceStatus !== 'void' && c.amountMinor < 0n)
      : [];
    if (credits.length > 0) {
      return fail('invoice_not_voidable', `The unused time of this invoice's fee was credited by invoice ${credits[0]!.invoiceId} (a plan change or cancellation); voiding it would leave that credit for a fee never charged. Collect it, or give a goodwill credit note instead.`, {
        details: { credited_by: credits.map((c) => c.invoiceId) },
      });
    }
    const customer = (await tx.customers.find(invoice.customerId))!;
    const nowMs = await customerNow(engine, tx, customer);
    invoice.status = 'void';
    invoice.voidedAtMs = nowMs;
    await tx.billing.updateInvoiceState(invoice);
    const changes = new Changes(engine);
    if (invoice.balanceAppliedMinor > 0n) {
      // Balance applied to a voided invoice goes back to the customer as new notes, refundable as
      // far as refundable notes paid it: money that could be paid out before still can.
      const refundableMinor = await tx.creditNotes.refundableAppliedTo(invoice.id);
      for (const [amountMinor, refundable] of [[refundableMinor, true], [invoice.balanceAppliedMinor - refundableMinor, false]] as const) {
        if (amountMinor <= 0n) continue;
        await issueCreditNote(engine, tx, changes, {
          customer, amountMinor, source: 'invoice_void', refundable,
          reason: 'balance applied to an invoice that was voided', invoiceId: invoice.id,
        }, nowMs);
      }
    }
    // Credits it bought and already released (an allowance) are revoked with it: credits follow the money.
    await revokeInvoiceCredits(tx, changes, invoice, 'invoice voided', nowMs);
    giveOverageBack(changes, invoice, nowMs);
    if (invoice.subscriptionId && invoice.pastDueAtMs !== null) await recoverSubscription(tx, changes, invoice.subscriptionId, invoice.id, nowMs);
    if (invoice.metadata.auto_top_up === 'true') await tx.customers.setTopUpArmed(customer.id, true, nowMs);
    changes.event('invoice.voided', invoice.customerId, { invoice: invoice.id }, nowMs);
    // What it had released is revoked; re-armed, its auto top-up is checked at once as well.
    await refreshSignalsNow(tx, changes, customer, nowMs);
    await changes.flush(tx);
    return ok(invoice);
  });
}
