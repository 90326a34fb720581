import { describe, expect, it } from 'vitest';
import { dialects, freshDatabase } from '../support/databases.ts';
import { must, useEngine } from '../support/engine.ts';
import { createEngine } from '../../src/engine/create-engine.ts';
import type { Engine } from '../../src/engine/context.ts';
import { createCustomer } from '../../src/engine/customers.ts';
import { createGrant } from '../../src/engine/grants.ts';
import { createHold } from '../../src/engine/holds.ts';
import { createPlan } from '../../src/engine/plans.ts';
import { cancelSubscription, createSubscription } from '../../src/engine/subscriptions.ts';
import { advanceTestClock, createTestClock } from '../../src/engine/test-clocks.ts';
import { runDue } from '../../src/engine/due-work.ts';
import { allDueWork } from '../../src/engine/scheduled-work.ts';
import { autoTopUp } from '../../src/engine/purchases.ts';
import { setAutoTopUp } from '../../src/engine/customers.ts';
import { financeCustomer, invoicesOf } from '../support/finance.ts';
import { reconcile } from '../../src/engine/reconcile.ts';
import { capturing, type Captured } from '../support/capturing.ts';

let seq = 0;
const code = (name: string) => `${name}_${process.pid}_${++seq}`;
const day = 86_400_000;

/** A customer (on `clock`, or the real clock) with one of each thing that falls due. */
async function customerWithDueWork(engine: Engine, plan: string, clock: string | null) {
  const customer = must(await createCustomer(engine, { currency: 'USD', net_days: 3, ...(clock ? { test_clock: clock } : {}) }));
  const subscription = must(await createSubscription(engine, { customer: customer.id, plan }));
  const nowMs = (await engine.store.read.billing.subscriptionsOf([customer.id]))[0]!.periodStartMs;
  const grant = must(await createGrant(engine, {
    customer: customer.id, credits: '5', category: 'promotional', source: 'promotion', expires_at: new Date(nowMs + 10 * day).toISOString() }));
  const hold = must(await createHold(engine, { customer: customer.id, credits: '1', expires_in: 3600 }));
  return { id: customer.id, subscriptionId: subscription.id, grantId: grant.id, holdId: hold.id, startMs: nowMs };
}

/** What has run of a customer's due work: its period, its promotion's and hold's status, its first invoice past due. */
async function dueState(engine: Engine, c: Awaited<ReturnType<typeof customerWithDueWork>>) {
  const read = engine.store.read;
  const invoices = (await read.billing.listInvoices({ customerId: c.id }, { limit: 10 })).data;
  const first = invoices.find((i) => i.kind === 'subscription' && i.periodStartMs === c.startMs);
  return {
    periodIndex: (await read.billing.subscriptionsOf([c.id]))[0]!.periodIndex,
    grant: (await read.grants.get(c.grantId))!.status,
    hold: (await read.grants.getHold(c.holdId))!.status,
    firstInvoicePastDue: first?.pastDueAtMs !== null,
  };
}

const untouched = { periodIndex: 0, grant: 'active', hold: 'active', firstInvoicePastDue: false };
const ran = { periodIndex: 1, grant: 'expired', hold: 'expired', firstInvoicePastDue: true };

/**
 * Migration 64: every row that falls due carries its customer's clock, copied when it is written,
 * and due work is listed by it. A clock's advance runs its own customers' renewals, expiries,
 * holds and dunning and nothing of another clock's or the real clock's, though theirs fall due
 * before its target; the real clock's run leaves every test clock's alone.
 */
describe.each(dialects)('due work found by clock on %s', (dialect) => {
  const ctx = useEngine(dialect);

  it('an advance runs only its own clock\'s due work, the real clock only its own', async () => {
    const { engine } = ctx;
    const plan = must(await createPlan(engine, { code: code('clocks'), name: 'Clocks', currency: 'USD', interval: 'month', amount: 1500, included_credits: '100' }));
    const clockA = must(await createTestClock(engine, { frozen_time: '2026-01-01T00:00:00Z' }));
    const clockB = must(await createTestClock(engine, { frozen_time: '2026-01-01T00:00:00Z' }));
    const a = await customerWithDueWork(engine, plan.code, clockA.id);
    const b = await customerWithDueWork(engine, plan.code, clockB.id);
    const real = await customerWithDueWork(engine, plan.code, null);
    for (const [row, clock] of [[a, clockA.id], [b, clockB.id], [real, null]] as const) {
      for (const table of ['subscriptions', 'invoices', 'grants', 'holds']) {
        const clocks = await ctx.database.db.query<{ test_clock_id: string | null }>(`SELECT test_clock_id FROM ${table} WHERE customer_id = ?`, [row.id]);
        expect(clocks.length, `${table} of a customer`).toBeGreaterThan(0);
        expect(clocks.map((r) => r.test_clock_id), table).toEqual(clocks.map(() => clock));
      }
    }

    // Forty days on clock A: the renewal, the promotion's and the allowance's expiry, the hold's,
    // the first invoice past due; B's and the real clock's fall due as early and stay.
    must(await advanceTestClock(engine, clockA.id, { frozen_time: '2026-02-10T00:00:00Z' }));
    expect(await dueState(engine, a)).toEqual(ran);
    expect(await dueState(engine, b)).toEqual(untouched);
    expect(await dueState(engine, real)).toEqual(untouched);

    // The real clock's run, forty days past its customer's start: its own work, not B's.
    await runDue(engine, null, real.startMs + 40 * day, { kinds: allDueWork });
    expect(await dueState(engine, real)).toEqual(ran);
    expect(await dueState(engine, b)).toEqual(untouched);

    must(await advanceTestClock(engine, clockB.id, { frozen_time: '2026-02-10T00:00:00Z' }));
    expect(await dueState(engine, b)).toEqual(ran);
    expect(must(await reconcile(engine)).discrepancies).toEqual([]);
  });

  it('lists for auto top-up only the customers whose credits may have fallen below their threshold, each checked once', async () => {
    const { engine } = ctx;
    // Three customers on one clock, 100 credits each, topped up by 200 for $10 below 50.
    const first = await financeCustomer(engine, '2026-03-01T00:00:00Z');
    const clock = first.clock.id;
    const customers = [first.customer.id];
    for (let i = 0; i < 2; i++) customers.push(must(await createCustomer(engine, { currency: 'USD', test_clock: clock, net_days: 45 })).id);
    for (const id of customers) {
      must(await createGrant(engine, { customer: id, credits: '100', category: 'paid', source: 'adjustment' }));
      must(await setAutoTopUp(engine, id, { threshold: '50', credits: '200', amount: 1000 }));
    }
    const listed = async () => (await autoTopUp.due(engine.store.read, clock, Date.parse('2026-04-01T00:00:00Z'), 500)).map((i) => i.customerId).sort();
    const marked = async () => (await Promise.all(customers.map((id) => engine.store.read.customers.find(id)))).map((c) => c!.topUpCheckAtMs !== null);

    // Set up, each is to be checked once; the run finds all three at 100, buys nothing and clears them.
    expect(await listed()).toEqual([...customers].sort());
    await first.advance('2026-03-01T00:01:00Z');
    expect(await listed()).toEqual([]);
    expect(await marked()).toEqual([false, false, false]);
    for (const id of customers) expect(await invoicesOf(engine, id)).toEqual([]);

    // Usage takes the first to 40: ingestion's signals mark it, and only it; the run buys once and
    // disarms. A hold that leaves the second at 70, above the threshold, marks nothing.
    await first.use(60);
    must(await createHold(engine, { customer: customers[1]!, credits: '30', expires_in: 60 }));
    expect(await listed()).toEqual([customers[0]]);
    await first.advance('2026-03-01T00:02:00Z');
    expect((await invoicesOf(engine, customers[0]!)).map((i) => [i.kind, i.status, i.totalMinor])).toEqual([['purchase', 'open', 1000n]]);
    expect(await engine.store.read.customers.find(customers[0]!)).toMatchObject({ topUpArmed: false, topUpCheckAtMs: null });
    expect(await listed()).toEqual([]);

    // Disarmed while its purchase is open, a further drop marks nothing; the third, held below the
    // threshold, is marked and bought for.
    await first.use(10);
    must(await createHold(engine, { customer: customers[2]!, credits: '60', expires_in: 3600 }));
    expect(await listed()).toEqual([customers[2]]);
    await first.advance('2026-03-01T00:03:00Z');
    expect((await invoicesOf(engine, customers[2]!)).map((i) => i.kind)).toEqual(['purchase']);
    expect(await invoicesOf(engine, customers[0]!)).toHaveLength(1);
    expect(await invoicesOf(engine, customers[1]!)).toEqual([]);
    expect(must(await reconcile(engine)).discrepancies).toEqual([]);
  });

  it('checks an auto top-up when an unpaid invoice\'s credits stop paying, and buys then', async () => {
    const { engine } = ctx;
    const plan = must(await createPlan(engine, { code: code('frozen'), name: 'Frozen', currency: 'USD', interval: 'month', amount: 1500, included_credits: '100' }));
    const clock = must(await createTestClock(engine, { frozen_time: '2026-05-01T00:00:00Z' }));
    const customer = must(await createCustomer(engine, { currency: 'USD', test_clock: clock.id, net_days: 3 }));
    must(await createSubscription(engine, { customer: customer.id, plan: plan.code }));
    must(await setAutoTopUp(engine, customer.id, { threshold: '50', credits: '200', amount: 1000 }));
    const purchases = async () => (await invoicesOf(engine, customer.id)).filter((i) => i.kind === 'purchase');

    // The allowance (100), granted before its invoice is paid, stops paying 7 days after the
    // invoice's due date (May 4) unless it is paid by then. The set-up's check finds 100, above the
    // threshold, buys nothing, and leaves the next check at that time; the invoice falling past
    // due keeps it there, and nothing is bought before it.
    must(await advanceTestClock(engine, clock.id, { frozen_time: '2026-05-02T00:00:00Z' }));
    const frozenFrom = Date.parse('2026-05-04T00:00:00Z') + 7 * day;
    expect(await engine.store.read.customers.find(customer.id)).toMatchObject({ topUpArmed: true, topUpCheckAtMs: frozenFrom });
    must(await advanceTestClock(engine, clock.id, { frozen_time: '2026-05-06T00:00:00Z' }));
    expect((await engine.store.read.customers.find(customer.id))!.topUpCheckAtMs).toBe(frozenFrom);
    expect(await purchases()).toEqual([]);
    must(await advanceTestClock(engine, clock.id, { frozen_time: '2026-05-12T00:00:00Z' }));
    const bought = await purchases();
    expect(bought.map((i) => [i.totalMinor, i.createdAtMs])).toEqual([[1000n, frozenFrom]]);
    expect(await engine.store.read.customers.find(customer.id)).toMatchObject({ topUpArmed: false, topUpCheckAtMs: null });
    expect(must(await reconcile(engine)).discrepancies).toEqual([]);
  });

  it('signals a low balance after a cancellation revokes the allowance\'s unused share, and checks the auto top-up at once', async () => {
    const { engine } = ctx;
    const plan = must(await createPlan(engine, { code: code('cancel'), name: 'Cancel', currency: 'USD', interval: 'month', amount: 3000, included_credits: '100' }));
    const clock = must(await createTestClock(engine, { frozen_time: '2026-06-01T00:00:00Z' }));
    const customer = must(await createCustomer(engine, { currency: 'USD', test_clock: clock.id, net_days: 45, low_balance_threshold: '60' }));
    const subscription = must(await createSubscription(engine, { customer: customer.id, plan: plan.code }));
    must(await setAutoTopUp(engine, customer.id, { threshold: '50', credits: '200', amount: 1000 }));
    const events = async (type: string) => (await engine.store.read.ledger.listDomainEvents({ customerId: customer.id, type }, { limit: 10 })).data;
    // 100 credits, above both thresholds: the set-up's check buys nothing.
    must(await advanceTestClock(engine, clock.id, { frozen_time: '2026-06-16T00:00:00Z' }));
    expect(await events('credits.balance_low')).toEqual([]);
    expect((await invoicesOf(engine, customer.id)).filter((i) => i.kind === 'purchase')).toEqual([]);
    // Canceled on June 16, 15 of June's 30 days unused: half the allowance (50) is revoked, 50 left.
    must(await cancelSubscription(engine, subscription.id, { timing: 'immediate' }));
    const [low] = await events('credits.balance_low');
    expect(low?.payload).toEqual({ customer: customer.id, available: '50', threshold: '60' });
    // 50 is not below the top-up's 50: no check at once. The one to come stays when the allowance,
    // its invoice unpaid, would stop paying (7 days after its due date, July 16).
    expect((await engine.store.read.customers.find(customer.id))!.topUpCheckAtMs).toBe(Date.parse('2026-07-16T00:00:00Z') + 7 * day);
    // Another credit taken is below: checked at once, and bought.
    must(await createHold(engine, { customer: customer.id, credits: '1', expires_in: 3600 }));
    expect((await engine.store.read.customers.find(customer.id))!.topUpCheckAtMs).toBe(Date.parse('2026-06-16T00:00:00Z'));
    must(await advanceTestClock(engine, clock.id, { frozen_time: '2026-06-16T00:01:00Z' }));
    expect((await invoicesOf(engine, customer.id)).filter((i) => i.kind === 'purchase').map((i) => i.totalMinor)).toEqual([1000n]);
    expect(must(await reconcile(engine)).discrepancies).toEqual([]);
  });

  it('upgraded to migration 65, checks every armed customer once and buys for those below', async () => {
    const database = await freshDatabase(dialect);
    try {
      let engine = await createEngine(database.db);
      const low = await financeCustomer(engine, '2026-03-01T00:00:00Z');
      const high = must(await createCustomer(engine, { currency: 'USD', test_clock: low.clock.id, net_days: 45 }));
      for (const id of [low.customer.id, high.id]) {
        must(await createGrant(engine, { customer: id, credits: '100', category: 'paid', source: 'adjustment' }));
        must(await setAutoTopUp(engine, id, { threshold: '50', credits: '200', amount: 1000 }));
      }
      await low.advance('2026-03-01T00:01:00Z');
      await low.use(70);
      // The schema as the release before migration 65 left it: armed, 30 credits left, no mark.
      for (const sql of [`DROP INDEX customers_topup_check`, `ALTER TABLE customers DROP COLUMN topup_check_at`,
        `CREATE INDEX customers_topup_armed ON customers (test_clock_id) WHERE topup_armed = 1`, `DELETE FROM schema_migrations WHERE version = 65`]) {
        await database.db.run(sql);
      }
      engine = await createEngine(database.db);
      const marks = await database.db.query<{ id: string; topup_check_at: bigint | null }>(`SELECT id, topup_check_at FROM customers`);
      expect(Object.fromEntries(marks.map((r) => [r.id, r.topup_check_at === null ? null : Number(r.topup_check_at)]))).toEqual({ [low.customer.id]: 0, [high.id]: 0 });
      must(await advanceTestClock(engine, low.clock.id, { frozen_time: '2026-03-01T00:02:00Z' }));
      expect((await invoicesOf(engine, low.customer.id)).map((i) => i.kind)).toEqual(['purchase']);
      expect(await invoicesOf(engine, high.id)).toEqual([]);
      expect((await autoTopUp.due(engine.store.read, low.clock.id, Date.parse('2026-04-01T00:00:00Z'), 500))).toEqual([]);
      expect(must(await reconcile(engine)).discrepancies).toEqual([]);
    } finally {
      await database.drop();
    }
  });
});

type PlanRow = { id: bigint; parent: bigint; detail: string };

/**
 * PRODUCT §13, due work in linear time: each pass of due work lists what is due by index in time
 * order and reads only what it returns. Asked of SQLite for every listing of every kind, on a
 * test clock and on the real clock: the clock-led listings are one range of their own partial
 * index, with no sort and no other table (before migration 64 the closings began at every
 * customer of the clock, and the renewals read and sorted every due subscription at each pass;
 * before migration 65 the top-ups read every armed customer, and before migration 66 debt
 * settlements read every customer in debt, of every clock, and each one's grants).
 */
describe('due work listing plans on SQLite', () => {
  it('lists each kind by its clock\'s own index, in order, reading no table whole', async () => {
    const database = await freshDatabase('sqlite');
    try {
      const captured: Captured[] = [];
      const engine = await createEngine(capturing(database.db, captured));
      const clock = must(await createTestClock(engine, { frozen_time: '2026-01-01T00:00:00Z' }));
      const plan = must(await createPlan(engine, { code: code('plans'), name: 'Plans', currency: 'USD', interval: 'month', amount: 1500, included_credits: '100' }));
      await customerWithDueWork(engine, plan.code, clock.id);
      await customerWithDueWork(engine, plan.code, null);
      expect(allDueWork.map((k) => k.kind)).toEqual(
        ['hold_expiry', 'subscription_renewal', 'subscription_closing', 'grant_expiry', 'debt_settlement', 'auto_top_up', 'invoice_past_due', 'dunning_retry']);
      const faults: string[] = [];
      for (const testClockId of [clock.id, null]) {
        for (const kind of allDueWork) {
          captured.length = 0;
          await kind.due(engine.store.read, testClockId, Date.parse('2026-03-01T00:00:00Z'), 500);
          expect(captured.length, kind.kind).toBeGreaterThan(0);
          for (const { sql, params } of captured) {
            const plan = await database.db.query<PlanRow>(`EXPLAIN QUERY PLAN ${sql}`, params);
            const steps = plan.map((r) => r.detail);
            const at = `${kind.kind} (${testClockId === null ? 'real clock' : 'test clock'}): ${steps.join('; ')}`;
            if (steps.length !== 1 || !/^SEARCH \w+ USING (COVERING )?INDEX \w+ \(test_clock_id=\?( AND |\))/.test(steps[0]!)) faults.push(`not one range of a clock-led index: ${at}`);
          }
        }
      }
      expect(faults).toEqual([]);
    } finally {
      await database.drop();
    }
  });
});
