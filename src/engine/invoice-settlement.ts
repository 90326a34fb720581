import { minorToJson } from '../core/money.ts';
import type { CustomerRecord, InvoiceRecord, PaymentRecord } from '../store/records.ts';
import type { StoreTx } from '../store/store.ts';
import type { Changes, Engine } from './context.ts';
import { activateGrant } from './grants.ts';
import { formatCredits } from '../core/decimal.ts';
import { rewardReferral } from './referrals.ts';

/**
 * Money coming in on an invoice, whatever pays it (a recorded payment, the customer's balance, a
 * provider): the payment record, and once the invoice is paid in full its consequences, which are
 * the same for every way of paying: credits bought with it become active, a top-up re-arms, and
 * the first paid invoice of a referred customer rewards its referral (src/engine/referrals.ts).
 * The caller writes the invoice state afterwards.
 */
export async function takePayment(
  engine: Engine, tx: StoreTx, changes: Changes, customer: CustomerRecord, invoice: InvoiceRecord,
  payment: { amountMinor: bigint; method: string; provider?: string | null; providerPaymentId?: string | null }, nowMs: number,
): Promise<PaymentRecord> {
  const record: PaymentRecord = {
    id: engine.ids.next('pay'),
    invoiceId: invoice.id,
    customerId: invoice.customerId,
    amountMinor: payment.amountMinor,
    currency: invoice.currency,
    provider: payment.provider ?? null,
    providerPaymentId: payment.providerPaymentId ?? null,
    method: payment.method,
    createdAtMs: nowMs,
  };
  await tx.billing.insertPayment(record);
  invoice.amountPaidMinor += payment.amountMinor;
  changes.event('payment.recorded', invoice.customerId, { invoice: invoice.id, payment: record.id, amount: minorToJson(payment.amountMinor), method: payment.method }, nowMs);
  if (invoice.amountPaidMinor === invoice.totalMinor) await settleInvoice(engine, tx, changes, customer, invoice, nowMs);
  return record;
}

/** An invoice paid in full: paid status, and the credits it bought become active. */
export async function settleInvoice(engine: Engine, tx: StoreTx, changes: Changes, customer: CustomerRecord, invoice: InvoiceRecord, nowMs: number): Promise<void> {
  invoice.status = 'paid';
  invoice.paidAtMs = nowMs;
  changes.event('invoice.paid', invoice.customerId, { invoice: invoice.id, total: minorToJson(invoice.totalMinor) }, nowMs);
  for (const grant of await tx.grants.forInvoice(invoice.id)) {
    if (grant.status === 'pending') await activateGrant(engine, tx, changes, customer, grant, nowMs);
  }
  if (invoice.metadata.auto_top_up === 'true') await tx.customers.setTopUpArmed(customer.id, true, nowMs);
  await rewardReferral(engine, tx, changes, invoice, nowMs);
  await recoverPaidInvoice(tx, changes, invoice, nowMs);
}

/** Paid in full: unfreeze what it bought, stop dunning, and the subscription recovers if nothing else is past due. */
export async function recoverPaidInvoice(tx: StoreTx, changes: Changes, invoice: InvoiceRecord, nowMs: number): Promise<void> {
  invoice.nextAttemptAtMs = null;
  for (const grant of await tx.grants.forInvoice(invoice.id)) {
    if (grant.frozenFromMs === null || grant.unfrozenAtMs !== null) continue;
    await tx.grants.setFreeze(grant.id, grant.frozenFromMs, nowMs);
    if (nowMs >= grant.frozenFromMs && grant.status === 'active') {
      changes.event('credits.unfrozen', grant.customerId, { grant: grant.id, invoice: invoice.id, credits: formatCredits(grant.remainingMicro) }, nowMs);
      // Usable again: a debt owed meanwhile is paid from them by due work (`checkDebt`).
      await tx.customers.checkDebtAt(grant.customerId, nowMs, true);
    }
  }
  if (invoice.pastDueAtMs === null || !invoice.subscriptionId) return;
  await recoverSubscription(tx, changes, invoice.subscriptionId, invoice.id, nowMs);
}

/** A past-due subscription is active again once no other invoice of it is past due. */
export async function recoverSubscription(tx: StoreTx, changes: Changes, subscriptionId: string, invoiceId: string, nowMs: number): Promise<void> {
  const sub = await tx.billing.subscription(subscriptionId);
  if (sub && sub.status === 'past_due' && (await tx.dunning.otherPastDue(sub.id, invoiceId)) === 0) {
    sub.status = 'active';
    await tx.billing.updateSubscription(sub);
    changes.event('subscription.recovered', sub.customerId, { subscription: sub.id, invoice: invoiceId }, nowMs);
  }
}
