import { minorToJson } from '../core/money.ts';
import { formatCredits } from '../core/decimal.ts';
import { freezeFromMs, retryAtMs } from '../core/dunning.ts';
import { fail, invalid, notFound, ok, type Outcome } from '../core/errors.ts';
import { accounts } from '../core/ledger.ts';
import type { CustomerRecord, GrantRecord, InvoiceRecord, PaymentAttemptRecord, PaymentRecord } from '../store/records.ts';
import type { StoreTx } from '../store/store.ts';
import { Changes, customerNow, readLocked, type Engine } from './context.ts';
import type { DueWorkKind } from './due-work.ts';
import { applyBalance, isCollectible, isPayable } from './credit-notes.ts';
import { closingDueAtMs } from './close-subscription.ts';
import { recoverSubscription, takePayment } from './invoice-settlement.ts';
import { refreshSignalsNow } from './funding.ts';
import { heldOf, heldTotal, releaseHeld } from './holds.ts';

/**
 * Unpaid invoices and dunning (PRODUCT §14). An invoice goes past due when its due date passes or
 * a payment attempt fails: it and its subscription are marked `past_due`, retries are scheduled,
 * and credits it bought freeze after the grace period. Paid, everything returns; after the last
 * failed retry the invoice is marked uncollectible (and, per setting, its subscription canceled),
 * and the credits it bought are revoked in a transaction caused by the invoice.
 */

/** Grants whose credits an invoice paid for: its allowance and purchases (rollovers were paid before). */
const boughtBy = (grants: readonly GrantRecord[]) => grants.filter((g) => g.source === 'plan_allowance' || g.source === 'purchase');

export async function markPastDue(
  engine: Engine, tx: StoreTx, changes: Changes, invoice: InvoiceRecord, atMs: number,
  failure: { code: string; attempt: string | null; details?: Record<string, unknown> | undefined },
): Promise<void> {
  if (invoice.pastDueAtMs === null) {
    invoice.pastDueAtMs = atMs;
    invoice.dunningStep = 0;
    invoice.nextAttemptAtMs = retryAtMs(atMs, engine.settings.dunningRetryDays, 0);
    const frozenFrom = freezeFromMs(invoice.dueAtMs ?? atMs, engine.settings.unpaidGraceMs);
    // Credits released before the payment failed (a purchase paid by a payment that later failed,
    // an allowance granted before the due date) follow the money too.
    const freezing = frozenFrom === null ? [] : boughtBy(await tx.grants.forInvoice(invoice.id)).filter((g) => g.status === 'active' && g.frozenFromMs === null);
    if (freezing.length > 0) {
      // Not before usage they already paid, which may be stamped ahead of now.
      const fromMs = await effectAfterUse(tx, freezing.map((g) => g.id), Math.max(frozenFrom!, atMs));
      for (const grant of freezing) await tx.grants.setFreeze(grant.id, fromMs, null);
      // Their credits stop paying then: an armed auto top-up checks the balance at that time.
      await tx.customers.checkTopUpAt(invoice.customerId, fromMs);
    }
    if (invoice.subscriptionId) {
      const sub = await tx.billing.subscription(invoice.subscriptionId);
      if (sub && sub.status === 'active') {
        sub.status = 'past_due';
        sub.pastDueAtMs = atMs;
        await tx.billing.updateSubscription(sub);
        changes.event('subscription.past_due', sub.customerId, { subscription: sub.id, invoice: invoice.id }, atMs);
      }
    }
  }
  changes.event('invoice.payment_failed', invoice.customerId, {
    invoice: invoice.id, failure_code: failure.code, attempt: failure.attempt, amount_due: minorToJson(invoice.totalMinor - invoice.amountPaidMinor),
    next_attempt_at: invoice.nextAttemptAtMs, ...failure.details,
  }, atMs);
}

/**
 * Revokes what is left of the credits an invoice bought, in one transaction caused by the
 * invoice (voided or uncollectible); credits still pending never issued anything and are voided.
 */
export async function revokeInvoiceCredits(tx: StoreTx, changes: Changes, invoice: InvoiceRecord, why: 'invoice voided' | 'invoice uncollectible', nowMs: number): Promise<void> {
  const grants = boughtBy(await tx.grants.forInvoice(invoice.id)).filter((g) => g.status === 'active' || g.status === 'pending');
  // After any usage they already paid, which may be stamped ahead of now.
  const active = grants.filter((g) => g.status === 'active');
  const revokedAtMs = await effectAfterUse(tx, active.map((g) => g.id), nowMs);
  // What holds reserve of them is not spent: it is taken back from the holds and revoked too.
  const held = await heldOf(tx, invoice.customerId, new Set(active.map((g) => g.id)));
  const back = await releaseHeld(tx, changes, held, heldTotal(held), invoice.id, nowMs);
  const entries = [];
  let total = 0n;
  for (const g of grants) {
    const leftMicro = g.status === 'active' ? g.remainingMicro + (back.get(g.id) ?? 0n) : 0n;
    if (leftMicro > 0n) {
      entries.push({ account: accounts.grant(g.id), amountMicro: -leftMicro });
      total += leftMicro;
    }
    await tx.grants.close(g.id, 'voided', revokedAtMs, why);
    changes.event('grant.voided', g.customerId, { grant: g.id, customer: g.customerId, credits: formatCredits(leftMicro), reason: why }, nowMs);
  }
  if (total > 0n) {
    entries.push({ account: accounts.revoked, amountMicro: total });
    changes.txn({ customerId: invoice.customerId, kind: 'revoke', cause: { type: 'invoice', id: invoice.id }, refs: { invoice: invoice.id }, effectiveAtMs: revokedAtMs, entries });
    changes.event('credits.revoked', invoice.customerId, { invoice: invoice.id, credits: formatCredits(total), debt: '0', cause: invoice.id }, nowMs);
  }
}

/**
 * When an effect on these grants' credits decided at `atMs` (a revocation, a freeze) takes hold:
 * then, or just after the latest usage they already paid if that is later. An event may be
 * stamped up to `futureToleranceMs` ahead of its customer's clock and is paid when it arrives, so
 * credits can have paid for a time still to come; an effect dated before that usage would put the
 * usage after the credits were gone (reconciliation's `frozen_credits_unused`).
 */
export async function effectAfterUse(tx: StoreTx, grantIds: readonly string[], atMs: number): Promise<number> {
  const last = await tx.grants.lastUsedSince(grantIds, atMs);
  return last === null ? atMs : Math.max(atMs, last + 1);
}

/** After the last failed retry: the setting decides between uncollectible and also canceling the subscription. */
async function escalate(engine: Engine, tx: StoreTx, changes: Changes, customer: CustomerRecord, invoice: InvoiceRecord, nowMs: number): Promise<void> {
  invoice.status = 'uncollectible';
  invoice.uncollectibleAtMs = nowMs;
  invoice.nextAttemptAtMs = null;
  await revokeInvoiceCredits(tx, changes, invoice, 'invoice uncollectible', nowMs);
  changes.event('invoice.marked_uncollectible', invoice.customerId, { invoice: invoice.id, amount: minorToJson(invoice.totalMinor - invoice.amountPaidMinor) }, nowMs);
  const sub = invoice.subscriptionId ? await tx.billing.subscription(invoice.subscriptionId) : null;
  if (sub && sub.status !== 'canceled') {
    if (engine.settings.dunningFinalAction === 'cancel_subscription') {
      sub.status = 'canceled';
      sub.canceledAtMs = nowMs;
      sub.endedAtMs = nowMs;
      sub.closingDueAtMs = closingDueAtMs(engine, sub, nowMs);
      await tx.billing.updateSubscription(sub);
      await tx.billing.endOpenPhase(sub.id, nowMs);
      changes.event('subscription.canceled', sub.customerId, { subscription: sub.id, ended_at: nowMs, reason: 'unpaid', invoice: invoice.id }, nowMs);
    } else {
      await recoverSubscription(tx, changes, sub.id, invoice.id, nowMs);
    }
  }
  // What the invoice had released is revoked, with or without a subscription.
  await refreshSignalsNow(tx, changes, customer, nowMs);
}

export interface PaymentAttemptInput {
  outcome: 'succeeded' | 'failed';
  failure_code?: string | undefined;
  /** Succeeded only: minor units received (default: everything still due). */
  amount?: number | undefined;
  provider?: string | undefined;
  provider_payment_id?: string | undefined;
  /** More facts for the `invoice.payment_failed` event (a provider's ids and attempt count). */
  details?: Record<string, unknown> | undefined;
}

/**
 * Records one attempt to collect an invoice: the entry point for attempts made by hand, and for a
 * payment provider's outcomes (a Stripe `invoice.payment_failed` webhook calls this with
 * `failed`). Succeeded pays the invoice; failed makes it past due, or, after the last retry,
 * escalates.
 */
export async function recordPaymentAttempt(
  engine: Engine, invoiceRef: string, input: PaymentAttemptInput, source: PaymentAttemptRecord['source'] = 'api',
): Promise<Outcome<{ invoice: InvoiceRecord; attempt: PaymentAttemptRecord; payment: PaymentRecord | null }>> {
  if (input.amount !== undefined && (input.outcome !== 'succeeded' || !Number.isSafeInteger(input.amount) || input.amount <= 0)) {
    return invalid([{ field: 'amount', code: 'invalid_amount', message: 'amount is a positive integer of minor units, for a succeeded attempt.' }]);
  }
  return engine.store.transaction(async (tx) => {
    // A succeeded attempt may reward the customer's referral, which locks the referrer.
    const invoice = await readLocked(tx, () => tx.billing.invoice(invoiceRef), { pendingReferrers: true });
    if (!invoice) return notFound('invoice', invoiceRef);
    // Its writes are the invoice's customer's rows (a referral's reward names its own).
    tx.scopeWritesTo([invoice.customerId]);
    // A succeeded attempt may pay an uncollectible invoice late; a failed one has no dunning left to drive.
    if (!(input.outcome === 'succeeded' ? isPayable(invoice) : isCollectible(invoice))) {
      return fail('invoice_not_open', `The invoice is ${invoice.status}.`, { details: { status: invoice.status } });
    }
    const dueMinor = invoice.totalMinor - invoice.amountPaidMinor;
    const amountMinor = input.amount === undefined ? dueMinor : BigInt(input.amount);
    if (amountMinor > dueMinor) {
      return fail('overpayment', `The invoice has ${dueMinor} minor units due.`, { fields: [{ field: 'amount', code: 'overpayment', message: 'more than the amount due' }], details: { due: minorToJson(dueMinor) } });
    }
    return ok({ invoice, ...(await recordPaymentAttemptIn(engine, tx, invoice, input, amountMinor, source)) });
  });
}

/**
 * The same inside a store transaction that already holds the invoice under its customer's lock
 * (a provider's webhook handler): records the attempt and writes the invoice state.
 */
export async function recordPaymentAttemptIn(
  engine: Engine, tx: StoreTx, invoice: InvoiceRecord, input: PaymentAttemptInput, amountMinor: bigint, source: PaymentAttemptRecord['source'],
): Promise<{ attempt: PaymentAttemptRecord; payment: PaymentRecord | null }> {
  const customer = (await tx.customers.find(invoice.customerId))!;
  const nowMs = await customerNow(engine, tx, customer);
  const changes = new Changes(engine);
  const attempt = await attemptOn(engine, tx, changes, customer, invoice, input, amountMinor, source, nowMs);
  await tx.billing.updateInvoiceState(invoice);
  await changes.flush(tx);
  return attempt;
}

async function attemptOn(
  engine: Engine, tx: StoreTx, changes: Changes, customer: CustomerRecord, invoice: InvoiceRecord, input: PaymentAttemptInput,
  amountMinor: bigint, source: PaymentAttemptRecord['source'], nowMs: number,
): Promise<{ attempt: PaymentAttemptRecord; payment: PaymentRecord | null }> {
  const attempt: PaymentAttemptRecord = {
    id: engine.ids.next('pat'), invoiceId: invoice.id, customerId: invoice.customerId, outcome: input.outcome,
    failureCode: input.outcome === 'failed' ? (input.failure_code ?? 'payment_failed') : null,
    attempt: (await tx.dunning.attempts(invoice.id)).length + 1, source, paymentId: null, createdAtMs: nowMs,
  };
  let payment: PaymentRecord | null = null;
  if (input.outcome === 'succeeded') {
    payment = await takePayment(engine, tx, changes, customer, invoice, {
      amountMinor, method: input.provider ?? 'manual', provider: input.provider ?? null, providerPaymentId: input.provider_payment_id ?? null,
    }, nowMs);
    attempt.paymentId = payment.id;
  } else if (invoice.pastDueAtMs === null) {
    await markPastDue(engine, tx, changes, invoice, nowMs, { code: attempt.failureCode!, attempt: attempt.id, details: input.details });
  } else {
    changes.event('invoice.payment_failed', invoice.customerId, {
      invoice: invoice.id, failure_code: attempt.failureCode, attempt: attempt.id, amount_due: minorToJson(invoice.totalMinor - invoice.amountPaidMinor),
      next_attempt_at: invoice.nextAttemptAtMs, ...input.details,
    }, nowMs);
    // The last scheduled retry has run and failed: give up on the invoice.
    if (invoice.nextAttemptAtMs === null && invoice.dunningStep >= engine.settings.dunningRetryDays.length) {
      await escalate(engine, tx, changes, customer, invoice, nowMs);
    }
  }
  await tx.dunning.insertAttempt(attempt);
  return { attempt, payment };
}

/** The scheduler's work: open invoices whose due date passed with money still due go past due. */
export const invoicePastDue: DueWorkKind = {
  kind: 'invoice_past_due',
  // Its customer's invoice, subscription, grants (frozen) and row (a top-up check).
  customerScoped: true,
  async due(tx, clock, upTo, limit) {
    return (await tx.dunning.duePastDue(clock, upTo, limit)).map((d) => ({ ...d, kind: 'invoice_past_due' }));
  },
  async run(engine, tx, item) {
    await tx.lockCustomers([item.customerId]);
    const invoice = await tx.billing.invoice(item.id);
    if (!invoice || invoice.status !== 'open' || invoice.pastDueAtMs !== null) return;
    const changes = new Changes(engine);
    await markPastDue(engine, tx, changes, invoice, item.dueAtMs, { code: 'due_date_passed', attempt: null });
    await tx.billing.updateInvoiceState(invoice);
    await changes.flush(tx);
  },
};

/**
 * The scheduler's work: a dunning retry. The customer's money balance (credit notes that arrived
 * after the invoice was finalized, such as a cancellation's credit for unused time) pays first,
 * unless the invoice is in Stripe; what it leaves is retried. With no payment provider nothing can be charged, so the retry fails
 * at once; with one, the provider is asked (`invoice.payment_retry`) and its outcome comes back
 * through recordPaymentAttempt.
 */
export const dunningRetry: DueWorkKind = {
  kind: 'dunning_retry',
  // Its customer's invoice, subscription and grants (revoked at the last retry).
  customerScoped: true,
  // The balance may pay it: a referral's reward then grants to the referrer.
  paysInvoices: true,
  async due(tx, clock, upTo, limit) {
    return (await tx.dunning.dueRetries(clock, upTo, limit)).map((d) => ({ ...d, kind: 'dunning_retry' }));
  },
  async run(engine, tx, item) {
    await tx.lockCustomers([item.customerId], { pendingReferrers: true });
    const invoice = await tx.billing.invoice(item.id);
    if (!invoice || invoice.status !== 'open' || invoice.nextAttemptAtMs === null || invoice.nextAttemptAtMs > item.dueAtMs) return;
    const customer = (await tx.customers.find(invoice.customerId))!;
    // The retry is made when it runs, which on the real clock may be after its time (the next
    // tick, a server that was down): the last one revokes credits that paid usage meanwhile, so it
    // is dated then, not before that usage. On a test clock's advance the clock stands at its time.
    const nowMs = Math.max(item.dueAtMs, await customerNow(engine, tx, customer));
    const changes = new Changes(engine);
    // Not an invoice in Stripe: Stripe would still ask for the whole amount it was pushed with.
    if (invoice.providerInvoiceId === null) await applyBalance(engine, tx, changes, customer, invoice, nowMs);
    if (invoice.amountPaidMinor === invoice.totalMinor) {
      // Paid by the balance: settled (paid, unfrozen, the subscription recovered), nothing to retry.
      await tx.billing.updateInvoiceState(invoice);
      await changes.flush(tx);
      return;
    }
    invoice.dunningStep += 1;
    invoice.nextAttemptAtMs = retryAtMs(invoice.pastDueAtMs ?? item.dueAtMs, engine.settings.dunningRetryDays, invoice.dunningStep);
    changes.event('invoice.payment_retry', invoice.customerId, { invoice: invoice.id, retry: invoice.dunningStep, provider: invoice.provider }, nowMs);
    if (engine.settings.collection === 'none') {
      await attemptOn(engine, tx, changes, customer, invoice, { outcome: 'failed', failure_code: 'no_payment_method' }, 0n, 'dunning', nowMs);
    }
    await tx.billing.updateInvoiceState(invoice);
    await changes.flush(tx);
  },
};
