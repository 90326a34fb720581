import { calendarMonthAt, periodAt } from '../core/periods.ts';
import type { Rate } from '../core/rating.ts';
import type { PlanRecord } from '../store/queries/billing.ts';
import type { CustomerRecord, MeterRecord, SubscriptionRecord, TimelinePhase, TimelineSubscription } from '../store/records.ts';
import type { StoreTx } from '../store/store.ts';

/**
 * What rating needs to know about a customer's billing, read from the subscription timeline (the
 * one source of truth for "which plan, which period, when"): the period a usage timestamp falls
 * in (running totals are kept per period so rating is exact over it), and the rate of a meter
 * under the plan in effect at that time.
 */
export interface UsageContext {
  periodStart(customerId: string, atMs: number): number;
  rate(customerId: string, meter: MeterRecord, atMs: number): Rate;
}

export async function loadUsageContext(tx: StoreTx, customers: readonly CustomerRecord[]): Promise<UsageContext> {
  return usageContextOf(tx, await tx.billing.subscriptionsOf(customers.map((c) => c.id)));
}

/**
 * The same, from the customers' subscriptions already read (phases and plans are read here;
 * `plansById` may answer the plans from elsewhere, as authorization does from memory).
 */
export async function usageContextOf(
  tx: StoreTx, subs: readonly SubscriptionRecord[],
  plansById: (ids: readonly string[]) => Promise<ReadonlyMap<string, PlanRecord>> = (ids) => tx.billing.plansById(ids),
): Promise<UsageContext> {
  if (subs.length === 0) return withoutSubscriptions;
  const phases = await tx.billing.phases(subs.map((s) => s.id));
  const plans = phases.length ? await plansById(phases.map((p) => p.planId)) : new Map<string, PlanRecord>();
  return usageContextFrom(subs, phases, plans);
}

/** The same, from a timeline already read: subscriptions by id, phases by start, their plans by id. */
export function usageContextFrom(
  subs: readonly TimelineSubscription[], phases: readonly TimelinePhase[], plans: ReadonlyMap<string, PlanRecord>,
): UsageContext {
  if (subs.length === 0) return withoutSubscriptions;
  const subsByCustomer = new Map<string, TimelineSubscription[]>();
  for (const s of subs) {
    const list = subsByCustomer.get(s.customerId);
    if (list === undefined) subsByCustomer.set(s.customerId, [s]);
    else list.push(s);
  }
  const phasesBySub = new Map<string, TimelinePhase[]>();
  for (const p of phases) {
    const list = phasesBySub.get(p.subscriptionId);
    if (list === undefined) phasesBySub.set(p.subscriptionId, [p]);
    else list.push(p);
  }
  // The period found last for each subscription: a batch asks for the same one event after event,
  // and working a period out from the anchor costs several date computations.
  const lastPeriod = new Map<TimelineSubscription, { startMs: number; endMs: number }>();

  const subscriptionAt = (customerId: string, atMs: number): TimelineSubscription | undefined => {
    const list = subsByCustomer.get(customerId);
    if (list === undefined) return undefined;
    for (const s of list) if (s.anchorAtMs <= atMs && (s.endedAtMs === null || s.endedAtMs > atMs)) return s;
    return undefined;
  };

  return {
    periodStart(customerId, atMs) {
      const sub = subscriptionAt(customerId, atMs);
      if (!sub) return calendarMonthAt(atMs).startMs;
      const last = lastPeriod.get(sub);
      if (last !== undefined && atMs >= last.startMs && atMs < last.endMs) return last.startMs;
      const plan = plans.get(sub.planId);
      const period = periodAt(sub.anchorAtMs, plan?.interval ?? 'month', atMs);
      lastPeriod.set(sub, { startMs: period.startMs, endMs: period.endMs });
      return period.startMs;
    },
    rate(customerId, meter, atMs) {
      const sub = subscriptionAt(customerId, atMs);
      if (!sub) return meter.rate;
      // The phase in effect: the last one started by then (phases are read in start order).
      const list = phasesBySub.get(sub.id);
      let phase: TimelinePhase | undefined;
      if (list !== undefined) {
        for (let i = list.length - 1; i >= 0; i--) {
          if (list[i]!.startAtMs <= atMs) {
            phase = list[i];
            break;
          }
        }
      }
      const plan = phase ? plans.get(phase.planId) : undefined;
      return plan?.rates[meter.code] ?? meter.rate;
    },
  };
}

/** Customers without subscriptions: calendar-month periods and the meters' own rates (as above). */
export const withoutSubscriptions: UsageContext = {
  periodStart: (_customerId, atMs) => calendarMonthAt(atMs).startMs,
  rate: (_customerId, meter) => meter.rate,
};
