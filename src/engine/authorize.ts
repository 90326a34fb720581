import { invalid, notFound, ok, type Outcome } from '../core/errors.ts';
import { formatCredits } from '../core/decimal.ts';
import { marginalCost } from '../core/rating.ts';
import { meterMatches, nextQuantity, readEvent } from '../core/metering.ts';
import { totalKey, uniqueKey } from '../store/store.ts';
import { customerNows, type Engine } from './context.ts';
import { FieldCheck } from './input.ts';
import { availableOf, loadFunding } from './funding.ts';
import { loadUsageContext } from './usage-context.ts';
import { isRejection, validateUsageEvent } from './usage-validation.ts';

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
 * nothing and takes no locks. An event is priced exactly as ingestion would price it now.
 * Beyond the available credits it is allowed only with overage on, and within the plan's overage
 * limit for the current period if the plan sets one. Ingestion itself never refuses usage that
 * already happened: it goes to overage or debt.
 */
export async function authorize(engine: Engine, ref: string, input: AuthorizeInput): Promise<Outcome<Authorization>> {
  const check = new FieldCheck();
  if ((input.credits === undefined) === (input.event === undefined)) check.add('credits', 'one_of_required', 'Give exactly one of credits or event.');
  const credits = input.credits !== undefined ? check.credits('credits', input.credits) : null;
  if (check.errors.length) return invalid(check.errors);
  const tx = engine.store.read;
  const customer = await tx.customers.find(ref);
  if (!customer) return notFound('customer', ref);
  const nows = await customerNows(engine, tx, [customer]);
  const funding = (await loadFunding(tx, [customer], nows)).get(customer.id)!;
  const availableMicro = availableOf(funding);
  let costMicro = credits ?? 0n;
  if (input.event !== undefined) {
    const candidate = validateUsageEvent({ id: 'authorize', ...(input.event as object) }, 0, customer.id);
    if (isRejection(candidate)) return invalid([{ field: `event.${candidate.field ?? ''}`, code: candidate.code, message: candidate.message }]);
    const meters = (await tx.usage.metersForTypes([candidate.type])).filter((m) => meterMatches(m, candidate.type, candidate.properties));
    const atMs = candidate.timestampMs ?? nows.get(customer.id)!;
    const usage = await loadUsageContext(tx, [customer]);
    for (const meter of meters) {
      const reading = readEvent(meter, candidate.properties);
      if (!reading.ok) return invalid([{ field: `event.properties.${meter.valueProperty ?? ''}`, code: reading.problem.code, message: reading.problem.message }]);
      const key = { customerId: customer.id, meterId: meter.id, periodStartMs: usage.periodStart(customer.id, atMs) };
      const before = (await tx.usage.totals([key])).get(totalKey(key))?.quantityMicro ?? 0n;
      const seen = reading.value.kind === 'unique' ? (await tx.usage.seenValues([{ ...key, value: reading.value.value }])).has(uniqueKey({ ...key, value: reading.value.value })) : false;
      costMicro += marginalCost(usage.rate(customer.id, meter, atMs), before, nextQuantity(meter.aggregation, before, reading.value, seen));
    }
  }
  if (costMicro <= availableMicro) return ok({ allowed: true, availableMicro, costMicro, reason: 'within_balance' });
  if (!customer.overageEnabled) return ok({ allowed: false, availableMicro, costMicro, reason: 'insufficient_credits' });
  // A plan may cap overage per period: what this would add to the period's overage must fit.
  const nowMs = nows.get(customer.id)!;
  const sub = (await tx.billing.subscriptionsOf([customer.id])).find((s) => s.status !== 'canceled' && s.periodIndex >= 0);
  const plan = sub ? (await tx.billing.plansById([sub.planId])).get(sub.planId) : undefined;
  if (sub && plan?.overageLimitMicro != null) {
    const usedMicro = await tx.billing.overageConsumed(customer.id, sub.periodStartMs, nowMs + 1);
    if (usedMicro + (costMicro - availableMicro) > plan.overageLimitMicro) {
      return ok({ allowed: false, availableMicro, costMicro, reason: 'overage_limit_reached' });
    }
  }
  return ok({ allowed: true, availableMicro, costMicro, reason: 'overage_allowed' });
}

export { formatCredits };
