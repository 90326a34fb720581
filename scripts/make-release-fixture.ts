/**
 * Writes test/fixtures/release-0.1.0.db: a small SQLite database written by the release whose
 * schema ends at migration 5 (commit a5b3d75), for the upgrade test
 * (test/engine/upgrade-release.test.ts). Run it with the release's sources:
 *
 *   git archive a5b3d75 src | tar -x -C /tmp/tally-release
 *   TALLY_RELEASE_SRC=/tmp/tally-release/src npx tsx scripts/make-release-fixture.ts
 *
 * The same for a later release, with its last migration and the file to write:
 *
 *   git archive 7cad1d2 src | tar -x -C /tmp/tally-57
 *   TALLY_RELEASE_SRC=/tmp/tally-57/src TALLY_RELEASE_LAST=57 TALLY_RELEASE_FIXTURE=test/fixtures/release-57.db \
 *     npx tsx scripts/make-release-fixture.ts
 *
 * (test/engine/upgrade-release-57.test.ts; the release of migration 61, commit 7858fd0, writes
 * test/fixtures/release-61.db for test/engine/upgrade-release-61.test.ts, and that of migration
 * 62, commit faa0c04, test/fixtures/release-62.db for test/engine/upgrade-release-62.test.ts). A release that checks overage against its invoices
 * names an event stamped into a period already invoiced, so for those the late event falls in the
 * open period instead.
 *
 * Everything goes through the release's own use cases: meters, customers on a test clock and on
 * the real clock, grants, a plan with overage and rollover, subscriptions renewed by the clock,
 * usage (accepted, duplicate, overage, debt), holds captured and expired, a credit purchase paid
 * and refunded, a chargeback, and the domain events all of that recorded.
 */
import { load, must, openRelease } from './release-fixture.ts';

const { createMeter } = await load<any>('engine/meters.ts');
const { createCustomer } = await load<any>('engine/customers.ts');
const { createGrant } = await load<any>('engine/grants.ts');
const { createPlan } = await load<any>('engine/plans.ts');
const { createSubscription } = await load<any>('engine/subscriptions.ts');
const { createTestClock, advanceTestClock } = await load<any>('engine/test-clocks.ts');
const { ingestEvents } = await load<any>('engine/ingest-events.ts');
const { createHold, captureHold } = await load<any>('engine/holds.ts');
const { purchaseCredits } = await load<any>('engine/purchases.ts');
const { recordPayment } = await load<any>('engine/invoices.ts');
const { createReturn } = await load<any>('engine/refunds.ts');

const lastVersion = Number(process.env.TALLY_RELEASE_LAST ?? 5);
const fixture = process.env.TALLY_RELEASE_FIXTURE ?? 'test/fixtures/release-0.1.0.db';
const release = await openRelease(lastVersion);
const { engine } = release;

must(await createMeter(engine, { code: 'tokens', event_type: 'llm', aggregation: 'sum', value_property: 'tokens', rate: { model: 'per_unit', credits_per_unit: '0.01' } }));
must(await createMeter(engine, { code: 'requests', event_type: 'llm', aggregation: 'count', rate: { model: 'graduated', tiers: [{ up_to: 3, credits_per_unit: '1' }, { up_to: null, credits_per_unit: '0.5' }] } }));
const clock = must(await createTestClock(engine, { frozen_time: '2026-01-01T00:00:00Z' }));
must(await createPlan(engine, { code: 'starter', name: 'Starter', currency: 'USD', interval: 'month', amount: 1000, included_credits: '100', rollover: { max_credits: '20' }, overage: { unit_amount_per_credit: '0.5' } }));

const onClock: string[] = [];
for (let i = 0; i < 3; i++) {
  const customer = must(await createCustomer(engine, { currency: 'USD', external_id: `release-clock-${i}`, test_clock: clock.id, overage: i !== 2 }));
  onClock.push(customer.id);
  must(await createSubscription(engine, { customer: customer.id, plan: 'starter' }));
  must(await createGrant(engine, { customer: customer.id, credits: '5', category: 'promotional', source: 'promotion', priority: 10, expires_at: '2026-01-20T00:00:00Z' }));
}
let n = 0;
const use = async (customer: string, tokens: number, timestamp?: string) => {
  const results = await ingestEvents(engine, [{ id: `rel-ev-${++n}`, customer, type: 'llm', properties: { tokens }, ...(timestamp ? { timestamp } : {}) }]);
  return results[0];
};
const hold = must(await createHold(engine, { customer: onClock[0], credits: '10', expires_in: 3600 }));
must(await captureHold(engine, hold.id, { id: 'rel-capture-1', customer: onClock[0], type: 'llm', properties: { tokens: 300 } }));
must(await createHold(engine, { customer: onClock[1], credits: '3', expires_in: 60 }));
for (const customer of onClock) {
  for (let k = 0; k < 6; k++) await use(customer, 500 + 700 * k);
}
// A batch with a duplicate, a conflict and a rejected event alongside accepted ones.
await ingestEvents(engine, [
  { id: 'rel-ev-1', customer: onClock[0], type: 'llm', properties: { tokens: 500 } },
  { id: 'rel-ev-2', customer: onClock[0], type: 'llm', properties: { tokens: 1 } },
  { id: 'rel-batch-1', customer: onClock[1], type: 'llm', properties: { tokens: 9000 } },
  { id: 'rel-batch-2', customer: onClock[2], type: 'llm', properties: { tokens: 'x' } },
]);
must(await advanceTestClock(engine, clock.id, { frozen_time: '2026-01-25T00:00:00Z' }));
for (const customer of onClock) await use(customer, 20_000);
must(await advanceTestClock(engine, clock.id, { frozen_time: '2026-02-10T00:00:00Z' }));
await use(onClock[0], 1000, lastVersion <= 5 ? '2026-01-31T12:00:00Z' : '2026-02-05T12:00:00Z');

// Real-clock customers: a purchase paid then partly refunded, a chargeback, plain usage.
for (let i = 0; i < 2; i++) {
  const customer = must(await createCustomer(engine, { currency: 'USD', external_id: `release-real-${i}` }));
  const bought = must(await purchaseCredits(engine, customer.id, { credits: '1000', amount: 5000 }));
  must(await recordPayment(engine, bought.invoice.id, { amount: 5000 }));
  for (let k = 0; k < 4; k++) await use(customer.id, 10_000 + k);
  must(await createReturn(engine, i === 0 ? 'refund' : 'chargeback', { invoice: bought.invoice.id, amount: 1000, reason: 'requested_by_customer', credit_policy: 'proportional' }));
}

// From the release of migration 61: one customer with a long history, 150 events in batches of
// 25 stamped a minute apart, so that the upgrade to migration 62 keys many events of one customer.
if (lastVersion >= 61) {
  const customer = must(await createCustomer(engine, { currency: 'USD', external_id: 'release-long-history', overage: true }));
  const startMs = Date.now() - 3 * 3_600_000;
  for (let b = 0; b < 6; b++) {
    const batch = Array.from({ length: 25 }, (_, k) => ({
      id: `rel-long-${b * 25 + k}`, customer: customer.id, type: 'llm', properties: { tokens: 100 + b * 25 + k },
      timestamp: new Date(startMs + (b * 25 + k) * 60_000).toISOString(),
    }));
    for (const r of await ingestEvents(engine, batch)) if (r.status !== 'accepted') throw new Error(JSON.stringify(r));
  }
}

await release.finish(fixture);
