import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { dialects } from '../support/databases.ts';
import { must, useEngine } from '../support/engine.ts';
import { authorize, authorizeInSnapshot, type AuthorizeInput } from '../../src/engine/authorize.ts';
import type { Engine } from '../../src/engine/context.ts';
import { createCustomer } from '../../src/engine/customers.ts';
import { createGrant } from '../../src/engine/grants.ts';
import { ingestEvents } from '../../src/engine/ingest-events.ts';
import { createMeter } from '../../src/engine/meters.ts';
import { createPlan } from '../../src/engine/plans.ts';
import { cancelSubscription, changeSubscription, createSubscription } from '../../src/engine/subscriptions.ts';
import { createTestClock } from '../../src/engine/test-clocks.ts';
import { formatCredits } from '../../src/core/decimal.ts';
import { BillingQueries } from '../../src/store/queries/billing.ts';
import { CustomerQueries } from '../../src/store/queries/customers.ts';
import { UsageQueries } from '../../src/store/queries/usage.ts';

const dayMs = 86_400_000;

/**
 * Counts, while `fn` runs, the general path's snapshots (`Store.reads`; an authorization answered
 * by the quick path opens none) and the quick path's statements. Both still run.
 */
async function pathsDuring<T>(engine: Engine, fn: () => Promise<T>): Promise<{ value: T; snapshots: number; quick: number }> {
  const store = engine.store;
  const reads = store.reads.bind(store);
  const quickRead = CustomerQueries.prototype.findForQuickAuthorization;
  const counts = { snapshots: 0, quick: 0 };
  store.reads = (read) => {
    counts.snapshots += 1;
    return reads(read);
  };
  CustomerQueries.prototype.findForQuickAuthorization = function (this: CustomerQueries, ...args) {
    counts.quick += 1;
    return quickRead.apply(this, args);
  };
  try {
    const value = await fn();
    return { value, ...counts };
  } finally {
    store.reads = reads;
    CustomerQueries.prototype.findForQuickAuthorization = quickRead;
  }
}

async function snapshotsDuring<T>(engine: Engine, fn: () => Promise<T>): Promise<{ value: T; snapshots: number }> {
  const { value, snapshots } = await pathsDuring(engine, fn);
  return { value, snapshots };
}

/**
 * Authorization's two paths (PRODUCT §5): the one-statement path for a customer without a
 * subscription or a test clock, and the general path that reads in one snapshot. Whatever the
 * customer, grants, history and request, both must answer the same.
 */
describe.each(dialects)('authorization paths on %s', (dialect) => {
  const ctx = useEngine(dialect);
  let serial = 0;
  const unique = (name: string): string => `${name}_${dialect}_${++serial}`;

  it('answers from one statement once the event type is known, and sees a meter added since', async () => {
    const { engine } = ctx;
    const customer = must(await createCustomer(engine, { currency: 'USD', external_id: unique('ext') }));
    must(await createGrant(engine, { customer: customer.id, credits: '100', category: 'paid', source: 'purchase' }));
    const type = unique('call');
    must(await createMeter(engine, { code: unique('units'), event_type: type, aggregation: 'sum', value_property: 'n', rate: { model: 'per_unit', credits_per_unit: '2' } }));
    const ask: AuthorizeInput = { event: { type, properties: { n: 5 } } };

    // The first event of a type takes the general path, which reads its meters.
    const first = await snapshotsDuring(engine, () => authorize(engine, customer.id, ask));
    expect(first).toEqual({ value: { ok: true, value: { allowed: true, availableMicro: 100_000_000n, costMicro: 10_000_000n, reason: 'within_balance' } }, snapshots: 1 });
    const second = await snapshotsDuring(engine, () => authorize(engine, customer.externalId!, ask));
    expect(second).toEqual({ value: first.value, snapshots: 0 });
    const credits = await snapshotsDuring(engine, () => authorize(engine, customer.id, { credits: '100.5' }));
    expect(credits).toEqual({ value: { ok: true, value: { allowed: false, availableMicro: 100_000_000n, costMicro: 100_500_000n, reason: 'insufficient_credits' } }, snapshots: 0 });

    // A meter created afterwards counts the same type: the quick path sees the count change and
    // the general path prices both meters; then the quick path knows both.
    must(await createMeter(engine, { code: unique('calls'), event_type: type, aggregation: 'count', rate: { model: 'per_unit', credits_per_unit: '0.25' } }));
    const third = await snapshotsDuring(engine, () => authorize(engine, customer.id, ask));
    expect(third).toEqual({ value: { ok: true, value: { allowed: true, availableMicro: 100_000_000n, costMicro: 10_250_000n, reason: 'within_balance' } }, snapshots: 1 });
    const fourth = await snapshotsDuring(engine, () => authorize(engine, customer.id, ask));
    expect(fourth).toEqual({ value: third.value, snapshots: 0 });

    // After usage the period total moves the price as ingestion would.
    const [used] = await ingestEvents(engine, [{ id: unique('evt'), customer: customer.id, type, properties: { n: 5 } }]);
    expect(used).toMatchObject({ status: 'accepted', credits: '10.25' });
    const after = await snapshotsDuring(engine, () => authorize(engine, customer.id, ask));
    expect(after).toEqual({ value: { ok: true, value: { allowed: true, availableMicro: 89_750_000n, costMicro: 10_250_000n, reason: 'within_balance' } }, snapshots: 0 });
  });

  it('answers a subscribed customer from one statement once it has seen its timeline, and sees the timeline change', async () => {
    const { engine } = ctx;
    const type = unique('call');
    // Graduated, so that a price depends on the period's total: 2 a unit up to 5, then 1.
    const meter = must(await createMeter(engine, {
      code: unique('units'), event_type: type, aggregation: 'sum', value_property: 'n',
      rate: { model: 'graduated', tiers: [{ up_to: 5, credits_per_unit: '2' }, { up_to: null, credits_per_unit: '1' }] },
    }));
    const planWith = async (rate: string) => must(await createPlan(engine, {
      code: unique('plan'), name: 'Plan', currency: 'USD', interval: 'month', amount: 0, included_credits: '0',
      rates: { [meter.code]: { model: 'per_unit', credits_per_unit: rate } },
    }));
    const [plan, dearer] = [await planWith('3'), await planWith('5')];
    const plain = must(await createCustomer(engine, { currency: 'USD' }));
    const subscribed = must(await createCustomer(engine, { currency: 'USD' }));
    const subscription = must(await createSubscription(engine, { customer: subscribed.id, plan: plan.id, start_at: new Date(Date.now() - 2 * dayMs).toISOString() }));
    for (const c of [plain, subscribed]) must(await createGrant(engine, { customer: c.id, credits: '50', category: 'paid', source: 'purchase' }));
    const ask: AuthorizeInput = { event: { type, properties: { n: 4 } } };
    must(await authorize(engine, plain.id, ask)); // the type's meters, read once
    // Usage this period, counted at the plan's rate into the subscription's period (not the calendar month's).
    await ingestEvents(engine, [{ id: unique('evt'), customer: subscribed.id, type, properties: { n: 6 } }]);

    const priced = (costMicro: bigint, availableMicro = 50_000_000n - 18_000_000n) => ({ ok: true, value: { allowed: true, availableMicro, costMicro, reason: 'within_balance' } });
    // The plan's rate: 4 units at 3. The quick statement finds a subscription it was not told of, the general path answers.
    expect(await pathsDuring(engine, () => authorize(engine, subscribed.id, ask))).toEqual({ value: priced(12_000_000n), snapshots: 1, quick: 1 });
    // From then on one statement answers, reading the timeline and the period it gives.
    expect(await pathsDuring(engine, () => authorize(engine, subscribed.id, ask))).toEqual({ value: priced(12_000_000n), snapshots: 0, quick: 1 });
    expect(await pathsDuring(engine, () => authorize(engine, subscribed.id, { credits: '32' }))).toEqual({
      value: { ok: true, value: { allowed: true, availableMicro: 32_000_000n, costMicro: 32_000_000n, reason: 'within_balance' } }, snapshots: 0, quick: 1,
    });
    // The general path takes the type's meters and the plans from memory once it has read them.
    const reads = { meters: 0, plans: 0 };
    const { metersForTypes } = UsageQueries.prototype;
    const { plansById } = BillingQueries.prototype;
    UsageQueries.prototype.metersForTypes = function (this: UsageQueries, ...args) {
      reads.meters += 1;
      return metersForTypes.apply(this, args);
    };
    BillingQueries.prototype.plansById = function (this: BillingQueries, ...args) {
      reads.plans += 1;
      return plansById.apply(this, args);
    };
    try {
      expect(await authorizeInSnapshot(engine, subscribed.id, ask)).toEqual(priced(12_000_000n));
    } finally {
      UsageQueries.prototype.metersForTypes = metersForTypes;
      BillingQueries.prototype.plansById = plansById;
    }
    expect(reads).toEqual({ meters: 0, plans: 0 });

    // A plan change today: same period, a new phase on a plan not yet in memory. The quick path
    // reads the new phase, cannot price it from memory and hands over; then it knows the plan.
    must(await changeSubscription(engine, subscription.id, { plan: dearer.id, timing: 'immediate' }));
    const afterChange = await pathsDuring(engine, () => authorize(engine, subscribed.id, ask));
    expect(afterChange).toEqual({ value: await authorizeInSnapshot(engine, subscribed.id, ask), snapshots: 1, quick: 1 });
    expect(afterChange.value.ok && afterChange.value.value.costMicro).toBe(20_000_000n);
    expect(await pathsDuring(engine, () => authorize(engine, subscribed.id, ask))).toEqual({ ...afterChange, snapshots: 0 });

    // Canceled now: the event falls in the calendar month at the meter's own rate, from that month's
    // total (none: the 6 units were counted in the subscription's period). The totals read for the
    // old guess, the subscription's period, would price it at 4 (6 units already, so 1 a unit).
    must(await cancelSubscription(engine, subscription.id, { timing: 'immediate' }));
    const afterCancel = await pathsDuring(engine, () => authorize(engine, subscribed.id, ask));
    expect(afterCancel).toEqual({ value: await authorizeInSnapshot(engine, subscribed.id, ask), snapshots: 1, quick: 1 });
    expect(afterCancel.value.ok && afterCancel.value.value.costMicro).toBe(8_000_000n);
    expect(await pathsDuring(engine, () => authorize(engine, subscribed.id, ask))).toEqual({ ...afterCancel, snapshots: 0 });
    expect(await pathsDuring(engine, () => authorize(engine, plain.id, ask))).toEqual({ value: priced(8_000_000n, 50_000_000n), snapshots: 0, quick: 1 });
  });

  it('checks a plan\'s overage limit in the same statement once a customer has needed it', async () => {
    const { engine } = ctx;
    const type = unique('call');
    const meter = must(await createMeter(engine, { code: unique('units'), event_type: type, aggregation: 'sum', value_property: 'n', rate: { model: 'per_unit', credits_per_unit: '1' } }));
    const capped = must(await createPlan(engine, {
      code: unique('plan'), name: 'Capped', currency: 'USD', interval: 'month', amount: 0, included_credits: '0',
      overage: { unit_amount_per_credit: '1', limit_credits: '10' }, rates: { [meter.code]: { model: 'per_unit', credits_per_unit: '1' } },
    }));
    const customer = must(await createCustomer(engine, { currency: 'USD', overage: true }));
    const subscription = must(await createSubscription(engine, { customer: customer.id, plan: capped.id, start_at: new Date(Date.now() - dayMs).toISOString() }));
    must(await authorize(engine, customer.id, { event: { type, properties: { n: 1 } } })); // the type's meters and the timeline
    // 6 credits of overage this period, of the 10 the plan allows.
    await ingestEvents(engine, [{ id: unique('evt'), customer: customer.id, type, properties: { n: 6 } }]);
    const ask = (n: number): AuthorizeInput => ({ event: { type, properties: { n } } });
    const answer = (costMicro: bigint, reason: string) => ({ ok: true, value: { allowed: reason === 'overage_allowed', availableMicro: 0n, costMicro, reason } });

    // The first answer that needs the limit hands over; from then on the statement reads the period's overage.
    expect(await pathsDuring(engine, () => authorize(engine, customer.id, ask(3)))).toEqual({ value: answer(3_000_000n, 'overage_allowed'), snapshots: 1, quick: 1 });
    expect(await pathsDuring(engine, () => authorize(engine, customer.id, ask(4)))).toEqual({ value: answer(4_000_000n, 'overage_allowed'), snapshots: 0, quick: 1 });
    expect(await pathsDuring(engine, () => authorize(engine, customer.id, ask(5)))).toEqual({ value: answer(5_000_000n, 'overage_limit_reached'), snapshots: 0, quick: 1 });
    expect(await authorizeInSnapshot(engine, customer.id, ask(5))).toEqual(answer(5_000_000n, 'overage_limit_reached'));
    // 4 more credits of overage: exactly at the limit, where nothing more fits.
    await ingestEvents(engine, [{ id: unique('evt'), customer: customer.id, type, properties: { n: 4 } }]);
    expect(await pathsDuring(engine, () => authorize(engine, customer.id, ask(1)))).toEqual({ value: answer(1_000_000n, 'overage_limit_reached'), snapshots: 0, quick: 1 });
    expect(await pathsDuring(engine, () => authorize(engine, customer.id, { credits: '0' }))).toEqual({
      value: { ok: true, value: { allowed: true, availableMicro: 0n, costMicro: 0n, reason: 'within_balance' } }, snapshots: 0, quick: 1,
    });
    // The period's start moves past that usage (as a renewal moves it; written here directly, at a
    // millisecond after the usage). The overage read since the start guessed no longer counts: the
    // general path answers, from nothing used, and the statement then reads from the new start.
    const usedUpTo = Date.now();
    while (Date.now() <= usedUpTo); // the clock past the usage's last millisecond
    await engine.store.read.c.run(`UPDATE subscriptions SET period_start = ? WHERE id = ?`, [usedUpTo + 1, subscription.id]);
    expect(await pathsDuring(engine, () => authorize(engine, customer.id, ask(1)))).toEqual({ value: answer(1_000_000n, 'overage_allowed'), snapshots: 1, quick: 1 });
    expect(await pathsDuring(engine, () => authorize(engine, customer.id, ask(10)))).toEqual({ value: answer(10_000_000n, 'overage_allowed'), snapshots: 0, quick: 1 });
    expect(await pathsDuring(engine, () => authorize(engine, customer.id, ask(11)))).toEqual({ value: answer(11_000_000n, 'overage_limit_reached'), snapshots: 0, quick: 1 });
  });

  it('sends a customer on a test clock straight to the general path once it has seen one', async () => {
    const { engine } = ctx;
    const type = unique('call');
    must(await createMeter(engine, { code: unique('units'), event_type: type, aggregation: 'sum', value_property: 'n', rate: { model: 'per_unit', credits_per_unit: '2' } }));
    const clock = must(await createTestClock(engine, { frozen_time: new Date(Date.now() - dayMs).toISOString() }));
    const customer = must(await createCustomer(engine, { currency: 'USD', test_clock: clock.id }));
    const ask: AuthorizeInput = { event: { type, properties: { n: 4 } } };
    const expected = { ok: true, value: { allowed: false, availableMicro: 0n, costMicro: 8_000_000n, reason: 'insufficient_credits' } };
    // The type's meters are not in memory yet: no statement of the quick path is worth running.
    expect(await pathsDuring(engine, () => authorize(engine, customer.id, ask))).toEqual({ value: expected, snapshots: 1, quick: 0 });
    // A customer met for the first time gets the quick statement, which finds the clock; from then on the general path alone.
    const other = must(await createCustomer(engine, { currency: 'USD', test_clock: clock.id }));
    expect(await pathsDuring(engine, () => authorize(engine, other.id, ask))).toEqual({ value: expected, snapshots: 1, quick: 1 });
    expect(await pathsDuring(engine, () => authorize(engine, other.id, ask))).toEqual({ value: expected, snapshots: 1, quick: 0 });
    expect(await pathsDuring(engine, () => authorize(engine, customer.id, ask))).toEqual({ value: expected, snapshots: 1, quick: 0 });
  });

  it('answers as the general path does for any customer, grants, history and request, and prices as ingestion charges', async () => {
    const { engine } = ctx;
    const type = unique('job');
    const other = unique('seat');
    const meters = {
      tokens: must(await createMeter(engine, {
        code: unique('tokens'), event_type: type, aggregation: 'sum', value_property: 'n',
        rate: { model: 'graduated', tiers: [{ up_to: 10, credits_per_unit: '3' }, { up_to: 25, credits_per_unit: '1.5' }, { up_to: null, credits_per_unit: '0.125' }] },
      })),
      calls: must(await createMeter(engine, { code: unique('calls'), event_type: type, aggregation: 'count', rate: { model: 'per_unit', credits_per_unit: '0.5' } })),
      peak: must(await createMeter(engine, {
        code: unique('peak'), event_type: type, aggregation: 'max', value_property: 'n', filter: { region: 'eu' }, rate: { model: 'per_unit', credits_per_unit: '2' },
      })),
      users: must(await createMeter(engine, { code: unique('users'), event_type: other, aggregation: 'unique_count', value_property: 'user', rate: { model: 'per_unit', credits_per_unit: '4' } })),
    };
    const plan = must(await createPlan(engine, {
      code: unique('plan'), name: 'Plan', currency: 'USD', interval: 'month', amount: 0, included_credits: '0',
      overage: { unit_amount_per_credit: '1', limit_credits: '40' },
      rates: { [meters.tokens.code]: { model: 'per_unit', credits_per_unit: '1' } },
    }));
    // The same terms without an overage limit, billed yearly (a period that is not the month's).
    const unlimited = must(await createPlan(engine, {
      code: unique('plan'), name: 'Plan', currency: 'USD', interval: 'year', amount: 0, included_credits: '0',
      overage: { unit_amount_per_credit: '1' },
      rates: { [meters.tokens.code]: { model: 'per_unit', credits_per_unit: '1' }, [meters.calls.code]: { model: 'per_unit', credits_per_unit: '0.75' } },
    }));
    const clock = must(await createTestClock(engine, { frozen_time: new Date(Date.now() - 3 * dayMs).toISOString() }));
    const now = Date.now();
    const at = (offsetMs: number): string => new Date(now + offsetMs).toISOString();

    const grant = fc.record({ credits: fc.integer({ min: 1, max: 80 }), start: fc.constantFrom('now', 'future'), priority: fc.integer({ min: 1, max: 3 }) });
    const properties = fc.record({ n: fc.oneof({ arbitrary: fc.integer({ min: 0, max: 30 }), weight: 4 }, { arbitrary: fc.constant('many'), weight: 1 }), region: fc.constantFrom('eu', 'us'), user: fc.constantFrom('ann', 'bob', 'cyd') });
    const used = fc.record({ type: fc.constantFrom(type, other), properties, when: fc.constantFrom('now', 'earlier', 'last month') });
    const ask = fc.oneof(
      fc.record({ credits: fc.constantFrom('0', '1', '12.5', '40', '95.000001', '250', '-1', 'lots') }),
      fc.record({
        event: fc.record({ type: fc.constantFrom(type, type, other, 'unmetered', ''), properties, when: fc.constantFrom('none', 'none', 'earlier', 'last month') }),
      }),
    );
    const scenario = fc.record({
      overage: fc.boolean(),
      setting: fc.constantFrom('plain', 'plain', 'subscribed', 'subscribed, no limit', 'on a clock'),
      grants: fc.array(grant, { maxLength: 3 }),
      history: fc.array(used, { maxLength: 6 }),
      asks: fc.array(fc.record({ ask, by: fc.constantFrom('id', 'id', 'external', 'unknown') }), { minLength: 1, maxLength: 6 }),
    });
    const timestamp = (when: string): string | undefined =>
      when === 'earlier' ? at(-3_600_000) : when === 'last month' ? new Date(Date.UTC(new Date(now).getUTCFullYear(), new Date(now).getUTCMonth(), 0, 12)).toISOString() : undefined;

    let quick = 0;
    let quickSubscribed = 0;
    let asked = 0;
    let charges = 0;
    await fc.assert(
      fc.asyncProperty(scenario, async (s) => {
        const customer = must(await createCustomer(engine, {
          currency: 'USD', external_id: unique('ext'), overage: s.overage, ...(s.setting === 'on a clock' ? { test_clock: clock.id } : {}),
        }));
        if (s.setting !== 'plain' && s.setting !== 'on a clock') {
          must(await createSubscription(engine, { customer: customer.id, plan: (s.setting === 'subscribed' ? plan : unlimited).id, start_at: at(-2 * dayMs) }));
        }
        for (const g of s.grants) {
          must(await createGrant(engine, {
            customer: customer.id, credits: String(g.credits), category: 'paid', source: 'purchase', priority: g.priority,
            ...(g.start === 'future' ? { effective_at: at(10 * dayMs) } : {}),
          }));
        }
        await ingestEvents(engine, s.history.map((u) => ({
          id: unique('evt'), customer: customer.id, type: u.type, properties: u.properties, ...(timestamp(u.when) ? { timestamp: timestamp(u.when) } : {}),
        })));
        // Each request twice: the first may teach the quick path the customer's timeline.
        for (const { ask: a, by } of s.asks.flatMap((x) => [x, x])) {
          const ref = by === 'id' ? customer.id : by === 'external' ? customer.externalId! : unique('nobody');
          const input: AuthorizeInput = 'credits' in a ? { credits: a.credits } : {
            event: { type: a.event.type, properties: a.event.properties, ...(timestamp(a.event.when) ? { timestamp: timestamp(a.event.when) } : {}) },
          };
          const answered = await snapshotsDuring(engine, () => authorize(engine, ref, input));
          const general = await authorizeInSnapshot(engine, ref, input);
          expect(answered.value).toEqual(general);
          asked += 1;
          if (answered.snapshots === 0 && answered.value.ok) {
            quick += 1;
            if (s.setting.startsWith('subscribed')) quickSubscribed += 1;
          }
          // And the price is what ingesting the event now charges.
          if (answered.value.ok && 'event' in input) {
            const [charged] = await ingestEvents(engine, [{ id: unique('evt'), customer: customer.id, ...(input.event as object) }]);
            if (charged?.status === 'accepted') {
              expect(charged.credits).toBe(formatCredits(answered.value.value.costMicro));
              charges += 1;
            }
          }
        }
      }),
      { numRuns: 30 },
    );
    // The comparison means something only if the quick path answered some of it (about a quarter
    // of the requests, in runs of this generator; the first test checks the path itself).
    expect(asked).toBeGreaterThan(0);
    expect(quick).toBeGreaterThan(0);
    expect(quickSubscribed).toBeGreaterThan(0);
    expect(charges).toBeGreaterThan(0);
  });
});
