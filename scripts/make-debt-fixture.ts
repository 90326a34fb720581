/**
 * Writes test/fixtures/schema-51-debts.db: a small SQLite database written by the release whose
 * schema ends at migration 51 (commit bc3b195), holding `debt` rows that were paid down to zero
 * and left in place, as that release did, beside debts still owed. For the upgrade test
 * (test/engine/upgrade-debt-rows.test.ts). Run it with the release's sources, which need the
 * project's node_modules beside them:
 *
 *   mkdir -p /tmp/tally-51 && git archive bc3b195 src | tar -x -C /tmp/tally-51
 *   ln -s "$PWD/node_modules" /tmp/tally-51/node_modules
 *   TALLY_RELEASE_SRC=/tmp/tally-51/src npx tsx scripts/make-debt-fixture.ts
 *
 * Everything goes through the release's own use cases. Debt comes from usage with overage off,
 * from a refund and from a chargeback of credits already spent; new grants pay some of it off
 * (fully, partly, and fully and then owed again), and customers without debt sit beside them.
 */
import { load, must, openRelease } from './release-fixture.ts';

const { createMeter } = await load<any>('engine/meters.ts');
const { createCustomer } = await load<any>('engine/customers.ts');
const { createGrant } = await load<any>('engine/grants.ts');
const { createTestClock } = await load<any>('engine/test-clocks.ts');
const { ingestEvents } = await load<any>('engine/ingest-events.ts');
const { purchaseCredits } = await load<any>('engine/purchases.ts');
const { recordPayment } = await load<any>('engine/invoices.ts');
const { createReturn } = await load<any>('engine/refunds.ts');

const release = await openRelease(51);
const { db, engine } = release;

must(await createMeter(engine, { code: 'units', event_type: 'work', aggregation: 'sum', value_property: 'n', rate: { model: 'per_unit', credits_per_unit: '1' } }));
const clock = must(await createTestClock(engine, { frozen_time: '2026-06-01T00:00:00Z' }));
let n = 0;
const customer = async (externalId: string) => must(await createCustomer(engine, { currency: 'USD', external_id: externalId, test_clock: clock.id })).id as string;
const use = async (id: string, units: number) => {
  const [result] = await ingestEvents(engine, [{ id: `debt-ev-${++n}`, customer: id, type: 'work', properties: { n: units } }]);
  if (result.status !== 'accepted') throw new Error(`event ${n} was ${result.status}`);
};
const grant = async (id: string, credits: string) => must(await createGrant(engine, { customer: id, credits, category: 'paid', source: 'adjustment' }));
/** A paid purchase of 1000 credits with `spent` of them used, then returned in full. */
const returned = async (id: string, kind: 'refund' | 'chargeback', spent: number) => {
  const { invoice } = must(await purchaseCredits(engine, id, { credits: '1000', amount: 10000 }));
  must(await recordPayment(engine, invoice.id, { amount: 10000 }));
  await use(id, spent);
  must(await createReturn(engine, kind, { invoice: invoice.id, amount: 10000, reason: 'requested_by_customer', credit_policy: 'full' }));
};

// Debts paid off to zero: the rows the upgrade deletes.
const usagePaid = await customer('debt-usage-paid');
await grant(usagePaid, '5');
await use(usagePaid, 8);
await grant(usagePaid, '10');
const refundPaid = await customer('debt-refund-paid');
await returned(refundPaid, 'refund', 400);
await grant(refundPaid, '500');
const chargebackPaid = await customer('debt-chargeback-paid');
await returned(chargebackPaid, 'chargeback', 300);
await grant(chargebackPaid, '300');

// Debts still owed: kept.
const usageOwed = await customer('debt-usage-owed');
await grant(usageOwed, '5');
await use(usageOwed, 8);
const partlyPaid = await customer('debt-partly-paid');
await use(partlyPaid, 7);
await grant(partlyPaid, '4');
const owedAgain = await customer('debt-owed-again');
await use(owedAgain, 6);
await grant(owedAgain, '6');
await use(owedAgain, 2);
const refundOwed = await customer('debt-refund-owed');
await returned(refundOwed, 'refund', 250);

// Customers that never owed.
for (let i = 0; i < 2; i++) {
  const id = await customer(`no-debt-${i}`);
  await grant(id, '50');
  await use(id, 10 + i);
}

const debtRows = await db.query(`SELECT customer_id, balance FROM accounts WHERE code = 'debt'`);
const zero = debtRows.filter((r: any) => BigInt(r.balance) === 0n).length;
if (zero !== 3 || debtRows.length !== 7) throw new Error(`expected 3 paid-off and 4 owed debt rows, found ${JSON.stringify(debtRows)}`);
await release.finish('test/fixtures/schema-51-debts.db');
