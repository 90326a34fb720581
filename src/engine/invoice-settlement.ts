import { minorToJson } from '../core/money.ts';
import type { CustomerRecord, InvoiceRecord, PaymentRecord } from '../store/records.ts';
import type { StoreTx } from '../store/store.ts';
import type { Changes, Engine } from './context.ts';
import { activateGrant, issueGrant } from './grants.ts';
import { accounts } from '../core/ledger.ts';
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

/**
 * An invoice paid in full: paid status, and the credits it bought become active. Paid after it
 * was marked uncollectible, what that revoked comes back (`restoreUncollectibleCredits`).
 */
export async function settleInvoice(engine: Engine, tx: StoreTx, changes: Changes, customer: CustomerRecord, invoice: InvoiceRecord, nowMs: number): Promise<void> {
  const wasUncollectible = invoice.status === 'uncollectible';
  invoice.status = 'paid';
  invoice.paidAtMs = nowMs;
  changes.event('invoice.paid', invoice.customerId, {
    invoice: invoice.id, total: minorToJson(invoice.totalMinor), ...(wasUncollectible ? { was_uncollectible: true } : {}),
  }, nowMs);
  for (const grant of await tx.grants.forInvoice(invoice.id)) {
    if (grant.status === 'pending') await activateGrant(engine, tx, changes, customer, grant, nowMs);
  }
  if (wasUncollectible) await restoreUncollectibleCredits(engine, tx, changes, customer, invoice, nowMs);
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

/**
 * An uncollectible invoice paid after all: credits follow the money back (PRODUCT §14). Each grant
 * that being uncollectible voided comes back as a new grant for what the void took from it (the
 * voided grant stays voided: the ledger's history is not rewritten), with the same source, links
 * and expiry, and `metadata.restores` naming the grant it restores:
 * - a purchase in full: its credits were never issued while the invoice was unpaid, so they are
 *   issued now, as paying on time would have;
 * - an allowance for what was left of it, taken back from `revoked` by a transaction caused by the
 *   new grant that names the one it restores.
 * Nothing comes back that could not be used: a grant past its expiry, or the allowance of a
 * subscription that has ended (canceled by dunning, or otherwise); those credits stay revoked.
 */
async function restoreUncollectibleCredits(engine: Engine, tx: StoreTx, changes: Changes, customer: CustomerRecord, invoice: InvoiceRecord, nowMs: number): Promise<void> {
  const voided = (await tx.grants.forInvoice(invoice.id)).filter((g) => g.status === 'voided' && g.closeReason === 'invoice uncollectible');
  if (voided.length === 0) return;
  const revokedMicro = new Map<string, bigint>();
  for (const t of await tx.ledger.transactionsForCause(invoice.id)) {
    if (t.kind !== 'revoke') continue;
    for (const e of t.entries) {
      if (e.account.startsWith('grant:')) revokedMicro.set(e.account.slice(6), (revokedMicro.get(e.account.slice(6)) ?? 0n) - e.amountMicro);
    }
  }
  for (const g of voided) {
    if (g.expiresAtMs !== null && g.expiresAtMs <= nowMs) continue;
    if (g.subscriptionId !== null) {
      const sub = await tx.billing.subscription(g.subscriptionId);
      if (!sub || (sub.endedAtMs !== null && sub.endedAtMs <= nowMs)) continue;
    }
    // A purchase's grant waits, pending, until its invoice is paid: an uncollectible one never issued it.
    const purchase = g.source === 'purchase';
    const creditsMicro = purchase ? g.creditsMicro : (revokedMicro.get(g.id) ?? 0n);
    if (creditsMicro <= 0n) continue;
    await issueGrant(engine, tx, changes, customer, nowMs, {
      creditsMicro, category: g.category, source: g.source, priority: g.priority, effectiveAtMs: nowMs, expiresAtMs: g.expiresAtMs,
      invoiceId: g.invoiceId, invoiceLineId: g.invoiceLineId, subscriptionId: g.subscriptionId, periodStartMs: g.periodStartMs,
      costAmountMinor: g.costAmountMinor, costCurrency: g.costCurrency,
      metadata: { ...g.metadata, restores: g.id }, refs: { restores: g.id },
      ...(purchase ? {} : { fundedBy: [{ account: accounts.revoked, amountMicro: -creditsMicro }] }),
    });
  }
}
