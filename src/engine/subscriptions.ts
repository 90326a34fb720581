import { fail, invalid, notFound, ok, type Outcome } from '../core/errors.ts';
import { prorationCredits, prorationLines, sumLines, type LineDraft } from '../core/plans.ts';
import { invoiceExcessMinor } from '../core/customer-balance.ts';
import { creditTakenBack, keptShare, remainingFraction, whole, type Fraction } from '../core/proration.ts';
import type { InvoiceRecord, SubscriptionRecord } from '../store/records.ts';
import type { StoreTx } from '../store/store.ts';
import { Changes, customerNow, findCustomerLocked, readLocked, type Engine } from './context.ts';
import { FieldCheck } from './input.ts';
import { formatTimestamp } from '../core/time.ts';
import { issueInvoice } from './invoices.ts';
import { paidByNonRefundableBalance } from './credit-notes.ts';
import { closingDueAtMs } from './close-subscription.ts';
import { advancePeriod } from './renew-subscription.ts';
import { enableOverageFor, grantAllowance, leftOf, overageLines, ownedAfterEnd, periodAllowances, postOverageInvoiced, revokeAllowance, settleOverage } from './subscription-credits.ts';
import { refreshSignalsNow } from './funding.ts';

export interface CreateSubscriptionInput {
  customer: string;
  plan: string;
  start_at?: string | undefined;
  metadata?: Record<string, string> | undefined;
}

/**
 * Subscribes a customer to a plan. Periods are anchored on the start (anniversary billing). When
 * the start is now or past, the first period begins in the same transaction: allowance grant and
 * in-advance invoice; a future start is picked up by the scheduler when it comes.
 */
export async function createSubscription(engine: Engine, input: CreateSubscriptionInput): Promise<Outcome<SubscriptionRecord>> {
  const check = new FieldCheck();
  const startAtMs = check.keptTime('start_at', input.start_at);
  const metadata = check.metadata('metadata', input.metadata);
  if (check.errors.length) return invalid(check.errors);
  return engine.store.transaction(async (tx) => {
    // Its invoice may be paid at once from the balance and reward a referral: the referrer is locked too.
    const customer = await findCustomerLocked(tx, input.customer, { pendingReferrers: true });
    if (!customer) return notFound('customer', input.customer);
    // Its writes are the customer's rows; the plan's `subscribed` mark only ever turns on, and no
    // kept customer holds a plan no subscription named yet.
    tx.scopeWritesTo([customer.id]);
    const plan = await tx.billing.plan(input.plan);
    if (!plan) return notFound('plan', input.plan);
    if (plan.currency !== customer.currency) {
      return invalid([{ field: 'plan', code: 'currency_mismatch', message: `The plan bills in ${plan.currency}; the customer in ${customer.currency}.` }]);
    }
    const previous = await tx.billing.subscriptionsOf([customer.id]);
    if (previous.some((s) => s.status !== 'canceled')) {
      return fail('subscription_exists', 'The customer has an active subscription; change it instead.');
    }
    const nowMs = await customerNow(engine, tx, customer);
    const anchorAtMs = startAtMs ?? nowMs;
    if (anchorAtMs < nowMs - engine.settings.pastToleranceMs) return invalid([{ field: 'start_at', code: 'too_old', message: 'start_at may be at most 35 days in the past.' }]);
    // Days an ended subscription billed (its fee, allowance and overage) are not billed again; one
    // canceled before it began billed none.
    const previousEndMs = previous.reduce((latest, s) => (s.periodIndex >= 0 ? Math.max(latest, s.endedAtMs ?? -Infinity) : latest), -Infinity);
    if (anchorAtMs < previousEndMs) {
      return invalid([{ field: 'start_at', code: 'before_previous_end', message: `start_at must not be before ${formatTimestamp(previousEndMs)}, when the customer's previous subscription ended.` }]);
    }
    const sub: SubscriptionRecord = {
      id: engine.ids.next('sub'), customerId: customer.id, planId: plan.id, status: 'active', anchorAtMs,
      periodIndex: -1, periodStartMs: anchorAtMs, periodEndMs: anchorAtMs, pendingPlanId: null, cancelAtPeriodEnd: false,
      canceledAtMs: null, endedAtMs: null, metadata, createdAtMs: nowMs, pastDueAtMs: null, closingDueAtMs: null,
    };
    await tx.billing.insertSubscription(sub);
    await tx.billing.insertPhase({ id: engine.ids.next('prc'), subscriptionId: sub.id, customerId: customer.id, planId: plan.id, startAtMs: anchorAtMs, endAtMs: null, reason: 'created' });
    await tx.billing.markPlanSubscribed(plan.id);
    await enableOverageFor(tx, customer, plan);
    const changes = new Changes(engine);
    changes.event('subscription.created', customer.id, { subscription: sub.id, plan: plan.id, start_at: anchorAtMs }, nowMs);
    await changes.flush(tx);
    if (anchorAtMs <= nowMs) await advancePeriod(engine, tx, sub, customer, anchorAtMs);
    return ok((await tx.billing.subscription(sub.id))!);
  });
}

/**
 * What a change or cancellation credits of the fee for the time left (and by the same fraction
 * revokes of the allowance's share): nothing when the invoice that charged the current plan's fee
 * now is void (it charged nothing, and its allowance was revoked with it) or uncollectible
 * (written off, its allowance revoked; paid late, it is paid again), else the share of the fee
 * that invoice kept after refunds and chargebacks (`keptShare`). Crediting an unpaid or returned
 * fee would hand back money never paid or already given back, as a refundable credit note, and
 * charge as debt an allowance share already taken back.
 */
async function unusedFeeCredited(tx: StoreTx, sub: SubscriptionRecord, nowMs: number): Promise<{ kept: Fraction; invoiceId: string | null } | null> {
  const fee = await tx.billing.feeInvoice(sub.id, sub.periodStartMs, nowMs);
  if (!fee) return { kept: whole, invoiceId: null };
  if (fee.status === 'void' || fee.status === 'uncollectible') return null;
  const invoice = (await tx.billing.invoice(fee.invoiceId))!;
  return { kept: keptShare(fee.chargeMinor, fee.chargesMinor, await returnedOfCharges(tx, invoice)), invoiceId: fee.invoiceId };
}

/**
 * What an invoice returned of its charges: its refunds and chargebacks (not won), and, when a
 * plan change's credit paid part of them, what the credited fee's invoice returned of that credit
 * (`creditTakenBack`), counted the same way back through the period's changes.
 */
async function returnedOfCharges(tx: StoreTx, invoice: InvoiceRecord, depth = 0): Promise<bigint> {
  const returnedMinor = invoice.amountRefundedMinor + invoice.amountChargedBackMinor;
  const credit = invoice.lines.find((l) => l.type === 'proration_credit' && l.amountMinor < 0n && l.refs.fee_invoice !== undefined);
  const credited = credit && depth < 100 ? await tx.billing.invoice(credit.refs.fee_invoice!) : null;
  if (!credit || !credited) return returnedMinor;
  return returnedMinor + creditTakenBack(-credit.amountMinor, invoiceExcessMinor(invoice.totalMinor), positiveLinesMinor(credited),
    await returnedOfCharges(tx, credited, depth + 1));
}

const positiveLinesMinor = (invoice: InvoiceRecord): bigint => invoice.lines.reduce((sum, l) => (l.amountMinor > 0n ? sum + l.amountMinor : sum), 0n);

/**
 * Whether the note for a credit beyond the new charges may be paid out: not when a note that is
 * not refundable (goodwill) paid part of the fee (`paidByNonRefundableBalance`), so unused time of
 * a fee goodwill paid comes back as balance for the next invoices, never as cash.
 */
async function excessRefundable(tx: StoreTx, fee: { invoiceId: string | null } | null, lines: LineDraft[]): Promise<boolean> {
  if (invoiceExcessMinor(sumLines(lines)) === 0n || !fee?.invoiceId) return true;
  return !(await paidByNonRefundableBalance(tx, (await tx.billing.invoice(fee.invoiceId))!));
}

/** The credit line names the invoice whose fee it credits. */
const withFeeRefs = (subscriptionId: string, fee: { invoiceId: string | null } | null) => (l: LineDraft): LineDraft => ({
  ...l, refs: { ...l.refs, subscription: subscriptionId, ...(l.type === 'proration_credit' && fee?.invoiceId ? { fee_invoice: fee.invoiceId } : {}) },
});

export interface ChangeSubscriptionInput {
  plan: string;
  timing: 'immediate' | 'period_end';
}

/**
 * A plan change. `period_end` schedules it for the next renewal. `immediate` prorates to the
 * second, in ONE transaction: a `proration_credit` line for the unused time of the old fee, a
 * `proration_charge` line for the remaining time of the new one, and by the same fraction the old
 * allowance's share revoked (capped at what is left of it) and the new allowance's share granted.
 */
export async function changeSubscription(engine: Engine, id: string, input: ChangeSubscriptionInput): Promise<Outcome<SubscriptionRecord>> {
  return engine.store.transaction(async (tx) => {
    // Its invoice may be paid at once from the balance and reward a referral: the referrer is locked too.
    const sub = await readLocked(tx, () => tx.billing.subscription(id), { pendingReferrers: true });
    if (!sub) return notFound('subscription', id);
    // As `createSubscription`: the customer's rows, and a plan's mark that only turns on.
    tx.scopeWritesTo([sub.customerId]);
    if (sub.status === 'canceled') return fail('subscription_not_active', 'The subscription has ended.');
    const customer = (await tx.customers.find(sub.customerId))!;
    const [oldPlan, newPlan] = [(await tx.billing.plansById([sub.planId])).get(sub.planId)!, await tx.billing.plan(input.plan)];
    if (!newPlan) return notFound('plan', input.plan);
    if (newPlan.currency !== oldPlan.currency || newPlan.interval !== oldPlan.interval) {
      return invalid([{ field: 'plan', code: 'plan_incompatible', message: 'A change keeps the currency and the billing interval.' }]);
    }
    const nowMs = await customerNow(engine, tx, customer);
    const changes = new Changes(engine);
    if (input.timing === 'period_end' || sub.periodIndex < 0) {
      sub.pendingPlanId = newPlan.id;
      await tx.billing.updateSubscription(sub);
      // A scheduled change commits the subscription to this version, so it must not be replaced.
      await tx.billing.markPlanSubscribed(newPlan.id);
      changes.event('subscription.change_scheduled', sub.customerId, { subscription: sub.id, to_plan: newPlan.id, at: sub.periodEndMs }, nowMs);
      await changes.flush(tx);
      return ok(sub);
    }
    const fraction = remainingFraction(sub.periodStartMs, sub.periodEndMs, nowMs);
    const fee = await unusedFeeCredited(tx, sub, nowMs);
    const credited = fee ? oldPlan : null;
    const kept = fee?.kept ?? whole;
    const lines = prorationLines(credited, newPlan, fraction, nowMs, sub.periodEndMs, kept).map(withFeeRefs(sub.id, fee));
    const invoice = await issueInvoice(engine, tx, changes, {
      customer, kind: 'proration', subscriptionId: sub.id, planId: newPlan.id, periodStartMs: nowMs, periodEndMs: sub.periodEndMs, lines,
      excessRefundable: await excessRefundable(tx, fee, lines),
    }, nowMs);
    const allowances = await periodAllowances(tx, sub, nowMs);
    const credits = prorationCredits(credited, newPlan, fraction, leftOf(allowances), kept);
    const grantMicro = credits.grantMicro;
    const creditLine = invoice.lines.find((l) => l.type === 'proration_credit');
    const chargeLine = invoice.lines.find((l) => l.type === 'proration_charge')!;
    if (creditLine) revokeAllowance(changes, sub, allowances, credits, { type: 'subscription_change', id: creditLine.id }, { invoice: invoice.id, invoice_line: creditLine.id }, nowMs);
    await changes.flush(tx);
    const grant = await grantAllowance(engine, tx, changes, customer, sub, grantMicro, sub.periodStartMs, sub.periodEndMs, invoice, chargeLine.id, nowMs);
    // Usage stamped from the change's instant on and charged to overage before it ran is paid by
    // the new allowance, usable from that instant, as a renewal's grants pay their period's.
    if (grant) await settleOverage(tx, changes, sub, [grant], nowMs, sub.periodEndMs, nowMs, engine.settings.futureToleranceMs);
    await tx.billing.endOpenPhase(sub.id, nowMs);
    await tx.billing.insertPhase({ id: engine.ids.next('prc'), subscriptionId: sub.id, customerId: sub.customerId, planId: newPlan.id, startAtMs: nowMs, endAtMs: null, reason: 'change' });
    await tx.billing.markPlanSubscribed(newPlan.id);
    await enableOverageFor(tx, customer, newPlan);
    sub.planId = newPlan.id;
    sub.pendingPlanId = null;
    await tx.billing.updateSubscription(sub);
    changes.event('subscription.changed', sub.customerId, {
      subscription: sub.id, from_plan: oldPlan.id, to_plan: newPlan.id, timing: 'immediate', invoice: invoice.id,
      fraction: `${fraction.numerator}/${fraction.denominator}`, credits_revoked: credits.revokeMicro.toString(), credits_offset: credits.offsetMicro.toString(), credits_debt: credits.debtMicro.toString(),
    }, nowMs);
    // The old allowance's unused share was revoked, the new one granted (and perhaps settled overage).
    await refreshSignalsNow(tx, changes, customer, nowMs);
    await changes.flush(tx);
    return ok(sub);
  });
}

/**
 * Cancels. `period_end` lets the period run out (the renewal then ends it); `immediate` ends it
 * now with a `proration_credit` for the unused time, bills overage so far, and revokes the unused
 * share of the allowance by the same fraction.
 */
export async function cancelSubscription(engine: Engine, id: string, input: { timing: 'immediate' | 'period_end' }): Promise<Outcome<SubscriptionRecord>> {
  return engine.store.transaction(async (tx) => {
    // Its invoice may be paid at once from the balance and reward a referral: the referrer is locked too.
    const sub = await readLocked(tx, () => tx.billing.subscription(id), { pendingReferrers: true });
    if (!sub) return notFound('subscription', id);
    tx.scopeWritesTo([sub.customerId]);
    if (sub.status === 'canceled') return fail('subscription_not_active', 'The subscription has ended.');
    const customer = (await tx.customers.find(sub.customerId))!;
    const nowMs = await customerNow(engine, tx, customer);
    const changes = new Changes(engine);
    sub.canceledAtMs = nowMs;
    if (input.timing === 'period_end' && sub.periodIndex >= 0) {
      sub.cancelAtPeriodEnd = true;
      await tx.billing.updateSubscription(sub);
      changes.event('subscription.cancel_scheduled', sub.customerId, { subscription: sub.id, at: sub.periodEndMs }, nowMs);
      await changes.flush(tx);
      return ok(sub);
    }
    const plan = (await tx.billing.plansById([sub.planId])).get(sub.planId)!;
    if (sub.periodIndex >= 0) {
      const fraction = remainingFraction(sub.periodStartMs, sub.periodEndMs, nowMs);
      const lookbackMs = engine.settings.pastToleranceMs + 24 * 3600 * 1000;
      const fee = await unusedFeeCredited(tx, sub, nowMs);
      const credited = fee ? plan : null;
      const kept = fee?.kept ?? whole;
      const lines = [
        ...prorationLines(credited, null, fraction, nowMs, sub.periodEndMs, kept).map(withFeeRefs(sub.id, fee)),
        // Up to what the subscription owns after its end (`ownedAfterEnd`): usage stamped ahead of the clock, charged before now.
        ...(await overageLines(tx, sub, ownedAfterEnd(nowMs, engine.settings.futureToleranceMs), lookbackMs, engine.settings.futureToleranceMs, nowMs)),
      ];
      const invoice = await issueInvoice(engine, tx, changes, {
        customer, kind: 'final', subscriptionId: sub.id, planId: plan.id, periodStartMs: sub.periodStartMs, periodEndMs: nowMs, lines,
        excessRefundable: await excessRefundable(tx, fee, lines),
      }, nowMs);
      postOverageInvoiced(changes, invoice, nowMs);
      const creditLine = invoice.lines.find((l) => l.type === 'proration_credit');
      if (creditLine) {
        const allowances = await periodAllowances(tx, sub, nowMs);
        const credits = prorationCredits(plan, null, fraction, leftOf(allowances), kept);
        revokeAllowance(changes, sub, allowances, credits, { type: 'subscription_cancel', id: creditLine.id }, { invoice: invoice.id, invoice_line: creditLine.id }, nowMs);
      }
    }
    sub.status = 'canceled';
    sub.endedAtMs = nowMs;
    sub.closingDueAtMs = closingDueAtMs(engine, sub, nowMs);
    await tx.billing.updateSubscription(sub);
    await tx.billing.endOpenPhase(sub.id, nowMs);
    changes.event('subscription.canceled', sub.customerId, { subscription: sub.id, ended_at: nowMs, timing: 'immediate' }, nowMs);
    // The unused share of the allowance was revoked.
    await refreshSignalsNow(tx, changes, customer, nowMs);
    await changes.flush(tx);
    return ok(sub);
  });
}
