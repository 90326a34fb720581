import { invalid, notFound, ok, type Outcome } from '../core/errors.ts';
import { formatCredits } from '../core/decimal.ts';
import { marginalCost } from '../core/rating.ts';
import { meterMatches, nextQuantity, readEvent, type Reading } from '../core/metering.ts';
import type { CustomerRecord, MeterRecord, SubscriptionRecord, TimelineSubscription } from '../store/records.ts';
import type { PlanRecord } from '../store/queries/billing.ts';
import { calendarMonthAt } from '../core/periods.ts';
import { uniqueKey, type StoreTx, type UniqueValueKey } from '../store/store.ts';
import { customerNow, type Engine } from './context.ts';
import { FieldCheck } from './input.ts';
import { limits } from './limits.ts';
import { availableOfGrants } from './funding.ts';
import { isGrantFrozen, isGrantLiveAt, type UsableGrant } from '../core/burn-down.ts';
import { usageContextFrom, usageContextOf, withoutSubscriptions, type UsageContext } from './usage-context.ts';
import { isRejection, outsideWindow, validateUnstoredUsageEvent, type UsageCandidate } from './usage-validation.ts';

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
 * already happened: it goes to overage or debt. The common case is one statement, which is its own
 * snapshot (`quickAuthorization`); every other case reads together (`Store.reads`): one snapshot,
 * and on SQLite one read lock instead of one per statement.
 */
export async function authorize(engine: Engine, ref: string, input: AuthorizeInput): Promise<Outcome<Authorization>> {
  const credits = creditsOf(input);
  if (!credits.ok) return credits;
  const quick = generalOnly.of(engine).has(ref) ? null : await quickAuthorization(engine, ref, input, credits.value);
  return quick ?? engine.store.reads((tx) => authorizeWithin(engine, tx, ref, input, credits.value));
}

/**
 * `authorize` always by its general path: several reads in one snapshot (`Store.reads`). The
 * quick path must answer exactly as this does; the tests compare the two.
 */
export async function authorizeInSnapshot(engine: Engine, ref: string, input: AuthorizeInput): Promise<Outcome<Authorization>> {
  const credits = creditsOf(input);
  if (!credits.ok) return credits;
  return engine.store.reads((tx) => authorizeWithin(engine, tx, ref, input, credits.value));
}

/** Exactly one of the two forms; the credits form's amount (null for the event form). */
function creditsOf(input: AuthorizeInput): Outcome<bigint | null> {
  const check = new FieldCheck();
  if ((input.credits === undefined) === (input.event === undefined)) check.add('credits', 'one_of_required', 'Give exactly one of credits or event.');
  const credits = input.credits !== undefined ? check.credits('credits', input.credits) : null;
  return check.errors.length ? invalid(check.errors) : ok(credits);
}

/** The most meters one quick authorization reads totals for (a column each); more take the general path. */
const quickMetersMax = 8;

/**
 * A map kept per engine that starts again once it holds `max` keys: what authorization remembers
 * between requests. Forgetting only costs a read, never a wrong answer.
 */
class PerEngine<V> {
  private readonly maps = new WeakMap<Engine, Map<string, V>>();
  constructor(private readonly max: number) {}

  of(engine: Engine): Map<string, V> {
    let map = this.maps.get(engine);
    if (map === undefined) this.maps.set(engine, (map = new Map()));
    return map;
  }

  set(engine: Engine, key: string, value: V): void {
    const map = this.of(engine);
    if (map.size >= this.max && !map.has(key)) map.clear();
    map.set(key, value);
  }
}

/**
 * The meters of each event type as the general path last read them (1,000 types). Meters are
 * never changed or removed, so a type's list is current exactly while the number of meters
 * counting that type is the same; both paths read that number in their first statement and check it.
 */
const meterCatalogues = new PerEngine<readonly MeterRecord[]>(1000);

/**
 * Plans by id as the general path last read them (1,000). A plan's terms never change once
 * written (new terms are a new version, a plan of its own), and a plan is removed only while no
 * subscription names it, so a copy read once stays current for every phase that names it. (Its
 * `subscribed` mark does move; authorization does not read it.)
 */
const planCatalogues = new PerEngine<PlanRecord>(1000);

async function plansOf(engine: Engine, tx: StoreTx, ids: readonly string[]): Promise<Map<string, PlanRecord>> {
  const catalogue = planCatalogues.of(engine);
  const found = new Map<string, PlanRecord>();
  const missing: string[] = [];
  for (const id of ids) {
    const known = catalogue.get(id);
    if (known !== undefined) found.set(id, known);
    else if (!missing.includes(id)) missing.push(id);
  }
  if (missing.length === 0) return found;
  for (const [id, plan] of await tx.billing.plansById(missing)) {
    found.set(id, plan);
    planCatalogues.set(engine, id, plan);
  }
  return found;
}

/**
 * The references of customers the general path last found on a test clock (10,000): their time is
 * the clock's, which only the general path reads, so they go to it directly instead of paying for
 * the quick statement first. It only chooses the path (both answer alike).
 */
const generalOnly = new PerEngine<true>(10_000);

/**
 * What authorization remembers of a customer it has found subscribed (10,000 references): the
 * subscriptions the general path read, and once the quick path has read the timeline itself, the
 * timeline's text and the usage context worked out from it. The quick path guesses from this the
 * period whose totals to read, and its statement reads the timeline again: when the text is the
 * same, so are the period and the rates; when it is not (a renewal, a plan change, a cancellation
 * since), the period is worked out again and the answer stands only if it is the one guessed.
 */
interface SubscribedCustomer {
  subscriptions: readonly TimelineSubscription[];
  seen: { text: string; usage: UsageContext } | null;
  /**
   * Set once an answer for the customer had to check its plan's overage limit: from then on the
   * quick statement also reads the overage consumed since the period's start guessed from
   * `subscriptions`, which the answer uses only if the timeline read gives the same start.
   */
  checksOverage: boolean;
}
const subscribedCustomers = new PerEngine<SubscribedCustomer>(10_000);

/** The customer reference checked with an event before the customer is read: any valid one. */
const unreadCustomerRef = 'cus_authorize';

/** The plans of `ids` from memory, or null when one of them is not there yet. */
function plansInMemory(engine: Engine, ids: Iterable<string>): Map<string, PlanRecord> | null {
  const catalogue = planCatalogues.of(engine);
  const found = new Map<string, PlanRecord>();
  for (const id of ids) {
    const plan = catalogue.get(id);
    if (plan === undefined) return null;
    found.set(id, plan);
  }
  return found;
}

/**
 * The common case in one statement (`CustomerQueries.findForQuickAuthorization`), which is its
 * own snapshot, so no read transaction is opened: a customer not on a test clock, and an event of
 * a type whose meters the general path has read before, none of them counting unique values.
 * Without a subscription the period is the calendar month and the rates are the meters' own. With
 * one (a customer the general path has seen subscribed), the statement also reads the subscriptions
 * and their phases, and the totals of the period guessed from the timeline seen last: the period
 * and the rates are worked out from the timeline read, as ingestion works them out, and the answer
 * stands only if that period is the one guessed. Answers null for anything else (an unknown
 * customer, a refusal, a stale meter list, a wrong guess, a plan not in memory, a plan's overage
 * limit to check before the statement reads the period's overage, `checksOverage`), and the general
 * path answers instead, from the start.
 */
async function quickAuthorization(engine: Engine, ref: string, input: AuthorizeInput, credits: bigint | null): Promise<Outcome<Authorization> | null> {
  let eventType: string | null = null;
  let known: readonly MeterRecord[] = [];
  let meters: MeterRecord[] = [];
  const readings: Reading[] = [];
  let eventAtMs: number | null = null;
  if (input.event !== undefined) {
    const candidate = validateUnstoredUsageEvent({ id: 'authorize', ...(input.event as object) }, unreadCustomerRef);
    // An event that names a customer is checked against the one asked by the general path.
    if (isRejection(candidate) || (input.event as { customer?: unknown }).customer !== undefined) return null;
    const remembered = meterCatalogues.of(engine).get(candidate.type);
    if (remembered === undefined) return null;
    known = remembered;
    meters = known.filter((m) => meterMatches(m, candidate.type, candidate.properties));
    if (meters.length > quickMetersMax) return null;
    for (const meter of meters) {
      const reading = readEvent(meter, candidate.properties);
      if (!reading.ok || reading.value.kind === 'unique') return null;
      readings.push(reading.value);
    }
    eventType = candidate.type;
    eventAtMs = candidate.timestampMs ?? null;
  }
  const nowMs = engine.clock.now();
  const atMs = eventAtMs ?? nowMs;
  // Outside ingestion's window: refused, by the general path.
  if (outsideWindow(engine.settings, atMs, nowMs) !== null) return null;
  const subscribed = subscribedCustomers.of(engine).get(ref);
  // The period whose totals are read: the calendar month, or the one the timeline seen last gives.
  let guessMs = calendarMonthAt(atMs).startMs;
  if (subscribed !== undefined && meters.length > 0) {
    const customerId = subscribed.subscriptions[0]!.customerId;
    guessMs = (subscribed.seen?.usage ?? usageContextFrom(subscribed.subscriptions, [], planCatalogues.of(engine))).periodStart(customerId, atMs);
  }
  const overageFrom = subscribed?.checksOverage ? overageSubscriptionOf(subscribed.subscriptions)?.periodStartMs : undefined;
  const overageWindow = overageFrom === undefined || overageFrom > nowMs ? null : { fromMs: overageFrom, toMs: nowMs + 1 };
  const found = await engine.store.read.customers.findForQuickAuthorization(
    ref, eventType, meters.map((m) => m.id), guessMs, subscribed !== undefined, overageWindow);
  if (found === null || found.testClockId !== null) return null;
  if (eventType !== null && found.metersOfType !== known.length) return null;
  let usage: UsageContext = withoutSubscriptions;
  let overageSubscription: TimelineSubscription | undefined;
  if (found.timeline === null) {
    if (found.hasSubscriptions) return null;
  } else if (subscribed!.seen !== null && subscribed!.seen.text === found.timeline.text) {
    // The timeline the guess came from: the same period and rates.
    usage = subscribed!.seen.usage;
    overageSubscription = overageSubscriptionOf(subscribed!.subscriptions);
  } else {
    const timeline = found.timeline.parse();
    if (timeline.subscriptions.length === 0) subscribedCustomers.of(engine).delete(ref);
    overageSubscription = overageSubscriptionOf(timeline.subscriptions);
    if (meters.length > 0) {
      // As `usageContextOf`: the plans its phases name.
      const plans = plansInMemory(engine, timeline.phases.map((p) => p.planId));
      if (plans === null) return null;
      usage = usageContextFrom(timeline.subscriptions, timeline.phases, plans);
      if (usage.periodStart(found.customerId, atMs) !== guessMs) return null;
      if (timeline.subscriptions.length > 0) {
        subscribedCustomers.set(engine, ref, { subscriptions: timeline.subscriptions, seen: { text: found.timeline.text, usage }, checksOverage: subscribed!.checksOverage });
      }
    }
  }
  let costMicro = credits ?? 0n;
  let eventMicro = 0n;
  let beyond = false;
  meters.forEach((meter, i) => {
    const before = found.totals[i]!;
    const after = nextQuantity(meter.aggregation, before, readings[i]!, false);
    if (after > limits.creditsMaxMicro) beyond = true;
    eventMicro += marginalCost(usage.rate(found.customerId, meter, atMs), before, after);
  });
  // Beyond what ingestion stores: refused, by the general path.
  if (beyond || eventMicro > limits.creditsMaxMicro) return null;
  costMicro += eventMicro;
  // An event stamped ahead is paid by the grants live at its time, which the statement read; one
  // stamped before now may be paid by grants expired since, which the general path reads.
  if (atMs < nowMs) return null;
  const availableMicro = availableOfGrants(found.grants, atMs);
  const decided = decision(found.overageEnabled, availableMicro, costMicro);
  if (decided !== null) return ok(decided);
  if (overageSubscription !== undefined) {
    // A plan may cap overage per period: what this would add to the period's overage must fit.
    const plan = planCatalogues.of(engine).get(overageSubscription.planId);
    if (plan === undefined) return null;
    if (plan.overageLimitMicro != null) {
      if (found.overageMicro === null || overageSubscription.periodStartMs !== overageFrom) {
        // Not read, or read since another start: the general path checks, and next time this statement reads it.
        const remembered = subscribedCustomers.of(engine).get(ref);
        if (remembered !== undefined) remembered.checksOverage = true;
        return null;
      }
      if (found.overageMicro + (costMicro - availableMicro) > plan.overageLimitMicro) {
        return ok({ allowed: false, availableMicro, costMicro, reason: 'overage_limit_reached' });
      }
    }
  }
  return ok({ allowed: true, availableMicro, costMicro, reason: 'overage_allowed' });
}

/** The subscription whose plan's overage limit applies, as the general path picks it. */
function overageSubscriptionOf<S extends TimelineSubscription>(subs: readonly S[]): S | undefined {
  return subs.find((s) => s.status !== 'canceled' && s.periodIndex >= 0);
}

/** The answer decided by the balance alone, or null when overage is on and the cost is beyond it. */
function decision(overageEnabled: boolean, availableMicro: bigint, costMicro: bigint): Authorization | null {
  if (costMicro <= availableMicro) return { allowed: true, availableMicro, costMicro, reason: 'within_balance' };
  if (!overageEnabled) return { allowed: false, availableMicro, costMicro, reason: 'insufficient_credits' };
  return null;
}

const noSubscriptions: readonly SubscriptionRecord[] = [];

async function authorizeWithin(engine: Engine, tx: StoreTx, ref: string, input: AuthorizeInput, credits: bigint | null): Promise<Outcome<Authorization>> {
  // The customer, whether it has subscriptions and its active grants, in one statement; with
  // them, how many meters count the event's type when its meters are in memory.
  const asked = input.event !== undefined && typeof input.event === 'object' && input.event !== null ? (input.event as { type?: unknown }).type : undefined;
  const knownType = typeof asked === 'string' && meterCatalogues.of(engine).has(asked) ? asked : null;
  const found = await tx.customers.findForAuthorization(ref, knownType);
  if (!found) return notFound('customer', ref);
  const { customer } = found;
  if (customer.testClockId !== null) generalOnly.set(engine, ref, true);
  else generalOnly.of(engine).delete(ref);
  const nowMs = await customerNow(engine, tx, customer);
  // Only the sum of what the grants can pay is needed, not a funding in burn-down order.
  let availableMicro = availableOfGrants(found.grants, nowMs);
  // The subscription timeline is read once, and only for a customer that has one.
  const subs = found.hasSubscriptions ? await tx.billing.subscriptionsOf([customer.id]) : noSubscriptions;
  if (subs.length > 0 && customer.testClockId === null) {
    subscribedCustomers.set(engine, ref, { subscriptions: subs, seen: null, checksOverage: subscribedCustomers.of(engine).get(ref)?.checksOverage ?? false });
  }
  else subscribedCustomers.of(engine).delete(ref);
  let costMicro = credits ?? 0n;
  if (input.event !== undefined) {
    const candidate = validateUnstoredUsageEvent({ id: 'authorize', ...(input.event as object) }, customer.id);
    if (isRejection(candidate)) return invalid([{ field: `event.${candidate.field ?? ''}`, code: candidate.code, message: candidate.message }]);
    const named = (input.event as { customer?: unknown }).customer;
    if (named !== undefined && named !== customer.id && (customer.externalId === null || named !== customer.externalId)) {
      return invalid([{ field: 'event.customer', code: 'customer_mismatch', message: `The authorization is asked for customer ${customer.id}; the event names another.` }]);
    }
    const atMs = candidate.timestampMs ?? nowMs;
    const outside = outsideWindow(engine.settings, atMs, nowMs);
    if (outside !== null) return invalid([{ field: 'event.timestamp', ...outside }]);
    const metersOfType = candidate.type === knownType ? found.metersOfType : null;
    const priced = await eventCost(engine, tx, customer, subs, candidate, atMs, metersOfType);
    if (!priced.ok) return priced;
    costMicro += priced.value;
    if (atMs !== nowMs) availableMicro = await availableAt(tx, customer.id, found.grants, atMs, nowMs);
  }
  const decided = decision(customer.overageEnabled, availableMicro, costMicro);
  if (decided !== null) return ok(decided);
  // A plan may cap overage per period: what this would add to the period's overage must fit.
  const sub = overageSubscriptionOf(subs);
  const plan = sub ? (await plansOf(engine, tx, [sub.planId])).get(sub.planId) : undefined;
  if (sub && plan?.overageLimitMicro != null) {
    const usedMicro = await tx.billing.overageConsumed(customer.id, sub.periodStartMs, nowMs + 1);
    if (usedMicro + (costMicro - availableMicro) > plan.overageLimitMicro) {
      return ok({ allowed: false, availableMicro, costMicro, reason: 'overage_limit_reached' });
    }
  }
  return ok({ allowed: true, availableMicro, costMicro, reason: 'overage_allowed' });
}

/**
 * What the grants could pay for an event stamped `atMs` (PRODUCT §5, as ingestion pays it): those
 * live and not frozen then with credits left, and, for a time before now, what the expiry of a
 * grant live then moved to `expired` and no late event took back (a late event takes it back).
 */
async function availableAt(tx: StoreTx, customerId: string, grants: readonly UsableGrant[], atMs: number, nowMs: number): Promise<bigint> {
  let total = availableOfGrants(grants, atMs);
  if (atMs >= nowMs) return total;
  for (const g of await tx.ledger.expiredGrantsSince([customerId], atMs)) {
    if (g.expiredMicro > 0n && isGrantLiveAt(g, atMs) && !isGrantFrozen(g, atMs)) total += g.expiredMicro;
  }
  return total;
}

/**
 * What the event would cost at `atMs`: each matching meter rated from the period total it would
 * move, as ingestion rates it. Every meter is read first (an unreadable property refuses the
 * event whole), then the totals and the unique values seen are read once for all meters. The
 * type's meters come from memory when `metersOfType`, counted in this snapshot, says the list
 * there is current; the plans always do (`plansOf`).
 */
async function eventCost(
  engine: Engine, tx: StoreTx, customer: CustomerRecord, subs: readonly SubscriptionRecord[], event: Omit<UsageCandidate, 'bodyHash'>, atMs: number,
  metersOfType: number | null,
): Promise<Outcome<bigint>> {
  const remembered = meterCatalogues.of(engine).get(event.type);
  let ofType: readonly MeterRecord[];
  if (remembered !== undefined && remembered.length === metersOfType) ofType = remembered;
  else {
    ofType = await tx.usage.metersForTypes([event.type]);
    meterCatalogues.set(engine, event.type, ofType);
  }
  const meters = ofType.filter((m) => meterMatches(m, event.type, event.properties));
  if (meters.length === 0) return ok(0n);
  const readings: Reading[] = [];
  for (const meter of meters) {
    const reading = readEvent(meter, event.properties);
    if (!reading.ok) return invalid([{ field: `event.properties.${meter.valueProperty ?? ''}`, code: reading.problem.code, message: reading.problem.message }]);
    readings.push(reading.value);
  }
  const usage = await usageContextOf(tx, subs, (ids) => plansOf(engine, tx, ids));
  const periodStartMs = usage.periodStart(customer.id, atMs);
  const uniques: UniqueValueKey[] = [];
  readings.forEach((reading, i) => {
    if (reading.kind === 'unique') uniques.push({ customerId: customer.id, meterId: meters[i]!.id, periodStartMs, value: reading.value });
  });
  const quantities = await tx.usage.quantitiesIn(customer.id, periodStartMs, meters.map((m) => m.id));
  const seen = uniques.length > 0 ? await tx.usage.seenValues(uniques) : null;
  let costMicro = 0n;
  let beyond = false;
  meters.forEach((meter, i) => {
    const reading = readings[i]!;
    const before = quantities.get(meter.id) ?? 0n;
    const wasSeen = reading.kind === 'unique' && seen!.has(uniqueKey({ customerId: customer.id, meterId: meter.id, periodStartMs, value: reading.value }));
    const after = nextQuantity(meter.aggregation, before, reading, wasSeen);
    if (after > limits.creditsMaxMicro) beyond = true;
    costMicro += marginalCost(usage.rate(customer.id, meter, atMs), before, after);
  });
  // As ingestion: an event that would charge, or bring a period's quantity, beyond the largest
  // amount stored is refused, so it is never allowed here.
  if (beyond || costMicro > limits.creditsMaxMicro) {
    return invalid([{ field: 'event.properties', code: 'amount_out_of_range', message: 'This event would charge or count more than the largest amount Tally stores.' }]);
  }
  return ok(costMicro);
}

export { formatCredits };
