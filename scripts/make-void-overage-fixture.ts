/**
 * Writes test/fixtures/schema-58-void-overage.db: a small SQLite database written by the release
 * whose schema ends at migration 58 (commit 0b43b75), in which invoices that billed overage were
 * voided. That release left a void invoice's overage postings in place, so the overage of the
 * voided line was no longer owed (the customer's `overage` account at zero), and the next renewal,
 * counting only lines of invoices that are not void, billed it again and moved it out a second
 * time (the account below zero). For the upgrade test (test/engine/upgrade-void-overage.test.ts).
 * Run it with the release's sources, which need the project's node_modules beside them:
 *
 *   mkdir -p /tmp/tally-58 && git archive 0b43b75 src | tar -x -C /tmp/tally-58
 *   ln -s "$PWD/node_modules" /tmp/tally-58/node_modules
 *   TALLY_RELEASE_SRC=/tmp/tally-58/src npx tsx scripts/make-void-overage-fixture.ts
 *
 * Customers on two test clocks, each with a plan of 100 included credits and overage at 5 minor
 * units a credit, using 130 in their first period: `void-waiting` has its February renewal voided
 * (its 30 of overage not yet billed again), `void-billed-twice` the same and then its March renewal
 * (billed again), `void-none` keeps its February invoice. Everything goes through the release's
 * own use cases.
 */
import { load, must, openRelease } from './release-fixture.ts';

const { createMeter } = await load<any>('engine/meters.ts');
const { createCustomer } = await load<any>('engine/customers.ts');
const { createPlan } = await load<any>('engine/plans.ts');
const { createSubscription } = await load<any>('engine/subscriptions.ts');
const { createTestClock, advanceTestClock } = await load<any>('engine/test-clocks.ts');
const { ingestEvents } = await load<any>('engine/ingest-events.ts');
const { voidInvoice } = await load<any>('engine/invoices.ts');

const release = await openRelease(58);
const { db, engine } = release;

must(await createMeter(engine, { code: 'units', event_type: 'work', aggregation: 'sum', value_property: 'n', rate: { model: 'per_unit', credits_per_unit: '1' } }));
must(await createPlan(engine, { code: 'metered', name: 'Metered', currency: 'USD', interval: 'month', amount: 1000, included_credits: '100', overage: { unit_amount_per_credit: '5' } }));
const waiting = must(await createTestClock(engine, { frozen_time: '2026-01-01T00:00:00Z' }));
const billedTwice = must(await createTestClock(engine, { frozen_time: '2026-01-01T00:00:00Z' }));

const subscribed = async (externalId: string, clock: string) => {
  const customer = must(await createCustomer(engine, { currency: 'USD', external_id: externalId, test_clock: clock, overage: true, net_days: 365 }));
  must(await createSubscription(engine, { customer: customer.id, plan: 'metered' }));
  const [result] = await ingestEvents(engine, [{ id: `${externalId}-ev`, customer: customer.id, type: 'work', properties: { n: 130 } }]);
  if (result.status !== 'accepted') throw new Error(`${externalId}: ${JSON.stringify(result)}`);
  return customer.id as string;
};
const renewalOf = async (customer: string, periodStart: number) => {
  const rows = await db.query(`SELECT id FROM invoices WHERE customer_id = ? AND period_start = ? AND kind = 'subscription'`, [customer, periodStart]);
  return rows[0].id as string;
};

const first = await subscribed('void-waiting', waiting.id);
const second = await subscribed('void-billed-twice', billedTwice.id);
await subscribed('void-none', waiting.id);
must(await advanceTestClock(engine, waiting.id, { frozen_time: '2026-02-01T00:00:00Z' }));
must(await advanceTestClock(engine, billedTwice.id, { frozen_time: '2026-02-01T00:00:00Z' }));
const february = Date.parse('2026-02-01T00:00:00Z');
must(await voidInvoice(engine, await renewalOf(first, february)));
must(await voidInvoice(engine, await renewalOf(second, february)));
must(await advanceTestClock(engine, billedTwice.id, { frozen_time: '2026-03-01T00:00:00Z' }));

const overage = async (customer: string) => (await db.query(`SELECT balance FROM accounts WHERE customer_id = ? AND code = 'overage'`, [customer]))[0]?.balance;
console.log(`overage accounts: void-waiting ${await overage(first)}, void-billed-twice ${await overage(second)} (micro-credits; owed is negative)`);
// The release names the waiting customer's period (consumed 30, billed 0) and misses the other.
await release.finish('test/fixtures/schema-58-void-overage.db', (d) => d.length === 1 && d[0].ids.includes(first) && d[0].check === 'overage_invoiced');
