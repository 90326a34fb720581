import { invalid, notFound, ok, type Outcome } from '../core/errors.ts';
import { formatCredits } from '../core/decimal.ts';
import { marginalCost } from '../core/rating.ts';
import { meterMatches, nextQuantity, readEvent, type Reading } from '../core/metering.ts';
import type { CustomerRecord, SubscriptionRecord } from '../store/records.ts';
import { uniqueKey, type StoreTx, type UniqueValueKey } from '../store/store.ts';
import { customerNow, type Engine } from './context.ts';
import { FieldCheck } from './input.ts';
import { availableOfGrants } from './funding.ts';
import { usageContextOf } from './usage-context.ts';
import { isRejection, validateUnstoredUsageEvent, type UsageCandidate } from './usage-validation.ts';

export interface AuthorizeInput {
  credits?: string | undefined;
  event?: unknown;
}

export interface Authorization {
  allowed: boolean;
  availableMicro: bigint;
  costMicro: bigint;
  reason: 'within_balance' | 'overage_allowed' | 'insufficient_credits' | 'overage_limit_reached';
}

/**
 * The real-time entitlement check: what would this cost, and may it run? Reads only; it changes
 * nothing and locks no rows. An event is priced exactly as ingestion would price it now.
 * Beyond the available credits it is allowed only with overage on, and within the plan's overage
 * limit for the current period if the plan sets one. Ingestion itself never refuses usage that
 * already happened: it goes to overage or debt. Its reads are made together (`Store.reads`): one
 * snapshot, and on SQLite one read lock instead of one per statement.
 */
export async function authorize(engine: Engine, ref: string, input: AuthorizeInput): Promise<Outcome<Authorization>> {
  const check = new FieldCheck();
  if ((input.credits === undefined) === (input.event === undefined)) check.add('credits', 'one_of_required', 'Give exactly one of credits or event.');
  const credits = input.credits !== undefined ? check.credits('credits', input.credits) : null;
  if (check.errors.length) return invalid(check.errors);
  return engine.store.reads((tx) => authorizeWithin(engine, tx, ref, input, credits));
}

const noSubscriptions: readonly SubscriptionRecord[] = [];

async function authorizeWithin(engine: Engine, tx: StoreTx, ref: string, input: AuthorizeInput, credits: bigint | null): Promise<Outcome<Authorization>> {
  // The customer, whether it has subscriptions and its active grants, in one statement.
  const found = await tx.customers.findForAuthorization(ref);
  if (!found) return notFound('customer', ref);
  const { customer } = found;
  const nowMs = await customerNow(engine, tx, customer);
  // Only the sum of what the grants can pay now is needed, not a funding in burn-down order.
  const availableMicro = availableOfGrants(found.grants, nowMs);
  // The subscription timeline is read once, and only for a customer that has one.
  const subs = found.hasSubscriptions ? await tx.billing.subscriptionsOf([customer.id]) : noSubscriptions;
  let costMicro = credits ?? 0n;
  if (input.event !== undefined) {
    const candidate = validateUnstoredUsageEvent({ id: 'authorize', ...(input.event as object) }, customer.id);
    if (isRejection(candidate)) return invalid([{ field: `event.${candidate.field ?? ''}`, code: candidate.code, message: candidate.message }]);
    const priced = await eventCost(tx, customer, subs, candidate, candidate.timestampMs ?? nowMs);
    if (!priced.ok) return priced;
    costMicro += priced.value;
  }
  if (costMicro <= availableMicro) return ok({ allowed: true, availableMicro, costMicro, reason: 'within_balance' });
  if (!customer.overageEnabled) return ok({ allowed: false, availableMicro, costMicro, reason: 'insufficient_credits' });
  // A plan may cap overage per period: what this would add to the period's overage must fit.
  const sub = subs.find((s) => s.status !== 'canceled' && s.periodIndex >= 0);
  const plan = sub ? (await tx.billing.plansById([sub.planId])).get(sub.planId) : undefined;
  if (sub && plan?.overageLimitMicro != null) {
    const usedMicro = await tx.billing.overageConsumed(customer.id, sub.periodStartMs, nowMs + 1);
    if (usedMicro + (costMicro - availableMicro) > plan.overageLimitMicro) {
      return ok({ allowed: false, availableMicro, costMicro, reason: 'overage_limit_reached' });
    }
  }
  return ok({ allowed: true, availableMicro, costMicro, reason: 'overage_allowed' });
}

/**
 * What the event would cost at `atMs`: each matching meter rated from the period total it would
 * move, as ingestion rates it. Every meter is read first (an unreadable property refuses the
 * event whole), then the totals and the unique values seen are read once for all meters.
 */
async function eventCost(
  tx: StoreTx, customer: CustomerRecord, subs: readonly SubscriptionRecord[], event: Omit<UsageCandidate, 'bodyHash'>, atMs: number,
): Promise<Outcome<bigint>> {
  const meters = (await tx.usage.metersForTypes([event.type])).filter((m) => meterMatches(m, event.type, event.properties));
  if (meters.length === 0) return ok(0n);
  const readings: Reading[] = [];
  for (const meter of meters) {
    const reading = readEvent(meter, event.properties);
    if (!reading.ok) return invalid([{ field: `event.properties.${meter.valueProperty ?? ''}`, code: reading.problem.code, message: reading.problem.message }]);
    readings.push(reading.value);
  }
  const usage = await usageContextOf(tx, subs);
  const periodStartMs = usage.periodStart(customer.id, atMs);
  const uniques: UniqueValueKey[] = [];
  readings.forEach((reading, i) => {
    if (reading.kind === 'unique') uniques.push({ customerId: customer.id, meterId: meters[i]!.id, periodStartMs, value: reading.value });
  });
  const quantities = await tx.usage.quantitiesIn(customer.id, periodStartMs, meters.map((m) => m.id));
  const seen = uniques.length > 0 ? await tx.usage.seenValues(uniques) : null;
  let costMicro = 0n;
  meters.forEach((meter, i) => {
    const reading = readings[i]!;
    const before = quantities.get(meter.id) ?? 0n;
    const wasSeen = reading.kind === 'unique' && seen!.has(uniqueKey({ customerId: customer.id, meterId: meter.id, periodStartMs, value: reading.value }));
    costMicro += marginalCost(usage.rate(customer.id, meter, atMs), before, nextQuantity(meter.aggregation, before, reading, wasSeen));
  });
  return ok(costMicro);
}

export { formatCredits };
