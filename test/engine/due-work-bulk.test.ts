import { describe, expect, it } from 'vitest';
import { dialects } from '../support/databases.ts';
import { must, useEngine } from '../support/engine.ts';
import { advanceTestClock, createTestClock, startTestClockAdvance } from '../../src/engine/test-clocks.ts';
import { createCustomer } from '../../src/engine/customers.ts';
import { createPlan } from '../../src/engine/plans.ts';
import { createSubscription } from '../../src/engine/subscriptions.ts';
import { createGrant } from '../../src/engine/grants.ts';
import { reconcile } from '../../src/engine/reconcile.ts';
import { runDue, type DueItem, type DueWorkKind } from '../../src/engine/due-work.ts';
import { Changes, type Engine } from '../../src/engine/context.ts';

let seq = 0;
const code = (name: string) => `${name}_${process.pid}_${++seq}`;

/** Counts the store transactions opened while `fn` runs. */
async function countTransactions<T>(engine: Engine, fn: () => Promise<T>): Promise<{ value: T; transactions: number }> {
  const store = engine.store as unknown as { transaction: Engine['store']['transaction'] };
  const original = store.transaction;
  let transactions = 0;
  store.transaction = ((work: Parameters<Engine['store']['transaction']>[0]) => {
    transactions++;
    return original.call(engine.store, work);
  }) as Engine['store']['transaction'];
  try {
    return { value: await fn(), transactions };
  } finally {
    store.transaction = original;
  }
}

/**
 * Due work in bulk (PRODUCT §9, §13): many subjects per store transaction, each still claimed once
 * per (subject, period), in time order, found by index.
 */
describe.each(dialects)('due work in bulk on %s', (dialect) => {
  const ctx = useEngine(dialect);

  it('renews 150 subscriptions on one clock in a few transactions, each period claimed once, the books reconciled', async () => {
    const { engine } = ctx;
    const clock = must(await createTestClock(engine, { frozen_time: '2026-01-01T00:00:00Z' }));
    const plan = must(await createPlan(engine, { code: code('bulk'), name: 'Bulk', currency: 'USD', interval: 'month', amount: 1500, included_credits: '100', rollover: { max_credits: '10' } }));
    const customers: string[] = [];
    for (let i = 0; i < 150; i++) {
      // Terms of 45 days keep dunning out of the month: only renewals and expiries fall due.
      const customer = must(await createCustomer(engine, { currency: 'USD', test_clock: clock.id, net_days: 45 }));
      customers.push(customer.id);
      must(await createSubscription(engine, { customer: customer.id, plan: plan.code }));
    }
    const { value: advanced, transactions } = await countTransactions(engine, async () =>
      must(await advanceTestClock(engine, clock.id, { frozen_time: '2026-02-01T00:00:00Z' })));
    // 150 renewals and 150 allowance expiries, 100 items a transaction, plus marking the clock.
    expect(advanced.ran).toBe(300);
    expect(transactions).toBeLessThan(20);
    expect(advanced).toMatchObject({ frozenTimeMs: Date.parse('2026-02-01T00:00:00Z'), advancingToMs: null });

    for (const customerId of [customers[0]!, customers[77]!, customers[149]!]) {
      const subs = await engine.store.read.billing.subscriptionsOf([customerId]);
      expect(subs.map((s) => s.periodIndex)).toEqual([1]);
      const periods = await engine.store.read.billing.periods(subs[0]!.id);
      expect(periods.map((p) => p.periodIndex)).toEqual([0, 1]);
      const invoices = (await engine.store.read.billing.listInvoices({ customerId }, { limit: 10 })).data;
      expect(invoices.map((i) => i.totalMinor)).toEqual([1500n, 1500n]);
    }
    // Running it again does nothing: every step was claimed.
    expect(must(await advanceTestClock(engine, clock.id, { frozen_time: '2026-02-01T00:00:00Z' })).ran).toBe(0);
    const report = must(await reconcile(engine));
    expect(report.discrepancies).toEqual([]);
  });

  it('expiries in one transaction close each grant once and raise the signals of the credits left, as one at a time would', async () => {
    const { engine } = ctx;
    const clock = must(await createTestClock(engine, { frozen_time: '2026-05-01T00:00:00Z' }));
    const expiresAt = '2026-05-10T00:00:00Z';
    // Two grants of each customer expire at the same instant, in the same transaction; some keep a
    // grant that does not expire, one of those below its threshold once the others are gone.
    const emptied: string[] = [];
    const kept: string[] = [];
    for (let i = 0; i < 12; i++) {
      const customer = must(await createCustomer(engine, { currency: 'USD', test_clock: clock.id }));
      must(await createGrant(engine, { customer: customer.id, credits: '5', category: 'promotional', source: 'promotion', expires_at: expiresAt }));
      must(await createGrant(engine, { customer: customer.id, credits: '7', category: 'paid', source: 'adjustment', expires_at: expiresAt }));
      if (i % 2 === 0) {
        emptied.push(customer.id);
      } else {
        must(await createGrant(engine, { customer: customer.id, credits: '3', category: 'paid', source: 'adjustment' }));
        kept.push(customer.id);
      }
    }
    const low = must(await createCustomer(engine, { currency: 'USD', test_clock: clock.id, low_balance_threshold: '4' }));
    must(await createGrant(engine, { customer: low.id, credits: '10', category: 'paid', source: 'adjustment', expires_at: expiresAt }));
    must(await createGrant(engine, { customer: low.id, credits: '3', category: 'paid', source: 'adjustment' }));

    const advanced = must(await advanceTestClock(engine, clock.id, { frozen_time: '2026-05-11T00:00:00Z' }));
    expect(advanced.ran).toBe(25);
    const eventsOf = async (customerId: string, type: string) =>
      (await engine.store.read.ledger.listDomainEvents({ customerId, type }, { limit: 100 })).data;
    for (const customerId of emptied) {
      expect((await eventsOf(customerId, 'grant.expired')).map((e) => e.payload.credits).sort()).toEqual(['5', '7']);
      expect(await eventsOf(customerId, 'credits.depleted')).toHaveLength(1);
    }
    for (const customerId of kept) {
      expect(await eventsOf(customerId, 'grant.expired')).toHaveLength(2);
      expect(await eventsOf(customerId, 'credits.depleted')).toHaveLength(0);
    }
    expect((await eventsOf(low.id, 'credits.balance_low')).map((e) => e.payload.available)).toEqual(['3']);
    expect((await engine.store.read.customers.find(low.id))).toMatchObject({ belowThreshold: true, depleted: false });
    const report = must(await reconcile(engine));
    expect(report.discrepancies).toEqual([]);
  });

  it('an item that fails does not hold back the others of its transaction; the failure is reported after', async () => {
    const { engine } = ctx;
    const customer = must(await createCustomer(engine, { currency: 'USD' }));
    const ids = ['a', 'b', 'bad', 'c', 'd'].map((k) => `${code('probe')}_${k}`);
    const done = new Set<string>();
    const type = code('probe.ran');
    const probe: DueWorkKind = {
      kind: 'probe',
      async due(tx, _clock, _upTo, limit) {
        const ran = new Set((await tx.c.query(`SELECT payload FROM domain_events WHERE type = ?`, [type])).map((r) => JSON.parse(r.payload as string).id as string));
        return ids.filter((id) => !ran.has(id) && !id.endsWith('_bad')).slice(0, limit)
          .map((id, i): DueItem => ({ kind: 'probe', id, customerId: customer.id, dueAtMs: 1000 + i }))
          .concat(done.has('bad') ? [] : [{ kind: 'probe', id: ids[2]!, customerId: customer.id, dueAtMs: 1001 }]);
      },
      async run(eng, tx, item) {
        if (item.id.endsWith('_bad')) {
          done.add('bad');
          throw new Error('this item fails');
        }
        const changes = new Changes(eng);
        changes.event(type, customer.id, { id: item.id }, item.dueAtMs);
        await changes.flush(tx);
      },
    };
    await expect(runDue(engine, null, 10_000, { kinds: [probe] })).rejects.toThrow('this item fails');
    const ran = (await engine.store.read.c.query(`SELECT payload FROM domain_events WHERE type = ?`, [type])).map((r) => JSON.parse(r.payload as string).id as string);
    expect(ran.sort()).toEqual(ids.filter((id) => !id.endsWith('_bad')).sort());
  });

  it('an advance started as a job reads advancing, then ready once its work has run', async () => {
    const { engine } = ctx;
    const clock = must(await createTestClock(engine, { frozen_time: '2026-03-01T00:00:00Z' }));
    const customer = must(await createCustomer(engine, { currency: 'USD', test_clock: clock.id }));
    const grant = must(await createGrant(engine, { customer: customer.id, credits: '5', category: 'promotional', source: 'promotion', expires_at: '2026-03-02T00:00:00Z' }));
    const started = must(await startTestClockAdvance(engine, clock.id, { frozen_time: '2026-03-05T00:00:00Z' }, 0));
    expect(started.ran).toBeNull();
    expect(started.clock.advancingToMs).toBe(Date.parse('2026-03-05T00:00:00Z'));
    const deadline = Date.now() + 60_000;
    for (;;) {
      const now = (await engine.store.read.customers.getClock(clock.id))!;
      if (now.advancingToMs === null) {
        expect(now.frozenTimeMs).toBe(Date.parse('2026-03-05T00:00:00Z'));
        break;
      }
      if (Date.now() > deadline) throw new Error('the advance did not finish');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect((await engine.store.read.grants.get(grant.id))!.status).toBe('expired');
    // Within its wait bound an advance answers ready with what it ran.
    const waited = must(await startTestClockAdvance(engine, clock.id, { frozen_time: '2026-03-06T00:00:00Z' }, 60_000));
    expect(waited.ran).toBe(0);
    expect(waited.clock.advancingToMs).toBeNull();
  });
});
