import { addIntervals } from '../core/periods.ts';
import { isGrantFrozen } from '../core/burn-down.ts';
import { feeLine, rolloverCredits, type LineDraft } from '../core/plans.ts';
import type { CustomerRecord, GrantRecord, SubscriptionRecord } from '../store/records.ts';
import type { StoreTx } from '../store/store.ts';
import { Changes, type Engine } from './context.ts';
import type { DueWorkKind } from './due-work.ts';
import { issueGrant } from './grants.ts';
import { issueInvoice } from './invoices.ts';
import { closingDueAtMs } from './close-subscription.ts';
import { allowanceSource, enableOverageFor, grantAllowance, leftOf, overageLines, ownedAfterEnd, periodAllowances, postOverageInvoiced, settleOverage, takeFrom } from './subscription-credits.ts';
import { balanceOf } from './balance.ts';
import { refreshSignals } from './funding.ts';

/**
 * Moves a subscription from its current period to the next one, in ONE transaction: overage of
 * the closing period (in arrears), rollover of its unused allowance, the next period's allowance
 * grant and its fee (in advance) on one invoice. At a scheduled cancellation it ends instead; at a
 * scheduled change the next period runs on the new plan. Each step is claimed per (subscription,
 * period), so running it twice does nothing the second time.
 */
export async function advancePeriod(
  engine: Engine, tx: StoreTx, sub: SubscriptionRecord, customer: CustomerRecord, atMs: number, shared?: Changes,
): Promise<boolean> {
  const plans = await tx.billing.plansById([sub.planId, ...(sub.pendingPlanId ? [sub.pendingPlanId] : [])]);
  const currentPlan = plans.get(sub.planId)!;
  // With `shared`, the caller writes the changes (due work: those of many renewals together).
  const changes = shared ?? new Changes(engine);
  // Late usage (up to pastToleranceMs old) may land in a period after the renewal that billed it,
  // so every period that could have received usage since the previous renewal is billed again:
  // those ending after the closing period's start less the tolerance (a day of slack).
  const lookbackMs = Math.max(0, atMs - sub.periodStartMs) + engine.settings.pastToleranceMs + 24 * 3600 * 1000;

  if (sub.periodIndex >= 0 && sub.cancelAtPeriodEnd) {
    // Up to what the subscription owns after its end (`ownedAfterEnd`): usage stamped ahead of the clock, charged before now.
    const lines = await overageLines(tx, sub, ownedAfterEnd(sub.periodEndMs, engine.settings.futureToleranceMs), lookbackMs, engine.settings.futureToleranceMs, sub.periodEndMs);
    if (lines.length) {
      const invoice = await issueInvoice(engine, tx, changes, { customer, kind: 'final', subscriptionId: sub.id, planId: sub.planId, periodStartMs: sub.periodStartMs, periodEndMs: sub.periodEndMs, lines }, atMs);
      postOverageInvoiced(changes, invoice, atMs);
    }
    sub.status = 'canceled';
    sub.endedAtMs = sub.periodEndMs;
    sub.closingDueAtMs = closingDueAtMs(engine, sub, sub.endedAtMs);
    await tx.billing.updateSubscription(sub);
    await tx.billing.endOpenPhase(sub.id, sub.periodEndMs);
    changes.event('subscription.canceled', sub.customerId, { subscription: sub.id, ended_at: sub.periodEndMs }, atMs);
    if (!shared) await changes.flush(tx);
    return true;
  }

  const nextPlan = sub.pendingPlanId ? plans.get(sub.pendingPlanId)! : currentPlan;
  const nextIndex = sub.periodIndex + 1;
  const startMs = sub.periodIndex < 0 ? sub.anchorAtMs : sub.periodEndMs;
  const endMs = addIntervals(sub.anchorAtMs, nextPlan.interval, nextIndex + 1);
  const claimed = await tx.billing.claimPeriod({
    subscriptionId: sub.id, periodIndex: nextIndex, customerId: sub.customerId, planId: nextPlan.id,
    periodStartMs: startMs, periodEndMs: endMs, invoiceId: null, grantId: null, closed: false,
  });
  if (!claimed) return false;

  const lines: LineDraft[] = [{ ...feeLine(nextPlan, startMs, endMs), refs: { plan: nextPlan.id, subscription: sub.id } }];
  if (sub.periodIndex >= 0) lines.push(...(await overageLines(tx, sub, atMs, lookbackMs, engine.settings.futureToleranceMs)));
  const invoice = await issueInvoice(engine, tx, changes, {
    customer, kind: 'subscription', subscriptionId: sub.id, planId: nextPlan.id, periodStartMs: startMs, periodEndMs: endMs, lines,
  }, atMs);
  postOverageInvoiced(changes, invoice, atMs);

  // Rollover is read before the old allowance expires (renewals run before expiries at one instant).
  // It carries what the customer could still use at the period's last instant: an allowance
  // frozen then for its unpaid fee (PRODUCT §14) carries nothing over, or credits never paid for
  // would be usable in the next period whatever became of that fee.
  const previous = sub.periodIndex >= 0 ? (await periodAllowances(tx, sub, atMs - 1)).filter((g) => !isGrantFrozen(g, atMs - 1)) : [];
  const carryMicro = rolloverCredits(currentPlan, leftOf(previous.filter((g) => g.source === allowanceSource || g.source === 'rollover')));
  const feeLineId = invoice.lines[0]!.id;
  if (sub.pendingPlanId) {
    await tx.billing.endOpenPhase(sub.id, startMs);
    await tx.billing.insertPhase({ id: engine.ids.next('prc'), subscriptionId: sub.id, customerId: sub.customerId, planId: nextPlan.id, startAtMs: startMs, endAtMs: null, reason: 'scheduled_change' });
    await tx.billing.markPlanSubscribed(nextPlan.id);
    await enableOverageFor(tx, customer, nextPlan);
    changes.event('subscription.changed', sub.customerId, { subscription: sub.id, from_plan: currentPlan.id, to_plan: nextPlan.id, timing: 'period_end' }, atMs);
  }
  sub.planId = nextPlan.id;
  sub.pendingPlanId = null;
  sub.periodIndex = nextIndex;
  sub.periodStartMs = startMs;
  sub.periodEndMs = endMs;
  await tx.billing.updateSubscription(sub);
  // Both grants' ledger transactions and events are written with the renewal's own, at its end.
  const grant = await grantAllowance(engine, tx, changes, customer, sub, nextPlan.includedCreditsMicro, startMs, endMs, invoice, feeLineId, atMs, true);
  let rollover: GrantRecord | null = null;
  if (carryMicro > 0n) {
    const sources = previous.filter((g) => g.source === allowanceSource || g.source === 'rollover');
    rollover = await issueGrant(engine, tx, changes, customer, atMs, {
      creditsMicro: carryMicro, category: 'paid', source: 'rollover', priority: 50, effectiveAtMs: atMs, expiresAtMs: endMs,
      invoiceId: invoice.id, invoiceLineId: feeLineId, subscriptionId: sub.id, periodStartMs: startMs,
      fundedBy: takeFrom(sources, carryMicro).map((e) => ({ account: e.account, amountMicro: e.amountMicro })),
      flushLater: true,
    });
  }
  // Usage of the new period charged to overage before this renewal ran is paid by its grants.
  const payers = [grant, rollover].filter((g): g is GrantRecord => g !== null);
  if (await settleOverage(tx, changes, sub, payers, startMs, endMs, atMs, engine.settings.futureToleranceMs) > 0n) {
    await changes.flush(tx);
    const balance = await balanceOf(tx, customer, atMs);
    await refreshSignals(tx, changes, customer, balance.availableMicro, atMs);
  }
  await tx.billing.updatePeriod({
    subscriptionId: sub.id, periodIndex: nextIndex, customerId: sub.customerId, planId: nextPlan.id,
    periodStartMs: startMs, periodEndMs: endMs, invoiceId: invoice.id, grantId: grant?.id ?? null, closed: false,
  });
  changes.event(nextIndex === 0 ? 'subscription.started' : 'subscription.renewed', sub.customerId, {
    subscription: sub.id, period_index: nextIndex, period_start: startMs, period_end: endMs, invoice: invoice.id, grant: grant?.id ?? null,
  }, atMs);
  if (!shared) await changes.flush(tx);
  return true;
}

/** The scheduler's renewal work: every active subscription whose period has ended. */
export const subscriptionRenewal: DueWorkKind = {
  kind: 'subscription_renewal',
  // Its customer's subscription, phases, grants and row; a plan's `subscribed` mark only turns on,
  // and a plan no subscription named yet is in no kept customer's timeline.
  customerScoped: true,
  paysInvoices: true,
  async due(tx, clock, upTo, limit) {
    return (await tx.billing.dueRenewals(clock, upTo, limit)).map((d) => ({ ...d, kind: 'subscription_renewal' }));
  },
  async run(engine, tx, item, batch) {
    // Its invoice may be paid at once from the balance and reward a referral: the referrer is locked too.
    await tx.lockCustomers([item.customerId], { pendingReferrers: true });
    const sub = await batch.subject(item.id, (ids) => tx.billing.subscriptionsById(ids));
    if (!sub || sub.status === 'canceled' || sub.periodEndMs > item.dueAtMs) return;
    const customer = (await batch.customer(sub.customerId))!;
    await advancePeriod(engine, tx, sub, customer, item.dueAtMs, batch.changes);
  },
};
